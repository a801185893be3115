//! "Try the demo server": the small OAuth-protected MCP server of
//! `gatehouse-demo`, run inside the app on loopback, so a person can see the
//! whole authorize flow with no account anywhere. Its consent page is a real
//! page in the real browser. (The test fixture, with its hostile switches,
//! is not part of the app.)

use gatehouse_core::api::ServerView;
use gatehouse_core::config::{OAuthConfig, ServerConfig};
use gatehouse_core::{Engine, ErrorCode};
use gatehouse_demo::DemoServer as DemoHttp;
use tokio::sync::Mutex;

use crate::error::{IpcError, Result};

/// The id the demo server gets in the config.
pub const DEMO_ID: &str = "demo";
/// The port the demo prefers, so its saved URL stays valid across restarts.
const DEMO_PORT: u16 = 39391;

/// The running demo server, if any.
#[derive(Default)]
pub struct DemoServer {
    running: Mutex<Option<DemoHttp>>,
}

impl DemoServer {
    /// Starts the demo (if needed) and adds it to the config as `demo`.
    pub async fn start(&self, engine: &Engine) -> Result<ServerView> {
        let url = self.ensure_running(None).await?;
        let mut server = ServerConfig::new(DEMO_ID, url);
        server.oauth = Some(OAuthConfig::default());
        let existing = engine.server_config(DEMO_ID).ok();
        match existing {
            Some(existing) if existing.url == server.url => {}
            Some(_) => engine.update_server(DEMO_ID, server).await?,
            None => engine.add_server(server).await?,
        }
        engine
            .servers()
            .await
            .into_iter()
            .find(|s| s.id == DEMO_ID)
            .ok_or_else(|| IpcError::new(ErrorCode::Internal, "the demo server was not added"))
    }

    /// At launch: brings the demo back up when the config still has it.
    pub async fn resume(&self, engine: &Engine) {
        let Ok(server) = engine.server_config(DEMO_ID) else {
            return;
        };
        let Some(port) = url::Url::parse(&server.url)
            .ok()
            .filter(|u| u.host_str() == Some("127.0.0.1"))
            .and_then(|u| u.port())
        else {
            return;
        };
        if let Err(error) = self.ensure_running(Some(port)).await {
            tracing::warn!(%error.message, "the demo server could not be restarted");
        }
    }

    async fn ensure_running(&self, port: Option<u16>) -> Result<String> {
        let mut running = self.running.lock().await;
        if let Some(fixture) = running.as_ref() {
            return Ok(fixture.url());
        }
        let start = DemoHttp::start;
        let fixture = match start(port.unwrap_or(DEMO_PORT)).await {
            Ok(fixture) => fixture,
            Err(_) if port.is_none() => start(0)
                .await
                .map_err(|e| IpcError::new(ErrorCode::DemoFailed, e.to_string()))?,
            Err(e) => return Err(IpcError::new(ErrorCode::DemoFailed, e.to_string())),
        };
        let url = fixture.url();
        *running = Some(fixture);
        Ok(url)
    }
}
