//! Shared set-up for the integration tests: an engine over temp files and a
//! vault keyed in memory, consent sinks that act like a person's browser,
//! and waiting helpers.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatehouse_core::events::{Event, ServerStatus};
use gatehouse_core::paths::Paths;
use gatehouse_core::vault::{MemoryKeyStore, Vault};
use gatehouse_core::{ConsentSink, Engine};

pub mod mixup;
pub mod oauth;

/// An engine over a temp directory. `reopen` builds a second engine over the
/// same files and the same key, as a restart of the app would.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub keys: Arc<MemoryKeyStore>,
    pub engine: Engine,
}

impl Setup {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keys = Arc::new(MemoryKeyStore::default());
        let engine = engine_at(&dir, &keys);
        Self { dir, keys, engine }
    }

    /// A new engine over the same config, vault and key.
    pub fn reopen(&self) -> Engine {
        engine_at(&self.dir, &self.keys)
    }
}

fn engine_at(dir: &tempfile::TempDir, keys: &Arc<MemoryKeyStore>) -> Engine {
    let paths = Paths::new(dir.path().join("config.toml"), dir.path().join("data"));
    let vault = Vault::new(paths.vault_file(), keys.clone(), None);
    Engine::with_vault(paths, vault).unwrap()
}

/// Waits (up to `limit`) until the server's status satisfies `pred`.
pub async fn wait_for(
    engine: &Engine,
    id: &str,
    limit: Duration,
    pred: impl Fn(&ServerStatus) -> bool,
) -> ServerStatus {
    let deadline = Instant::now() + limit;
    loop {
        let status = engine.status(id).unwrap_or(ServerStatus::Connecting);
        if pred(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "server {id} never reached the expected state; last: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn is_connected(status: &ServerStatus) -> bool {
    matches!(status, ServerStatus::Connected { .. })
}

pub fn needs_authorization(status: &ServerStatus) -> bool {
    matches!(status, ServerStatus::NeedsAuthorization { .. })
}

/// A person who approves in the browser: follows the consent page and lets
/// the browser land on Gatehouse's loopback listener.
#[derive(Default)]
pub struct Approve {
    pub presented: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl ConsentSink for Approve {
    async fn present(&self, _server: &str, url: &str) -> Result<(), String> {
        self.presented.lock().unwrap().push(url.to_owned());
        let callback = gatehouse_fixture::follow_consent(url).await?;
        reqwest::get(&callback).await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// A person who never comes back.
pub struct Ignore;

#[async_trait::async_trait]
impl ConsentSink for Ignore {
    async fn present(&self, _server: &str, _url: &str) -> Result<(), String> {
        Ok(())
    }
}

/// Collects events in the background.
pub struct Recorder {
    events: Arc<Mutex<Vec<Event>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    pub fn start(engine: &Engine) -> Self {
        let mut rx = engine.subscribe();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let task = tokio::spawn(async move {
            while let Ok(event) = rx.recv().await {
                sink.lock().unwrap().push(event);
            }
        });
        Self { events, task }
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Makes a request of the server's live session (a tool call: the tool list
/// is answered from what the session listed when it started) and fails the
/// test if it does not succeed.
#[allow(dead_code)]
pub async fn call_echo(engine: &Engine, id: &str) {
    let result = engine
        .call_tool(
            id,
            "echo",
            serde_json::json!({"text": "ping"}).as_object().cloned(),
        )
        .await;
    assert!(result.is_ok(), "{id}: {result:?}");
}

/// A port that was free a moment ago, for a client registered ahead of
/// time with a fixed redirect URI.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
