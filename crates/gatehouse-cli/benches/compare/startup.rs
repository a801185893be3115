//! Startup and OAuth, measured on the engine itself (what the desktop app
//! and `gatehouse serve` run): N header servers connecting when each
//! handshake takes 300 ms; an OAuth server with stored tokens connecting
//! while five others wait for consent; and the browser's callback reaching
//! the loopback listener until the server is connected.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use gatehouse_core::config::{OAuthConfig, ServerConfig};
use gatehouse_core::events::ServerStatus;
use gatehouse_core::paths::Paths;
use gatehouse_core::vault::{MemoryKeyStore, Vault};
use gatehouse_core::{ConsentSink, Engine};
use gatehouse_fixture::{ConsentMode, McpFixture, OAuthFixture, OAuthOptions};

use crate::machine::{HANDSHAKE, fixtures};
use crate::stats::Summary;

fn engine_at(dir: &std::path::Path, keys: &Arc<MemoryKeyStore>) -> Result<Engine> {
    let paths = Paths::new(dir.join("config.toml"), dir.join("data"));
    let vault = Vault::new(paths.vault_file(), keys.clone(), None);
    Ok(Engine::with_vault(paths, vault)?)
}

async fn wait_connected(engine: &Engine, ids: &[String]) {
    for id in ids {
        while !matches!(engine.status(id), Some(ServerStatus::Connected { .. })) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// Time from `start()` until N servers whose handshakes take 300 ms are
/// all connected.
pub async fn header_servers(n: usize, runs: usize) -> Result<Summary> {
    connect_all(n, HANDSHAKE, runs).await
}

/// Time from `start()` until N servers whose handshakes take `handshake`
/// are all connected.
pub async fn connect_all(n: usize, handshake: Duration, runs: usize) -> Result<Summary> {
    let servers: Vec<McpFixture> = fixtures(n, handshake).await?;
    let dir = tempfile::tempdir()?;
    let ids: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let mut text = String::new();
    for (id, server) in ids.iter().zip(&servers) {
        text.push_str(&format!(
            "[[servers]]\nid = \"{id}\"\nurl = \"{}\"\n\n",
            server.url()
        ));
    }
    std::fs::write(dir.path().join("config.toml"), text)?;
    let keys = Arc::new(MemoryKeyStore::default());
    let mut samples = Vec::new();
    for _ in 0..runs {
        let engine = engine_at(dir.path(), &keys)?;
        let start = Instant::now();
        engine.start();
        wait_connected(&engine, &ids).await;
        samples.push(start.elapsed());
        engine.shutdown().await;
    }
    Ok(Summary::of(samples))
}

/// Consents in the fixture's browser stand-in, noting when the callback
/// is sent to the loopback listener.
struct Browser {
    callback_sent: Mutex<Option<Instant>>,
}

#[async_trait::async_trait]
impl ConsentSink for Browser {
    async fn present(&self, _server: &str, url: &str) -> Result<(), String> {
        let callback = gatehouse_fixture::follow_consent(url).await?;
        *self.callback_sent.lock().unwrap() = Some(Instant::now());
        reqwest::get(&callback).await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

async fn wait_status(engine: &Engine, id: &str, want: fn(&ServerStatus) -> bool) {
    while !engine.status(id).as_ref().is_some_and(want) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn needs_authorization(status: &ServerStatus) -> bool {
    matches!(status, ServerStatus::NeedsAuthorization { .. })
}

fn oauth_server(id: &str, url: &str) -> ServerConfig {
    let mut server = ServerConfig::new(id, url);
    server.oauth = Some(OAuthConfig::default());
    server
}

pub struct OAuthFigures {
    /// The browser's callback reaching the listener → connected.
    pub callback_to_connected: Summary,
    /// Restart → the server with stored tokens connected, five others
    /// waiting for consent.
    pub stored_with_five_waiting: Summary,
}

pub async fn oauth(runs: usize) -> Result<OAuthFigures> {
    let fixture = OAuthFixture::start(OAuthOptions {
        consent: ConsentMode::AutoApprove,
        ..OAuthOptions::default()
    })
    .await?;
    let mut callbacks = Vec::new();
    let mut restarts = Vec::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir()?;
        let keys = Arc::new(MemoryKeyStore::default());
        let engine = engine_at(dir.path(), &keys)?;
        engine
            .add_server(oauth_server("stored", &fixture.url()))
            .await?;
        wait_status(&engine, "stored", needs_authorization).await;
        let browser = Arc::new(Browser {
            callback_sent: Mutex::new(None),
        });
        engine.authorize("stored", browser.clone()).await?;
        wait_connected(&engine, &["stored".to_owned()]).await;
        let sent = browser
            .callback_sent
            .lock()
            .unwrap()
            .expect("callback sent");
        callbacks.push(sent.elapsed());
        let waiting: Vec<String> = (0..5).map(|i| format!("waiting{i}")).collect();
        for id in &waiting {
            engine.add_server(oauth_server(id, &fixture.url())).await?;
        }
        engine.shutdown().await;

        let restarted = engine_at(dir.path(), &keys)?;
        let start = Instant::now();
        restarted.start();
        wait_connected(&restarted, &["stored".to_owned()]).await;
        restarts.push(start.elapsed());
        for id in &waiting {
            wait_status(&restarted, id, needs_authorization).await;
        }
        restarted.shutdown().await;
    }
    Ok(OAuthFigures {
        callback_to_connected: Summary::of(callbacks),
        stored_with_five_waiting: Summary::of(restarts),
    })
}
