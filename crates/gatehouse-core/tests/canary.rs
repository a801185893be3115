//! A canary secret, real OAuth tokens and a gateway client's token must
//! never show up in logs (at debug level, every crate), the log file a
//! person can send, the diagnostics report, error messages, the server list
//! and the gateway's status and token list as the front ends serialize
//! them, or the config file.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Approve, Setup, is_connected, needs_authorization, wait_for};
use gatehouse_core::config::{OAuthConfig, ServerConfig};
use gatehouse_core::events::ServerStatus;
use gatehouse_core::gateway::host::GatewayHost;
use gatehouse_core::gateway::http::GatewayOptions;
use gatehouse_fixture::{Access, ConsentMode, McpFixture, McpOptions, OAuthFixture, OAuthOptions};
use secrecy::{ExposeSecret as _, SecretString};

const CANARY: &str = "canary-7f3a9c2e51d84b06";
const GATEWAY_BEARER: &str = "gw-canary-0c1d2e3f4a5b6c7d";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn secrets_and_tokens_never_leak() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let s = Setup::new();
    let logs = Captured::default();
    // The log file the app writes (and "Copy diagnostics" quotes), here at
    // the loudest level a person could ask for.
    let log_dir = s.engine.paths().log_dir();
    let log_file = gatehouse_core::log_file::RotatingFile::open(&log_dir, "app").unwrap();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(logs.clone())
                .with_ansi(false)
                .with_filter(gatehouse_core::logging::capped("trace")),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(log_file.clone())
                .with_ansi(false)
                .with_filter(gatehouse_core::logging::capped("trace")),
        )
        .init();
    let good = McpFixture::start(McpOptions {
        access: Access::Bearer(CANARY.into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let wrong = McpFixture::start(McpOptions {
        access: Access::Bearer("something-else".into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    s.engine
        .set_secret("CANARY", &SecretString::from(CANARY))
        .await
        .unwrap();
    let header = |id: &str, url: String, value: &str| {
        let mut server = ServerConfig::new(id, url);
        server.headers.insert("Authorization".into(), value.into());
        server
    };
    s.engine
        .add_server(header("good", good.url(), "Bearer ${CANARY}"))
        .await
        .unwrap();
    s.engine
        .add_server(header("rejected", wrong.url(), "Bearer ${CANARY}"))
        .await
        .unwrap();
    s.engine
        .add_server(header("missing", good.url(), "Bearer ${ABSENT}"))
        .await
        .unwrap();

    // OAuth: real tokens, codes and a client secret-less registration.
    let oauth = OAuthFixture::start(OAuthOptions {
        consent: ConsentMode::AutoApprove,
        access_token_ttl: Duration::from_secs(3),
        ..OAuthOptions::default()
    })
    .await
    .unwrap();
    let mut server = ServerConfig::new("oauth", oauth.url());
    server.oauth = Some(OAuthConfig::default());
    s.engine.add_server(server).await.unwrap();
    wait_for(
        &s.engine,
        "oauth",
        Duration::from_secs(20),
        needs_authorization,
    )
    .await;
    s.engine
        .authorize("oauth", Arc::new(Approve::default()))
        .await
        .unwrap();

    wait_for(&s.engine, "good", Duration::from_secs(20), is_connected).await;
    let mut texts = Vec::new();
    for id in ["rejected", "missing"] {
        let status = wait_for(&s.engine, id, Duration::from_secs(20), |s| {
            matches!(s, ServerStatus::Error { .. })
        })
        .await;
        texts.push(format!("{status:?}"));
    }
    let call = s
        .engine
        .call_tool(
            "good",
            "echo",
            serde_json::json!({"text": "x"}).as_object().cloned(),
        )
        .await
        .unwrap();
    texts.push(format!("{call:?}"));
    texts.push(
        s.engine
            .list_tools("rejected")
            .await
            .unwrap_err()
            .to_string(),
    );
    // Let a background refresh happen too.
    tokio::time::sleep(Duration::from_secs(4)).await;
    s.engine.list_tools("oauth").await.unwrap();

    texts.push(serde_json::to_string(&s.engine.servers().await).unwrap());
    texts.push(format!("{:?}", s.engine.current_config()));
    texts.push(std::fs::read_to_string(s.dir.path().join("config.toml")).unwrap());
    texts.push(format!("{:?}", s.engine));
    // A gateway-style bearer in a URL's query, as a log line might quote a
    // request: the file has it as logged, the report must not.
    tracing::info!(
        url = %format!("http://127.0.0.1:1/gateway/good?access_token={GATEWAY_BEARER}"),
        "a client connected"
    );
    // The gateway as the app serves it: a client's token made, used (and a
    // wrong one tried), then the status and token list as Settings reads
    // them. Only the answer to the add carries the token.
    let gateway_token = s.engine.gateway_token_add("canary-client").await.unwrap();
    let host = GatewayHost::new(s.engine.clone());
    let port = host.start(GatewayOptions { port: 0 }).await.unwrap();
    let client = reqwest::Client::new();
    for (bearer, status) in [(gateway_token.expose_secret(), 200), ("ghgw_wrong", 401)] {
        let response = client
            .post(gatehouse_core::gateway::http::server_url(port, "good"))
            .bearer_auth(bearer)
            .header("accept", "application/json, text/event-stream")
            .json(&serde_json::json!({
                "jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "canary-client", "version": "1"}}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
        texts.push(response.text().await.unwrap());
    }
    texts.push(serde_json::to_string(&host.status().await).unwrap());
    texts.push(serde_json::to_string(&s.engine.gateway_token_list().await.unwrap()).unwrap());
    host.shutdown().await;

    let diagnostics = gatehouse_core::diagnostics::report(&s.engine, "app").await;
    s.engine.shutdown().await;
    let file = std::fs::read_to_string(log_file.path()).unwrap();
    assert!(
        file.len() > 10_000,
        "the log file was written ({} bytes)",
        file.len()
    );
    assert!(
        diagnostics.contains("- good [http://127.0.0.1:")
            && diagnostics.contains("- oauth [")
            && diagnostics.contains("recent log lines (app.log):"),
        "{diagnostics}"
    );
    assert!(file.contains(GATEWAY_BEARER));
    assert!(
        !diagnostics.contains(GATEWAY_BEARER) && diagnostics.contains("/gateway/good?…"),
        "{diagnostics}"
    );
    texts.push(file.replace(GATEWAY_BEARER, ""));
    texts.push(diagnostics);
    texts.push(String::from_utf8_lossy(&logs.0.lock().unwrap()).replace(GATEWAY_BEARER, ""));

    let mut secrets = vec![CANARY.to_owned(), gateway_token.expose_secret().to_owned()];
    secrets.extend(oauth.issued_tokens().into_iter().map(|t| t.token));
    assert!(secrets.len() >= 3, "tokens were issued: {secrets:?}");
    let logs_len = texts.last().unwrap().len();
    assert!(
        logs_len > 10_000,
        "debug logging was captured ({logs_len} bytes)"
    );
    for text in &texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into: {}",
                &text[text.find(secret.as_str()).unwrap().saturating_sub(200)..]
                    .chars()
                    .take(400)
                    .collect::<String>()
            );
        }
    }
    // Codes are single-use secrets too.
    for request in oauth.token_requests() {
        if let Some(code) = request.param("code") {
            for text in &texts {
                if let Some(at) = text.find(code) {
                    panic!(
                        "a code leaked: {}",
                        text[at.saturating_sub(300)..]
                            .chars()
                            .take(500)
                            .collect::<String>()
                    );
                }
            }
        }
    }
}
