//! The local Streamable HTTP gateway: every configured server at
//! `http://127.0.0.1:<port>/servers/<id>/mcp`, for AI clients that speak
//! MCP over HTTP themselves. Served by the desktop app and by the headless
//! `gatehouse serve`.
//!
//! - Only loopback is ever bound (127.0.0.1); the port is the config's
//!   `[gateway] port`, else [`DEFAULT_GATEWAY_PORT`], so the URLs given to
//!   clients survive restarts.
//! - Every request passes [`guard`](super::guard) first (`Host`, `Origin`,
//!   then the bearer token, checked against the vault on each request so a
//!   revocation applies to the next one), then reaches rmcp's Streamable
//!   HTTP server for that server id: one session per client, each a
//!   [`GatewaySession`] forwarding to the server's one live session (a tool
//!   list's answer written again as the server wrote the list:
//!   [`written`](super::written)).
//! - An unknown id is a 404 with a JSON error; so is any other path.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::{HeaderValue, StatusCode, header};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

pub use crate::config::DEFAULT_GATEWAY_PORT;

use super::forward::Upstream;
use super::guard::{self, Refusal};
use super::listener::{GuardedListener, IDLE_TIMEOUT, MAX_CONNECTIONS};
use super::session::{GatewaySession, TokenClient};
use super::sessions::SessionRouter;
use super::tokens::GatewayTokens;
use super::written::ListedAsWritten;
use crate::Engine;
use crate::error_code::ErrorCode;

/// How the gateway is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayOptions {
    /// The loopback port; 0 picks a free one (for tests).
    pub port: u16,
}

impl GatewayOptions {
    /// The port `engine`'s config names (or the default), unless
    /// `override_port` is given.
    pub fn from_config(engine: &Engine, override_port: Option<u16>) -> Self {
        Self {
            port: override_port.unwrap_or_else(|| engine.current_config().gateway.port()),
        }
    }
}

/// The gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    #[error(
        "port {port} on 127.0.0.1 is already in use (is another Gatehouse gateway running?): pick another with `--port` or `[gateway] port` in the config file"
    )]
    PortInUse { port: u16 },
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("the gateway listens on loopback only, not on {address}")]
    NotLoopback { address: IpAddr },
}

impl GatewayError {
    /// A stable machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::PortInUse { .. } => ErrorCode::PortInUse,
            Self::Bind { .. } | Self::NotLoopback { .. } => ErrorCode::ListenerFailed,
        }
    }
}

/// The address a server is served at on the gateway at `port`.
pub fn server_url(port: u16, id: &str) -> String {
    format!("http://127.0.0.1:{port}/servers/{id}/mcp")
}

/// A running gateway. Dropping it does not stop it: call
/// [`GatewayHandle::shutdown`].
pub struct GatewayHandle {
    port: u16,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl GatewayHandle {
    /// The port it listens on (the real one when 0 was asked for).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Server `id`'s address on this gateway.
    pub fn server_url(&self, id: &str) -> String {
        server_url(self.port, id)
    }

    /// Stops listening and ends every session.
    pub fn shutdown(self) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            self.stop.cancel();
            let _ = self.task.await;
        })
    }
}

/// Binds `address`, which must be a loopback address.
async fn bind_loopback(address: SocketAddr) -> Result<tokio::net::TcpListener, GatewayError> {
    if !address.ip().is_loopback() {
        return Err(GatewayError::NotLoopback {
            address: address.ip(),
        });
    }
    let port = address.port();
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AddrInUse => GatewayError::PortInUse { port },
            _ => GatewayError::Bind { port, source },
        })
}

/// Starts the gateway for `engine`'s servers, connecting each enabled one.
/// Must run inside a Tokio runtime.
pub fn serve(
    engine: Engine,
    options: GatewayOptions,
) -> BoxFuture<'static, Result<GatewayHandle, GatewayError>> {
    Box::pin(async move {
        let listener = bind_loopback(SocketAddr::from((Ipv4Addr::LOCALHOST, options.port))).await?;
        let port = listener
            .local_addr()
            .map_err(|source| GatewayError::Bind {
                port: options.port,
                source,
            })?
            .port();
        let stop = CancellationToken::new();
        let state = Arc::new(GatewayState {
            tokens: engine.gateway_tokens(),
            engine: engine.clone(),
            port,
            stop: stop.clone(),
            services: Mutex::default(),
            routers: Mutex::default(),
        });
        // Each server's router is its connection's downstream before it
        // connects, so the connection advertises what the gateway relays.
        for server in engine.current_config().servers {
            state.router(&server.id, false);
        }
        engine.start();

        let app = axum::Router::new()
            .route("/servers/{id}/mcp", axum::routing::any(mcp))
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                check_request,
            ))
            .with_state(state);
        let shutdown = stop.clone();
        let task = tokio::spawn(async move {
            // At most MAX_CONNECTIONS at once, idle ones closed, TCP_NODELAY
            // (Nagle's algorithm would hold each small answer's last segment
            // until the client's delayed ACK, 40 ms on Linux).
            let listener = GuardedListener::new(listener, MAX_CONNECTIONS, IDLE_TIMEOUT);
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "the gateway stopped");
            }
        });
        tracing::info!(port, "the HTTP gateway is listening on 127.0.0.1");
        Ok(GatewayHandle { port, stop, task })
    })
}

type McpService = StreamableHttpService<GatewaySession, LocalSessionManager>;

struct GatewayState {
    engine: Engine,
    tokens: GatewayTokens,
    port: u16,
    stop: CancellationToken,
    /// rmcp's Streamable HTTP server per server id, made on first use.
    services: Mutex<HashMap<String, McpService>>,
    routers: Mutex<HashMap<String, Arc<SessionRouter>>>,
}

impl GatewayState {
    /// Server `id`'s router, set as its connection's downstream when made.
    /// A server that connected before (one added while the gateway runs)
    /// is reconnected, so that its session advertises the router's
    /// capabilities.
    fn router(&self, id: &str, reconnect: bool) -> Arc<SessionRouter> {
        let mut routers = self.routers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(router) = routers.get(id) {
            return router.clone();
        }
        let router = Arc::new(SessionRouter::default());
        let connections = self.engine.connections();
        connections.set_downstream(id, Some(router.clone()));
        if reconnect {
            connections.restart(id);
        }
        routers.insert(id.to_owned(), router.clone());
        router
    }

    /// The MCP endpoint of server `id`, if it is configured.
    fn service(&self, id: &str) -> Option<McpService> {
        self.engine.server_config(id).ok()?;
        let mut services = self.services.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(service) = services.get(id) {
            return Some(service.clone());
        }
        let router = self.router(id, true);
        let upstream = Upstream::new(self.engine.clone(), id);
        let port = self.port;
        // Our own guard has checked these already; rmcp's checks stay on
        // with the same lists as a second line.
        let config = StreamableHttpServerConfig::default()
            .with_allowed_hosts([format!("127.0.0.1:{port}"), format!("localhost:{port}")])
            .with_allowed_origins([
                format!("http://127.0.0.1:{port}"),
                format!("http://localhost:{port}"),
            ])
            .with_sse_keep_alive(Some(Duration::from_secs(15)))
            .with_cancellation_token(self.stop.child_token());
        let service = StreamableHttpService::new(
            move || Ok(GatewaySession::new(upstream.clone(), router.clone())),
            Arc::new(LocalSessionManager::default()),
            config,
        );
        services.insert(id.to_owned(), service.clone());
        Some(service)
    }
}

/// The guard in front of every route: `Host`, `Origin`, then the token.
async fn check_request(
    State(state): State<Arc<GatewayState>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Err(refusal) = guard::check_origin_and_host(request.headers(), state.port) {
        return drained(request, refuse(&refusal, None)).await;
    }
    let presented = match guard::bearer_token(request.headers()) {
        Ok(token) => zeroize::Zeroizing::new(token.to_owned()),
        Err(refusal) => {
            let refused = refuse(&refusal, Some("Bearer realm=\"gatehouse\""));
            return drained(request, refused).await;
        }
    };
    // The vault is read on the blocking pool (see the engine's blocking
    // boundary): a revoke by another process counts from the next request.
    let tokens = state.tokens.clone();
    let verified = tokio::task::spawn_blocking(move || tokens.verify(&presented))
        .await
        .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
    match verified {
        Ok(Some(client)) => {
            tracing::debug!(%client, path = %request.uri().path(), "a gateway request");
            // For the Activity record: whose token it was.
            request.extensions_mut().insert(TokenClient(client));
            next.run(request).await
        }
        Ok(None) => {
            let refused = refuse(
                &guard::invalid_token(),
                Some("Bearer realm=\"gatehouse\", error=\"invalid_token\""),
            );
            drained(request, refused).await
        }
        Err(error) => {
            tracing::warn!(%error, "the gateway could not read its tokens");
            let refused = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "vault_unavailable",
                format!("Gatehouse cannot check gateway tokens: {error}"),
            );
            drained(request, refused).await
        }
    }
}

/// The most of a refused request's body read before the answer.
const REFUSED_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// `response` to a refused request, after its body was read (up to
/// [`REFUSED_BODY_LIMIT`], for at most a second): hyper closes a connection
/// whose request body was left unread, and a client still sending it would
/// see the connection reset instead of the 401 or 403 that says why.
async fn drained(request: Request, response: Response) -> Response {
    let body = axum::body::to_bytes(request.into_body(), REFUSED_BODY_LIMIT);
    let _ = tokio::time::timeout(Duration::from_secs(1), body).await;
    response
}

/// `/servers/<id>/mcp`: rmcp's Streamable HTTP server for that server.
async fn mcp(
    State(state): State<Arc<GatewayState>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let Some(service) = state.service(&id) else {
        return unknown_server(&id);
    };
    // A tools/list is marked, so that its answer carries the list as the
    // server wrote it (rmcp's answer has its model's reading). Only a small
    // body of stated length is read for that; rmcp reads the rest.
    let small = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|length| length <= super::written::MARKED_BODY_LIMIT);
    let (request, written) = if request.method() == http::Method::POST && small {
        let (mut parts, body) = request.into_parts();
        let read = axum::body::to_bytes(body, super::written::MARKED_BODY_LIMIT);
        let body = match read.await {
            Ok(body) => body,
            Err(error) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "unreadable_request",
                    format!("Gatehouse could not read the request: {error}"),
                );
            }
        };
        let written = ListedAsWritten::for_request(&body);
        if let Some(written) = &written {
            parts.extensions.insert(written.clone());
        }
        (Request::from_parts(parts, Body::from(body)), written)
    } else {
        (request, None)
    };
    let response = service.handle(request).await.map(Body::new);
    match written {
        Some(written) if response.status() == StatusCode::OK => {
            super::written::rewrite(response, written).await
        }
        _ => response,
    }
}

async fn not_found(request: Request) -> Response {
    let _ = request;
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "Gatehouse serves each server at /servers/<id>/mcp".to_owned(),
    )
}

fn unknown_server(id: &str) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "unknown_server",
        format!(
            "no server {:?} is configured in Gatehouse",
            crate::text::one_line(id, 80)
        ),
    )
}

/// A refusal's body: a JSON-RPC error (with no id: the request was never
/// read), which MCP clients show as the answer to the request they sent;
/// `data` holds the HTTP status and a stable code.
fn json_error(status: StatusCode, code: &'static str, message: String) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {
            "code": REFUSED,
            "message": message,
            "data": { "status": status.as_u16(), "code": code },
        },
    });
    (status, axum::Json(body)).into_response()
}

/// JSON-RPC error code of a request the gateway refused (implementation
/// range, next to the proxy's "server not ready").
const REFUSED: i32 = -32002;

fn refuse(refusal: &Refusal, challenge: Option<&'static str>) -> Response {
    let code = if refusal.status == StatusCode::UNAUTHORIZED {
        "unauthorized"
    } else {
        "forbidden"
    };
    let mut response = json_error(refusal.status, code, refusal.message.to_owned());
    if let Some(challenge) = challenge {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
}

/// What `gatehouse gateway status` and the app show.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    pub port: u16,
    /// Whether something answers on the port (a gateway, most likely).
    pub listening: bool,
    pub servers: Vec<GatewayServer>,
}

/// One server as the gateway serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct GatewayServer {
    pub id: String,
    pub url: String,
    pub enabled: bool,
}

/// The gateway's port and each server's URL on it, and whether a gateway
/// is listening there now.
pub fn status<'a>(engine: &'a Engine, port: u16) -> BoxFuture<'a, GatewayStatus> {
    Box::pin(async move {
        let listening = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)),
        )
        .await
        .is_ok_and(|connected| connected.is_ok());
        let servers = engine
            .current_config()
            .servers
            .into_iter()
            .map(|server| GatewayServer {
                url: server_url(port, &server.id),
                id: server.id,
                enabled: server.enabled,
            })
            .collect();
        GatewayStatus {
            port,
            listening,
            servers,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_loopback_is_bound() {
        for address in ["0.0.0.0:0", "192.168.1.10:0", "[::]:0"] {
            let address: SocketAddr = address.parse().unwrap();
            assert!(
                matches!(
                    bind_loopback(address).await,
                    Err(GatewayError::NotLoopback { .. })
                ),
                "{address}"
            );
        }
        assert!(bind_loopback("127.0.0.1:0".parse().unwrap()).await.is_ok());
    }

    #[tokio::test]
    async fn a_port_in_use_is_named() {
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = taken.local_addr().unwrap().port();
        let error = bind_loopback(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .unwrap_err();
        assert!(matches!(error, GatewayError::PortInUse { port: p } if p == port));
        assert!(error.to_string().contains(&port.to_string()));
    }
}
