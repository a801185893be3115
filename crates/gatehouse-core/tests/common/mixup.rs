//! Two authorization servers for the mix-up tests (`tests/mixup.rs`,
//! `tests/mixup_attacks.rs`): A, with the MCP server it protects (whose
//! `add` tool needs `mcp:write`, so calling it asks for a step-up), and B,
//! which must never receive anything of A's grant.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::config::{OAuthConfig, ServerConfig};
use gatehouse_core::mcp::CallToolResult;
use gatehouse_fixture::oauth::TokenKind;
use gatehouse_fixture::{
    ClientAuthMethod, ConsentMode, OAuthFixture, OAuthOptions, RegisteredClient,
};
use secrecy::SecretString;

use super::{Approve, Setup, call_echo, is_connected, needs_authorization, wait_for};

pub const LONG: Duration = Duration::from_secs(20);
/// The pre-registered client's secret, known to A and B alike.
pub const SECRET: &str = "shared-client-secret-7f3a";

/// An authorization server that approves at once; its MCP server's `add`
/// tool needs `mcp:write`.
pub async fn start(options: OAuthOptions) -> OAuthFixture {
    OAuthFixture::start(OAuthOptions {
        consent: ConsentMode::AutoApprove,
        tool_scopes: [("add".to_owned(), "mcp:write".to_owned())].into(),
        ..options
    })
    .await
    .unwrap()
}

/// A confidential client authenticating with HTTP Basic, registered ahead
/// of time for the loopback `port`.
pub fn shared_client(port: u16) -> RegisteredClient {
    RegisteredClient::confidential(
        "shared-client",
        SECRET,
        ClientAuthMethod::ClientSecretBasic,
        vec![format!("http://127.0.0.1:{port}/callback")],
    )
}

/// An authorization server that knows `client` and registers no others.
pub fn knows(client: &RegisteredClient) -> OAuthOptions {
    OAuthOptions {
        dcr_supported: false,
        preregistered_clients: vec![client.clone()],
        ..OAuthOptions::default()
    }
}

/// The OAuth server "demo" at `url`.
pub fn oauth_server(url: &str) -> ServerConfig {
    let mut server = ServerConfig::new("demo", url);
    server.oauth = Some(OAuthConfig::default());
    server
}

/// Adds `server` (id "demo"), authorizes it and checks it answers. Step-ups
/// would be followed through `sink` without asking.
pub async fn authorized(s: &Setup, server: ServerConfig, sink: Arc<Approve>) {
    s.engine.set_consent_sink(sink.clone());
    s.engine.add_server(server).await.unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    let status = s.engine.authorize("demo", sink).await.unwrap();
    assert!(is_connected(&status), "{status:?}");
    call_echo(&s.engine, "demo").await;
}

/// "demo" on `a` with the pre-registered [`shared_client`] (its secret a
/// vault reference), authorized at A and connected.
pub async fn authorized_with_client(s: &Setup, a: &OAuthFixture, port: u16) {
    s.engine
        .set_secret("SHARED_SECRET", &SecretString::from(SECRET))
        .await
        .unwrap();
    let mut server = oauth_server(&a.url());
    server.oauth = Some(OAuthConfig {
        client_id: Some("shared-client".into()),
        client_secret: Some("${SHARED_SECRET}".into()),
        callback_port: port,
        ..OAuthConfig::default()
    });
    authorized(s, server, Arc::new(Approve::default())).await;
}

/// Nothing reached B's token or revocation endpoint: no code exchange with
/// the client secret, no refresh token, no revocation.
pub fn assert_b_received_nothing(b: &OAuthFixture) {
    assert!(
        b.token_requests().is_empty(),
        "B's token endpoint was called: {:?}",
        b.token_requests()
            .iter()
            .map(|t| (&t.grant_type, &t.client_id, &t.client_auth))
            .collect::<Vec<_>>()
    );
    assert!(
        b.revocations().is_empty(),
        "B was asked to revoke: {:?}",
        b.revocations()
    );
}

/// A revoked the grant's refresh token.
pub fn assert_revoked_at(a: &OAuthFixture) {
    let revoked: Vec<_> = a
        .revocations()
        .into_iter()
        .filter_map(|r| r.revoked)
        .collect();
    assert!(revoked.contains(&TokenKind::Refresh), "{revoked:?}");
}

/// Calls "demo"'s `add`, which needs `mcp:write` (a step-up at first).
pub async fn call_add(s: &Setup) -> Result<CallToolResult, String> {
    s.engine
        .call_tool(
            "demo",
            "add",
            serde_json::json!({"a": 1, "b": 2}).as_object().cloned(),
        )
        .await
        .map_err(|e| e.to_string())
}
