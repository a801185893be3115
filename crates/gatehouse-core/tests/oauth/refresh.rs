//! Tokens over time: refreshed before expiry, rotated and persisted, a
//! rejected or revoked grant turning into "needs authorization" once, and
//! two processes sharing one vault.

use super::*;

#[tokio::test]
async fn tokens_are_refreshed_before_expiry_and_rotated_tokens_persisted() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        access_token_ttl: Duration::from_secs(4),
        ..OAuthOptions::default()
    })
    .await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();

    // At 80 % of the 4 s lifetime the refresher renews the token by itself.
    let refreshes = || {
        fixture
            .token_requests()
            .into_iter()
            .filter(|t| t.grant_type.as_deref() == Some("refresh_token") && t.status == 200)
            .count()
    };
    let deadline = std::time::Instant::now() + LONG;
    while refreshes() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no background refresh"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(is_connected(&s.engine.status("demo").unwrap()));

    // The rotated refresh token is the one in the vault: a fresh engine
    // (another process) can use it.
    s.engine.shutdown().await;
    let active_refresh: Vec<String> = fixture
        .issued_tokens()
        .into_iter()
        .filter(|t| t.kind == gatehouse_fixture::oauth::TokenKind::Refresh && t.active)
        .map(|t| t.token)
        .collect();
    assert_eq!(
        active_refresh.len(),
        1,
        "rotation leaves one live refresh token"
    );
    fixture.expire_access_tokens();
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "demo", LONG, is_connected).await;
    let last_refresh = fixture
        .token_requests()
        .into_iter()
        .rfind(|t| t.grant_type.as_deref() == Some("refresh_token"))
        .unwrap();
    assert_eq!(last_refresh.status, 200, "{:?}", last_refresh.error);
    assert_eq!(
        last_refresh.refresh_token_hash.as_deref(),
        Some(gatehouse_fixture::oauth::token_hash(&active_refresh[0]).as_str())
    );
    assert_eq!(fixture.authorization_requests().len(), 1);
    restarted.shutdown().await;
}

#[tokio::test]
async fn a_rejected_refresh_token_needs_authorization_exactly_once() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        access_token_ttl: Duration::from_secs(3),
        ..OAuthOptions::default()
    })
    .await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    let events = Recorder::start(&s.engine);
    fixture.reject_refresh(true);

    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    // Give a looping client time to hammer the server.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let rejected = fixture
        .token_requests()
        .into_iter()
        .filter(|t| t.grant_type.as_deref() == Some("refresh_token"))
        .count();
    assert_eq!(
        rejected, 1,
        "one refresh attempt, no retries against a rejection"
    );
    let announcements = events
        .events()
        .iter()
        .filter(|e| matches!(e, Event::ReauthorizationNeeded { .. }))
        .count();
    assert_eq!(announcements, 1);
    assert!(needs_authorization(&s.engine.status("demo").unwrap()));
    // The dead tokens are gone from the vault.
    let view = s.engine.servers().await.remove(0);
    assert_eq!(view.oauth.and_then(|o| o.expires_at), None);

    // Authorizing again gives a session that stays: the old rejection does
    // not linger and end it.
    fixture.reject_refresh(false);
    let status = s
        .engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert!(
        matches!(status, ServerStatus::Connected { .. }),
        "{status:?}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = s.engine.status("demo").unwrap();
    assert!(
        matches!(status, ServerStatus::Connected { .. }),
        "still connected after authorizing again, not {status:?}"
    );
    s.engine.shutdown().await;
}

#[tokio::test]
async fn revoked_tokens_mid_session_lead_to_needs_authorization() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    let events = Recorder::start(&s.engine);
    fixture.revoke_all();
    // A request of the session (the tool list is kept from its start).
    let err = s
        .engine
        .call_tool(
            "demo",
            "echo",
            serde_json::json!({"text": "x"}).as_object().cloned(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("authoriz"), "{err}");
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        events
            .events()
            .iter()
            .filter(|e| matches!(e, Event::ReauthorizationNeeded { .. }))
            .count(),
        1
    );
    // Authorizing again brings it back.
    let status = s
        .engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert!(is_connected(&status));
    s.engine.shutdown().await;
}

#[tokio::test]
async fn two_processes_sharing_a_vault_never_burn_each_others_refresh_tokens() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        access_token_ttl: Duration::from_secs(3),
        ..OAuthOptions::default()
    })
    .await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    // A second engine over the same files: the CLI beside the app.
    let other = s.reopen();
    other.start();
    wait_for(&other, "demo", LONG, is_connected).await;

    // Several lifetimes pass; both refresh with rotating refresh tokens.
    tokio::time::sleep(Duration::from_secs(9)).await;
    let refreshes: Vec<_> = fixture
        .token_requests()
        .into_iter()
        .filter(|t| t.grant_type.as_deref() == Some("refresh_token"))
        .collect();
    assert!(
        refreshes.len() >= 2,
        "refreshes happened: {}",
        refreshes.len()
    );
    assert!(
        refreshes.iter().all(|t| t.status == 200),
        "a refresh token was used twice: {:?}",
        refreshes
            .iter()
            .map(|t| (t.status, t.error.clone()))
            .collect::<Vec<_>>()
    );
    call_echo(&s.engine, "demo").await;
    call_echo(&other, "demo").await;
    s.engine.shutdown().await;
    other.shutdown().await;
}

/// Whether `events` show the server leaving its session (for authorization
/// or to reconnect).
fn left_its_session(events: &[Event], server: &str) -> Vec<ServerStatus> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Status { server: s, status } if s == server && !is_connected(status) => {
                Some(status.clone())
            }
            _ => None,
        })
        .collect()
}

/// A successful refresh answered by the fixture.
fn refreshed(fixture: &OAuthFixture) -> usize {
    fixture
        .token_requests()
        .into_iter()
        .filter(|t| t.grant_type.as_deref() == Some("refresh_token") && t.status == 200)
        .count()
}

/// The server refuses the access token before the refresher renewed it (it
/// expired while the machine was busy, or the server revoked it early): the
/// health check refreshes it and pings again instead of ending the session
/// and everything in flight on it.
#[tokio::test]
async fn a_refused_access_token_is_refreshed_for_the_health_check() {
    let s = Setup::new();
    s.engine.set_health_interval(Duration::from_millis(300));
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    let events = Recorder::start(&s.engine);
    fixture.expire_access_tokens();
    let deadline = std::time::Instant::now() + LONG;
    while refreshed(&fixture) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the health check did not refresh the refused token: {:?}",
            s.engine.status("demo")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A few more health checks, on the new token.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(left_its_session(&events.events(), "demo"), vec![]);
    call_echo(&s.engine, "demo").await;
    assert_eq!(refreshed(&fixture), 1);
    assert_eq!(fixture.authorization_requests().len(), 1);
    s.engine.shutdown().await;
}

/// The same refusal met by a client of the gateway: its call is answered
/// on a refreshed token, in the same session.
#[tokio::test]
async fn a_refused_access_token_is_refreshed_for_a_gateway_call() {
    use gatehouse_core::gateway::host::GatewayHost;
    use gatehouse_core::gateway::http::{GatewayOptions, server_url};
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    use secrecy::ExposeSecret;

    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    let token = s.engine.gateway_token_add("a-client").await.unwrap();
    let host = GatewayHost::new(s.engine.clone());
    let port = host.start(GatewayOptions { port: 0 }).await.unwrap();
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(server_url(port, "demo"))
            .auth_header(token.expose_secret()),
    );
    let client = ().serve(transport).await.unwrap();
    let events = Recorder::start(&s.engine);

    fixture.expire_access_tokens();
    let arguments = serde_json::json!({"text": "after the refusal"});
    let result = client
        .call_tool(
            CallToolRequestParams::new("echo")
                .with_arguments(arguments.as_object().cloned().unwrap()),
        )
        .await;
    let result = result.expect("the call was answered");
    assert_eq!(result.is_error, Some(false), "{result:?}");
    assert_eq!(
        serde_json::to_value(&result.content).unwrap()[0]["text"],
        "after the refusal"
    );
    assert_eq!(refreshed(&fixture), 1);
    assert_eq!(left_its_session(&events.events(), "demo"), vec![]);
    assert_eq!(fixture.authorization_requests().len(), 1);
    client.cancel().await.unwrap();
    host.shutdown().await;
    s.engine.shutdown().await;
}
