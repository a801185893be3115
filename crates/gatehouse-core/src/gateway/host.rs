//! The gateway owned by a long-running host: the desktop app serves the
//! local HTTP gateway for as long as it runs, beside its window and tray.
//!
//! [`GatewayHost`] starts the gateway on the config's port, remembers the
//! running handle or why it could not start (a port taken by another
//! Gatehouse gateway, such as `gatehouse serve`, is not fatal for the app:
//! it is reported with the fix), says what runs where ([`HostStatus`]), and
//! shuts the gateway down on exit. Following the config file, it moves the
//! gateway when `[gateway] port` changes, and tries again after a failure;
//! servers connected before such a new start connect again, so that what
//! they send their client (sampling, elicitation, progress) reaches the
//! gateway that now runs.
//!
//! Start and shutdown hold one async lock across their `.await`s, so two
//! of them never interleave (a restart cannot leave two gateways running).

use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;
use tokio::sync::Mutex;
use ts_rs::TS;

use super::http::{self, GatewayError, GatewayHandle, GatewayOptions, GatewayServer};
use crate::Engine;
use crate::error_code::ErrorCode;
use crate::events::Event;

/// The desktop app's gateway. Cheap to clone.
#[derive(Clone)]
pub struct GatewayHost {
    engine: Engine,
    state: Arc<Mutex<HostState>>,
}

enum HostState {
    /// Never started, or shut down.
    Stopped,
    Running(GatewayHandle),
    /// The last start failed.
    Failed {
        port: u16,
        error: GatewayError,
    },
}

/// Why the gateway does not run in this process, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GatewayProblem {
    pub code: ErrorCode,
    pub message: String,
    /// What the person can do.
    pub fix: String,
}

/// What the app shows about its gateway: the same facts as
/// `gatehouse gateway status`, and whether this process serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "GatewayHostStatus")]
pub struct HostStatus {
    /// The port the gateway is (or would be) on.
    pub port: u16,
    /// Whether something answers on the port: this process's gateway, or
    /// another one (`gatehouse serve`).
    pub listening: bool,
    /// Whether this process serves the gateway.
    pub served_here: bool,
    /// Each server's address on the gateway.
    pub servers: Vec<GatewayServer>,
    /// Why this process does not serve it, when it tried and failed.
    pub problem: Option<GatewayProblem>,
}

impl GatewayHost {
    /// A host for `engine`'s servers; nothing is served until [`start`](Self::start).
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            state: Arc::new(Mutex::new(HostState::Stopped)),
        }
    }

    /// Serves the gateway on the config's port (see [`start`](Self::start)).
    pub fn start_from_config(&self) -> BoxFuture<'_, Result<u16, GatewayProblem>> {
        Box::pin(async move {
            self.start(GatewayOptions::from_config(&self.engine, None))
                .await
        })
    }

    /// Serves the gateway with `options`, stopping the one this host runs
    /// first. Returns the port, or why it could not start (also kept for
    /// [`status`](Self::status)). Must run inside a Tokio runtime.
    pub fn start(&self, options: GatewayOptions) -> BoxFuture<'_, Result<u16, GatewayProblem>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            // After a first start (served or failed), servers may be connected
            // already without this gateway's routers.
            let again = match std::mem::replace(&mut *state, HostState::Stopped) {
                HostState::Running(handle) => {
                    handle.shutdown().await;
                    true
                }
                HostState::Failed { .. } => true,
                HostState::Stopped => false,
            };
            match http::serve(self.engine.clone(), options).await {
                Ok(handle) => {
                    let port = handle.port();
                    *state = HostState::Running(handle);
                    if again {
                        // A live session relays what its server sends (sampling,
                        // elicitation, progress…) to the gateway that ran when it
                        // connected, if any: connect them again to this one.
                        for server in self.engine.current_config().servers {
                            self.engine.restart(&server.id);
                        }
                    }
                    Ok(port)
                }
                Err(error) => {
                    tracing::warn!(%error, "the app does not serve the HTTP gateway");
                    let problem = problem(&error);
                    *state = HostState::Failed {
                        port: options.port,
                        error,
                    };
                    Err(problem)
                }
            }
        })
    }

    /// Restarts the gateway when the config names another port than the
    /// one it runs on, and tries again after a failed start, whenever the
    /// config changes (the Settings page, the CLI, an editor). Stops when
    /// the engine's event channel closes.
    pub fn follow_config(&self) {
        let host = self.clone();
        let mut events = self.engine.subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(Event::ServersChanged)
                    | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        host.follow_port().await;
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    async fn follow_port(&self) {
        let wanted = GatewayOptions::from_config(&self.engine, None);
        let restart = match &*self.state.lock().await {
            HostState::Stopped => false,
            HostState::Running(handle) => handle.port() != wanted.port,
            HostState::Failed { .. } => true,
        };
        if restart {
            tracing::info!(
                port = wanted.port,
                "the gateway's settings changed: starting it again"
            );
            let _ = self.start(wanted).await;
        }
    }

    /// Where the gateway is, whether this process serves it, and each
    /// server's URL on it.
    pub fn status(&self) -> BoxFuture<'_, HostStatus> {
        Box::pin(async move {
            let (port, served_here, problem) = match &*self.state.lock().await {
                HostState::Running(handle) => (handle.port(), true, None),
                HostState::Failed { port, error } => (*port, false, Some(problem(error))),
                HostState::Stopped => (
                    GatewayOptions::from_config(&self.engine, None).port,
                    false,
                    None,
                ),
            };
            let status = http::status(&self.engine, port).await;
            HostStatus {
                port,
                listening: served_here || status.listening,
                served_here,
                servers: status.servers,
                problem,
            }
        })
    }

    /// Stops the gateway, ending every client's session. Safe to call when
    /// it does not run.
    pub fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            if let HostState::Running(handle) = std::mem::replace(&mut *state, HostState::Stopped) {
                handle.shutdown().await;
            }
        })
    }
}

/// A start failure in the app's words: what happened and what to do (the
/// error's own message speaks to `gatehouse serve`'s command line).
fn problem(error: &GatewayError) -> GatewayProblem {
    const MOVE: &str = "set another port in the config file (port = … under [gateway]): \
                        Gatehouse starts the gateway again when the file changes.";
    let (message, fix) = match error {
        GatewayError::PortInUse { port } => (
            format!("port {port} on 127.0.0.1 is already in use by another program"),
            format!(
                "It is most likely another Gatehouse gateway (gatehouse serve): while it runs, your \
                 clients' gateway URLs work through it. To serve the gateway from this app instead, \
                 stop that program, or {MOVE}"
            ),
        ),
        other => (other.to_string(), format!("Try another port: {MOVE}")),
    };
    GatewayProblem {
        code: error.code(),
        message,
        fix,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::paths::Paths;
    use crate::vault::{MemoryKeyStore, Vault};

    fn engine(dir: &tempfile::TempDir, config: &str) -> Engine {
        let file = dir.path().join("config.toml");
        std::fs::write(&file, config).unwrap();
        let paths = Paths::new(&file, dir.path().join("data"));
        let vault = Vault::new(
            paths.vault_file(),
            Arc::new(MemoryKeyStore::default()),
            None,
        );
        Engine::with_vault(paths, vault).unwrap()
    }

    const ONE_SERVER: &str =
        "[[servers]]\nid = \"docs\"\nurl = \"https://docs.example/mcp\"\nenabled = false\n";

    async fn answers(port: u16) -> bool {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn starts_reports_and_shuts_down() {
        let dir = tempfile::tempdir().unwrap();
        let host = GatewayHost::new(engine(&dir, ONE_SERVER));
        let before = host.status().await;
        assert!(!before.served_here && before.problem.is_none());
        assert_eq!(before.port, http::DEFAULT_GATEWAY_PORT);

        let port = host.start(GatewayOptions { port: 0 }).await.unwrap();
        assert_ne!(port, 0);
        let status = host.status().await;
        assert_eq!(
            (status.port, status.listening, status.served_here),
            (port, true, true)
        );
        assert_eq!(status.problem, None);
        assert_eq!(status.servers.len(), 1);
        assert_eq!(
            status.servers[0].url,
            format!("http://127.0.0.1:{port}/servers/docs/mcp")
        );
        // A real gateway answers there: no token, 401.
        let response = reqwest::Client::new()
            .post(&status.servers[0].url)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);

        host.shutdown().await;
        assert!(!answers(port).await, "the port is free after shutdown");
        let after = host.status().await;
        assert!(!after.served_here && !after.listening);
        // Twice is harmless.
        host.shutdown().await;
    }

    #[tokio::test]
    async fn a_port_in_use_is_reported_with_the_fix_and_is_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = taken.local_addr().unwrap().port();
        let host = GatewayHost::new(engine(&dir, ONE_SERVER));

        let problem = host.start(GatewayOptions { port }).await.unwrap_err();
        assert_eq!(problem.code, ErrorCode::PortInUse);
        assert!(problem.message.contains(&port.to_string()), "{problem:?}");
        assert!(problem.fix.contains("gatehouse serve"), "{problem:?}");
        assert!(problem.fix.contains("[gateway]"), "{problem:?}");
        // The app has no `--port`: that advice is the CLI's.
        assert!(!problem.message.contains("--port"), "{problem:?}");

        let status = host.status().await;
        assert_eq!(status.port, port);
        // Something answers there, but not this process.
        assert!(status.listening && !status.served_here);
        assert_eq!(status.problem, Some(problem));
        assert_eq!(
            status.servers[0].url,
            format!("http://127.0.0.1:{port}/servers/docs/mcp")
        );

        // Once the port is free, starting again works.
        drop(taken);
        assert_eq!(host.start(GatewayOptions { port }).await, Ok(port));
        assert!(host.status().await.problem.is_none());
        host.shutdown().await;
    }

    /// Server connections made before this gateway ran (a failed start, or
    /// the gateway on the old port) connect again, so that what their
    /// servers send reaches this gateway's clients.
    #[tokio::test]
    async fn connected_servers_connect_again_when_the_gateway_starts_anew() {
        use gatehouse_fixture::{McpFixture, McpOptions};

        let upstream = McpFixture::start(McpOptions::default()).await.unwrap();
        // Each session begins with a handshake: `server/discover` (the
        // fixture speaks 2026-07-28) or `initialize`.
        let handshakes = || {
            upstream
                .requests()
                .iter()
                .flat_map(|r| r.calls.iter())
                .filter(|c| matches!(c.method.as_str(), "initialize" | "server/discover"))
                .count()
        };
        let dir = tempfile::tempdir().unwrap();
        let config = format!("[[servers]]\nid = \"up\"\nurl = \"{}\"\n", upstream.url());
        let engine = engine(&dir, &config);
        let host = GatewayHost::new(engine.clone());
        let connected = |engine: Engine| async move {
            engine
                .wait_until("up", Duration::from_secs(10), |s| {
                    matches!(s, crate::events::ServerStatus::Connected { .. })
                })
                .await
                .expect("the server runs")
        };

        // The port is taken: the app starts its servers anyway.
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = taken.local_addr().unwrap().port();
        host.start(GatewayOptions { port }).await.unwrap_err();
        engine.start();
        connected(engine.clone()).await;
        assert_eq!(handshakes(), 1);

        // Served at last: the server connects again, to this gateway.
        host.start(GatewayOptions { port: 0 }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        connected(engine.clone()).await;
        assert_eq!(handshakes(), 2);

        // Moved to another port: again.
        host.start(GatewayOptions { port: 0 }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        connected(engine.clone()).await;
        assert_eq!(handshakes(), 3);
        host.shutdown().await;
        engine.shutdown().await;
    }

    #[tokio::test]
    async fn moves_to_the_port_the_config_names() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(&dir, ONE_SERVER);
        let host = GatewayHost::new(engine.clone());
        let first = host.start(GatewayOptions { port: 0 }).await.unwrap();
        host.follow_config();
        engine.follow_config_file(Duration::from_millis(50));
        tokio::time::sleep(Duration::from_millis(100)).await;

        let free = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let wanted = free.local_addr().unwrap().port();
        drop(free);
        let config = format!("[gateway]\nport = {wanted}\n\n{ONE_SERVER}");
        std::fs::write(engine.paths().config_file(), config).unwrap();

        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let status = host.status().await;
            if status.port == wanted && status.served_here {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the gateway did not move: {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(answers(wanted).await);
        assert!(!answers(first).await, "the old port is closed");
        host.shutdown().await;
    }
}
