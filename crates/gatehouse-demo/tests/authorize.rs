//! The demo server as the app uses it: Gatehouse's engine discovers it,
//! registers, a person approves on its consent page, the server connects
//! with its tools, and sign-out revokes the grant.
//! A request without a token, or with a made-up one, is refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::config::{OAuthConfig, ServerConfig};
use gatehouse_core::events::ServerStatus;
use gatehouse_core::paths::Paths;
use gatehouse_core::vault::{MemoryKeyStore, Vault};
use gatehouse_core::{ConsentSink, Engine};
use gatehouse_demo::DemoServer;

struct Approve;

#[async_trait::async_trait]
impl ConsentSink for Approve {
    async fn present(&self, _server: &str, url: &str) -> Result<(), String> {
        let callback = gatehouse_fixture::follow_consent(url).await?;
        reqwest::get(&callback).await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

async fn wait_for(engine: &Engine, pred: impl Fn(&ServerStatus) -> bool) -> ServerStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = engine.status("demo").unwrap_or(ServerStatus::Connecting);
        if pred(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "last status: {status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_engine_authorizes_the_demo_and_uses_its_tools() {
    let demo = DemoServer::start(0).await.unwrap();
    let url = demo.url();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"));

    // Without a token, or with one it never issued: 401 with a challenge.
    let http = reqwest::Client::new();
    for bearer in [None, Some("Bearer made-up")] {
        let mut request = http.post(&url).body("{}");
        if let Some(bearer) = bearer {
            request = request.header("authorization", bearer);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("resource_metadata="), "{challenge}");
    }

    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("config.toml"), dir.path().join("data"));
    let vault = Vault::new(
        paths.vault_file(),
        Arc::new(MemoryKeyStore::default()),
        None,
    );
    let engine = Engine::with_vault(paths, vault).unwrap();
    let mut server = ServerConfig::new("demo", url.clone());
    server.oauth = Some(OAuthConfig::default());
    engine.add_server(server).await.unwrap();
    engine.start();
    wait_for(&engine, |s| {
        matches!(s, ServerStatus::NeedsAuthorization { .. })
    })
    .await;

    engine.authorize("demo", Arc::new(Approve)).await.unwrap();
    let status = wait_for(&engine, |s| matches!(s, ServerStatus::Connected { .. })).await;
    let ServerStatus::Connected { tool_count, .. } = status else {
        unreachable!()
    };
    assert_eq!(tool_count, 2);
    let result = engine
        .call_tool(
            "demo",
            "add",
            serde_json::json!({"a": 2, "b": 3}).as_object().cloned(),
        )
        .await
        .unwrap();
    assert!(format!("{result:?}").contains('5'), "{result:?}");

    // Signing out revokes: the server asks for authorization again.
    engine.sign_out("demo").await.unwrap();
    wait_for(&engine, |s| {
        matches!(s, ServerStatus::NeedsAuthorization { .. })
    })
    .await;
    engine.shutdown().await;
}
