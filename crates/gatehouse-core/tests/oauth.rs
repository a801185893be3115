//! OAuth against a real authorization server and MCP server on 127.0.0.1
//! (the in-repo fixture): the browser flow, restarts, refresh, rejection,
//! step-up, sign-out, awkward and hostile servers.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    Approve, Ignore, Recorder, Setup, call_echo, free_port, is_connected, needs_authorization,
    wait_for,
};
use gatehouse_core::config::{OAuthConfig, ServerConfig};
use gatehouse_core::events::{AuthorizationStep, Event, ServerStatus};
use gatehouse_core::{AuthorizationError, Error};
use gatehouse_fixture::{ConsentMode, OAuthFixture, OAuthOptions, RegisteredClient};

const LONG: Duration = Duration::from_secs(20);

fn oauth_server(id: &str, url: &str) -> ServerConfig {
    let mut server = ServerConfig::new(id, url);
    server.oauth = Some(OAuthConfig::default());
    server
}

async fn fixture(options: OAuthOptions) -> OAuthFixture {
    OAuthFixture::start(OAuthOptions {
        consent: ConsentMode::AutoApprove,
        ..options
    })
    .await
    .unwrap()
}

fn authorization_error(result: Result<ServerStatus, Error>) -> AuthorizationError {
    match result {
        Err(Error::Authorization(e)) => e,
        other => panic!("expected an authorization error, got {other:?}"),
    }
}

#[tokio::test]
async fn full_flow_then_a_restart_reuses_the_tokens_without_a_browser() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    let events = Recorder::start(&s.engine);
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .unwrap();
    match wait_for(&s.engine, "demo", LONG, needs_authorization).await {
        ServerStatus::NeedsAuthorization { reason } => {
            assert!(reason.contains("not authorized"), "{reason}")
        }
        _ => unreachable!(),
    }

    let sink = Arc::new(Approve::default());
    let status = s.engine.authorize("demo", sink.clone()).await.unwrap();
    assert!(is_connected(&status), "{status:?}");

    // What went over the wire is what the specification asks for.
    let authorizations = fixture.authorization_requests();
    assert_eq!(authorizations.len(), 1);
    let request = &authorizations[0];
    assert_eq!(request.param("code_challenge_method"), Some("S256"));
    assert!(
        request
            .param("code_challenge")
            .is_some_and(|c| c.len() >= 43)
    );
    assert!(request.param("state").is_some_and(|s| s.len() >= 16));
    assert_eq!(request.param("resource"), Some(fixture.url().as_str()));
    assert_eq!(
        request.param("scope"),
        Some("mcp:read"),
        "the challenge's scope"
    );
    let redirect = request.param("redirect_uri").unwrap();
    assert!(redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"));
    let exchange = fixture
        .token_requests()
        .into_iter()
        .find(|t| t.grant_type.as_deref() == Some("authorization_code"))
        .unwrap();
    assert_eq!(exchange.status, 200);
    assert_eq!(exchange.param("resource"), Some(fixture.url().as_str()));
    assert!(exchange.param("code_verifier").is_some());
    assert_eq!(fixture.registrations().len(), 1);
    assert_eq!(
        fixture.registrations()[0].body["application_type"],
        "native"
    );

    // Each step was announced.
    let steps: Vec<AuthorizationStep> = events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Authorization { step, .. } => Some(step),
            _ => None,
        })
        .collect();
    assert!(
        matches!(steps[0], AuthorizationStep::WaitingForBrowser { .. }),
        "{steps:?}"
    );
    assert_eq!(steps[1], AuthorizationStep::ExchangingCode);
    wait_for(&s.engine, "demo", LONG, is_connected).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        events.events().iter().any(|e| matches!(
            e,
            Event::Authorization {
                step: AuthorizationStep::Connected,
                ..
            }
        )),
        "{:?}",
        events.events()
    );

    let result = s
        .engine
        .connections()
        .call_tool(
            "demo",
            "echo",
            serde_json::json!({"text": "hi"}).as_object().cloned(),
        )
        .await
        .unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "hi");
    let view = s.engine.servers().remove(0);
    let oauth = view.oauth.expect("token facts are shown");
    assert_eq!(oauth.scopes, ["mcp:read"]);
    assert!(oauth.expires_at.is_some());
    s.engine.shutdown().await;

    // A restart connects with the stored tokens; no browser is involved.
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "demo", LONG, is_connected).await;
    assert_eq!(
        fixture.authorization_requests().len(),
        1,
        "no new authorization"
    );
    assert_eq!(sink.presented.lock().unwrap().len(), 1);
    call_echo(&restarted, "demo").await;
    restarted.shutdown().await;
}

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
    assert!(is_connected(
        &s.engine.connections().status("demo").unwrap()
    ));

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
    assert!(needs_authorization(
        &s.engine.connections().status("demo").unwrap()
    ));
    // The dead tokens are gone from the vault.
    let view = s.engine.servers().remove(0);
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
    let status = s.engine.connections().status("demo").unwrap();
    assert!(
        matches!(status, ServerStatus::Connected { .. }),
        "still connected after authorizing again, not {status:?}"
    );
    s.engine.shutdown().await;
}

#[tokio::test]
async fn access_denied_is_reported_in_plain_words() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        consent: ConsentMode::Deny,
        ..OAuthOptions::default()
    })
    .await;
    // `fixture()` forces auto-approve; switch to deny for this test.
    fixture.set_consent_mode(ConsentMode::Deny);
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    let error = authorization_error(
        s.engine
            .authorize("demo", Arc::new(Approve::default()))
            .await,
    );
    assert_eq!(error.code(), "access_denied");
    assert!(error.to_string().contains("declined"), "{error}");
    match s.engine.connections().status("demo").unwrap() {
        ServerStatus::NeedsAuthorization { reason } => assert!(reason.contains("declined")),
        other => panic!("{other:?}"),
    }
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_browser_that_never_comes_back_times_out_and_frees_the_port() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    let mut server = oauth_server("demo", &fixture.url());
    server.oauth.as_mut().unwrap().authorization_timeout = Some(10);
    s.engine.add_server(server).unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    let ticket = s
        .engine
        .start_authorization("demo", Arc::new(Ignore))
        .await
        .unwrap();
    let port = url::Url::parse(&ticket.url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .and_then(|(_, v)| url::Url::parse(&v).ok())
        .and_then(|u| u.port())
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok(),
        "listening"
    );
    let result = tokio::time::timeout(Duration::from_secs(15), ticket.done)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result.unwrap_err().code(), "authorization_timeout");
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "no listener is left bound"
    );
    assert!(needs_authorization(
        &s.engine.connections().status("demo").unwrap()
    ));
    s.engine.shutdown().await;
}

#[tokio::test]
async fn cancelling_stops_waiting() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    let ticket = s
        .engine
        .start_authorization("demo", Arc::new(Ignore))
        .await
        .unwrap();
    assert_eq!(
        s.engine.pending_authorization_url("demo").as_deref(),
        Some(ticket.url.as_str())
    );
    assert!(s.engine.cancel_authorization("demo"));
    let result = tokio::time::timeout(Duration::from_secs(5), ticket.done)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result.unwrap_err().code(), "authorization_cancelled");
    assert_eq!(s.engine.pending_authorization_url("demo"), None);
    s.engine.shutdown().await;
}

#[tokio::test]
async fn two_servers_on_one_authorization_server_authorize_at_once_and_keep_separate_tokens() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("work", &fixture.url()))
        .unwrap();
    s.engine
        .add_server(oauth_server("personal", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "work", LONG, needs_authorization).await;
    wait_for(&s.engine, "personal", LONG, needs_authorization).await;
    let (a, b) = tokio::join!(
        s.engine.authorize("work", Arc::new(Approve::default())),
        s.engine.authorize("personal", Arc::new(Approve::default())),
    );
    assert!(is_connected(&a.unwrap()));
    assert!(is_connected(&b.unwrap()));
    let redirects: std::collections::BTreeSet<String> = fixture
        .authorization_requests()
        .iter()
        .filter_map(|r| r.param("redirect_uri").map(str::to_owned))
        .collect();
    assert_eq!(
        redirects.len(),
        2,
        "two listeners on two ephemeral ports: {redirects:?}"
    );
    // Each server sends its own token.
    let bearer = |fixture: &OAuthFixture| {
        fixture
            .mcp_requests()
            .iter()
            .filter_map(|r| {
                r.headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned())
            })
            .collect::<std::collections::BTreeSet<_>>()
    };
    call_echo(&s.engine, "work").await;
    call_echo(&s.engine, "personal").await;
    assert!(bearer(&fixture).len() >= 2);
    // Signing out of one leaves the other untouched.
    s.engine.sign_out("work").await.unwrap();
    wait_for(&s.engine, "work", LONG, needs_authorization).await;
    call_echo(&s.engine, "personal").await;
    s.engine.shutdown().await;
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "personal", LONG, is_connected).await;
    wait_for(&restarted, "work", LONG, needs_authorization).await;
    restarted.shutdown().await;
}

#[tokio::test]
async fn a_stored_registration_is_reused_and_a_busy_port_registers_again() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    for id in ["one", "two", "three"] {
        s.engine
            .add_server(oauth_server(id, &fixture.url()))
            .unwrap();
        wait_for(&s.engine, id, LONG, needs_authorization).await;
    }
    s.engine
        .authorize("one", Arc::new(Approve::default()))
        .await
        .unwrap();
    s.engine
        .authorize("two", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert_eq!(
        fixture.registrations().len(),
        1,
        "the registration is reused"
    );
    let first_redirect = fixture.authorization_requests()[0]
        .param("redirect_uri")
        .unwrap()
        .to_owned();
    let port = url::Url::parse(&first_redirect).unwrap().port().unwrap();
    // Something else now holds that port: register anew on another one.
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    s.engine
        .authorize("three", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert_eq!(fixture.registrations().len(), 2);
    let last_redirect = fixture
        .authorization_requests()
        .last()
        .unwrap()
        .param("redirect_uri")
        .unwrap()
        .to_owned();
    assert_ne!(last_redirect, first_redirect);
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_preregistered_client_fails_clearly_when_its_port_is_taken() {
    let s = Setup::new();
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    let fixture = fixture(OAuthOptions {
        dcr_supported: false,
        preregistered_clients: vec![RegisteredClient::public(
            "desk-client",
            vec![format!("http://127.0.0.1:{port}/callback")],
        )],
        ..OAuthOptions::default()
    })
    .await;
    let mut server = oauth_server("desk", &fixture.url());
    let oauth = server.oauth.as_mut().unwrap();
    oauth.client_id = Some("desk-client".into());
    oauth.callback_port = port;
    s.engine.add_server(server).unwrap();
    wait_for(&s.engine, "desk", LONG, needs_authorization).await;
    let error = authorization_error(
        s.engine
            .authorize("desk", Arc::new(Approve::default()))
            .await,
    );
    assert_eq!(error.code(), "port_in_use");
    assert!(error.to_string().contains(&port.to_string()), "{error}");
    drop(squatter);
    let status = s
        .engine
        .authorize("desk", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert!(is_connected(&status));
    assert_eq!(
        fixture.authorization_requests()[0].param("client_id"),
        Some("desk-client")
    );
    assert!(fixture.registrations().is_empty());
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_server_without_dynamic_registration_asks_for_a_client_id() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        dcr_supported: false,
        ..OAuthOptions::default()
    })
    .await;
    s.engine
        .add_server(oauth_server("x", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "x", LONG, needs_authorization).await;
    let error = authorization_error(s.engine.authorize("x", Arc::new(Approve::default())).await);
    assert_eq!(error.code(), "needs_client_id");
    assert!(fixture.authorization_requests().is_empty());
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_server_without_pkce_is_refused() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        pkce_advertised: false,
        ..OAuthOptions::default()
    })
    .await;
    s.engine
        .add_server(oauth_server("x", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "x", LONG, needs_authorization).await;
    let sink = Arc::new(Approve::default());
    let error = authorization_error(s.engine.authorize("x", sink.clone()).await);
    assert_eq!(error.code(), "pkce_unsupported");
    assert!(
        fixture.authorization_requests().is_empty(),
        "nothing was sent"
    );
    assert!(fixture.registrations().is_empty());
    assert!(
        sink.presented.lock().unwrap().is_empty(),
        "no browser was opened"
    );
    s.engine.shutdown().await;
}

#[tokio::test]
async fn hostile_metadata_is_refused_before_anything_is_sent_or_opened() {
    let cases: Vec<(&str, OAuthOptions, &str)> = vec![
        (
            "javascript endpoint",
            OAuthOptions {
                authorization_endpoint_override: Some("javascript:alert(1)".into()),
                ..OAuthOptions::default()
            },
            "unsafe_address",
        ),
        (
            "metadata service",
            OAuthOptions {
                token_endpoint_override: Some("http://169.254.169.254/latest/meta-data".into()),
                ..OAuthOptions::default()
            },
            "unsafe_address",
        ),
        (
            "private network",
            OAuthOptions {
                registration_endpoint_override: Some("https://10.0.0.1/register".into()),
                ..OAuthOptions::default()
            },
            "unsafe_address",
        ),
        (
            "plain http elsewhere",
            OAuthOptions {
                authorization_endpoint_override: Some("http://login.example.com/authorize".into()),
                ..OAuthOptions::default()
            },
            "unsafe_address",
        ),
        // IPv6 spellings of the metadata address, for every endpoint.
        (
            "authorization endpoint at a 6to4 metadata address",
            OAuthOptions {
                authorization_endpoint_override: Some(
                    "https://[2002:a9fe:a9fe::1]/authorize".into(),
                ),
                ..OAuthOptions::default()
            },
            "unsafe_address",
        ),
        (
            "token endpoint at an IPv4-compatible metadata address",
            OAuthOptions {
                token_endpoint_override: Some("https://[::a9fe:a9fe]/token".into()),
                ..OAuthOptions::default()
            },
            "unsafe_address",
        ),
        (
            "registration endpoint at a local-use NAT64 address",
            OAuthOptions {
                registration_endpoint_override: Some(
                    "https://[64:ff9b:1::a9fe:a9fe]/register".into(),
                ),
                ..OAuthOptions::default()
            },
            "unsafe_address",
        ),
        (
            "revocation endpoint at a SIIT metadata address",
            OAuthOptions {
                revocation_endpoint_override: Some("https://[::ffff:0:a9fe:a9fe]/revoke".into()),
                ..OAuthOptions::default()
            },
            "unsafe_address",
        ),
        (
            "issuer mismatch",
            {
                let port = free_port();
                OAuthOptions {
                    port,
                    issuer_override: Some(format!("http://127.0.0.1:{port}/other")),
                    prm_authorization_servers_override: Some(vec![format!(
                        "http://127.0.0.1:{port}"
                    )]),
                    ..OAuthOptions::default()
                }
            },
            "issuer_mismatch",
        ),
        (
            "resource mismatch",
            OAuthOptions {
                prm_resource_override: Some("https://evil.example.com/mcp".into()),
                ..OAuthOptions::default()
            },
            "resource_mismatch",
        ),
        (
            "oversized metadata",
            OAuthOptions {
                oversized_metadata: true,
                ..OAuthOptions::default()
            },
            "discovery_failed",
        ),
    ];
    for (name, options, code) in cases {
        let s = Setup::new();
        let fixture = fixture(options).await;
        s.engine
            .add_server(oauth_server("x", &fixture.url()))
            .unwrap();
        wait_for(&s.engine, "x", LONG, needs_authorization).await;
        let sink = Arc::new(Approve::default());
        let error = authorization_error(s.engine.authorize("x", sink.clone()).await);
        assert_eq!(error.code(), code, "{name}: {error}");
        assert!(
            fixture.authorization_requests().is_empty(),
            "{name}: authorization requested"
        );
        assert!(
            sink.presented.lock().unwrap().is_empty(),
            "{name}: a browser was opened"
        );
        assert!(
            fixture.token_requests().is_empty(),
            "{name}: a token request was sent"
        );
        s.engine.shutdown().await;
    }
}

#[tokio::test]
async fn a_registration_redirect_to_a_forbidden_address_is_not_followed() {
    let metadata = "169.254.169.254 is a cloud metadata address";
    // `{port}` is the fixture's own port.
    let cases = [
        // Spellings of the metadata address that were followed before.
        ("http://[::a9fe:a9fe]/register", metadata),
        ("http://[::ffff:0:a9fe:a9fe]/register", metadata),
        ("https://[2002:a9fe:a9fe::1]/register", metadata),
        ("https://[64:ff9b:1::a9fe:a9fe]/register", metadata),
        // 0.0.0.0 reaches this computer: were it followed, the registration
        // would arrive at the fixture a second time.
        (
            "http://0.0.0.0:{port}/register",
            "0.0.0.0 is an unspecified address",
        ),
    ];
    for (target, why) in cases {
        let port = free_port();
        let target = target.replace("{port}", &port.to_string());
        let s = Setup::new();
        let mut fixture = fixture(OAuthOptions {
            port,
            registration_redirect_to: Some(target.clone()),
            ..OAuthOptions::default()
        })
        .await;
        s.engine
            .add_server(oauth_server("x", &fixture.url()))
            .unwrap();
        wait_for(&s.engine, "x", LONG, needs_authorization).await;
        let sink = Arc::new(Approve::default());
        let error = authorization_error(s.engine.authorize("x", sink.clone()).await);
        assert_eq!(error.code(), "unsafe_address", "{target}: {error}");
        assert!(error.to_string().contains(why), "{target}: {error}");
        let registrations = fixture.registrations();
        assert_eq!(
            registrations.len(),
            1,
            "{target}: only the request answered with the redirect arrived: {registrations:?}"
        );
        assert_eq!(
            registrations[0].redirected_to.as_deref(),
            Some(target.as_str())
        );
        assert!(fixture.authorization_requests().is_empty(), "{target}");
        assert!(fixture.token_requests().is_empty(), "{target}");
        assert!(sink.presented.lock().unwrap().is_empty(), "{target}");
        s.engine.shutdown().await;
        fixture.stop().await;
    }
}

#[tokio::test]
async fn insufficient_scope_steps_up_with_the_union_of_scopes() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        tool_scopes: [("add".to_owned(), "mcp:write".to_owned())].into(),
        ..OAuthOptions::default()
    })
    .await;
    let sink = Arc::new(Approve::default());
    s.engine.set_consent_sink(sink.clone());
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine.authorize("demo", sink.clone()).await.unwrap();
    let result = s
        .engine
        .connections()
        .call_tool(
            "demo",
            "add",
            serde_json::json!({"a": 1, "b": 2}).as_object().cloned(),
        )
        .await
        .unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "3");
    let scopes: Vec<String> = fixture
        .authorization_requests()
        .iter()
        .map(|r| r.param("scope").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(scopes.len(), 2, "{scopes:?}");
    let second: Vec<&str> = scopes[1].split(' ').collect();
    assert!(
        second.contains(&"mcp:read") && second.contains(&"mcp:write"),
        "{scopes:?}"
    );
    assert!(is_connected(
        &s.engine.connections().status("demo").unwrap()
    ));
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_scope_demand_seen_without_a_browser_is_asked_for_by_the_next_authorization() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        tool_scopes: [("add".to_owned(), "mcp:write".to_owned())].into(),
        ..OAuthOptions::default()
    })
    .await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    // No consent sink (a CLI `call`): the refusal says what to do.
    let err = s
        .engine
        .connections()
        .call_tool(
            "demo",
            "add",
            serde_json::json!({"a": 1, "b": 2}).as_object().cloned(),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("needs more permissions") && err.contains("mcp:write"),
        "{err}"
    );
    assert_eq!(err.matches("more permissions").count(), 1, "{err}");
    s.engine.shutdown().await;

    // Another process authorizes: it asks for what the server demanded.
    let again = s.reopen();
    again.start();
    wait_for(&again, "demo", LONG, is_connected).await;
    again
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    let last = fixture.authorization_requests().pop().unwrap();
    let scopes: Vec<&str> = last.param("scope").unwrap_or_default().split(' ').collect();
    assert!(
        scopes.contains(&"mcp:read") && scopes.contains(&"mcp:write"),
        "{scopes:?}"
    );
    let result = again
        .connections()
        .call_tool(
            "demo",
            "add",
            serde_json::json!({"a": 1, "b": 2}).as_object().cloned(),
        )
        .await
        .unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "3");
    again.shutdown().await;
}

#[tokio::test]
async fn a_token_endpoint_that_cannot_be_reached_is_named_with_the_cause() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        // Nothing listens on the discard port.
        token_endpoint_override: Some("http://127.0.0.1:9/token".into()),
        ..OAuthOptions::default()
    })
    .await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    let error = authorization_error(
        s.engine
            .authorize("demo", Arc::new(Approve::default()))
            .await,
    )
    .to_string();
    assert!(
        error.contains("http://127.0.0.1:9/token") && error.to_lowercase().contains("connect"),
        "{error}"
    );
    s.engine.shutdown().await;
}

#[tokio::test]
async fn one_authorization_of_a_server_at_a_time_across_processes() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    // The app waits for the browser...
    let pending = s
        .engine
        .start_authorization("demo", Arc::new(Ignore))
        .await
        .unwrap();
    // ...while a command in another process tries too.
    let other = s.reopen();
    other.start();
    let refused = authorization_error(other.authorize("demo", Arc::new(Approve::default())).await);
    assert_eq!(
        refused,
        AuthorizationError::InProgressElsewhere,
        "{refused}"
    );
    // Once the first is cancelled, the other may.
    assert!(s.engine.cancel_authorization("demo"));
    let _ = pending.done.await;
    let status = other
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert!(is_connected(&status), "{status:?}");
    other.shutdown().await;
    s.engine.shutdown().await;
}

#[tokio::test]
async fn signing_out_revokes_and_forgets() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    s.engine.sign_out("demo").await.unwrap();
    let revoked: Vec<_> = fixture
        .revocations()
        .into_iter()
        .filter_map(|r| r.revoked)
        .collect();
    assert!(
        revoked.contains(&gatehouse_fixture::oauth::TokenKind::Refresh),
        "{revoked:?}"
    );
    match wait_for(&s.engine, "demo", LONG, needs_authorization).await {
        ServerStatus::NeedsAuthorization { reason } => assert_eq!(reason, "signed out"),
        _ => unreachable!(),
    }
    assert!(s.engine.servers()[0].oauth.is_none(), "no grant is left");
    s.engine.shutdown().await;
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "demo", LONG, needs_authorization).await;
    restarted.shutdown().await;
}

#[tokio::test]
async fn the_resource_parameter_can_be_turned_off() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    let mut server = oauth_server("entra", &fixture.url());
    server.oauth.as_mut().unwrap().send_resource_parameter = false;
    s.engine.add_server(server).unwrap();
    wait_for(&s.engine, "entra", LONG, needs_authorization).await;
    s.engine
        .authorize("entra", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert_eq!(fixture.authorization_requests()[0].param("resource"), None);
    assert!(
        fixture
            .token_requests()
            .iter()
            .all(|t| t.param("resource").is_none())
    );
    s.engine.shutdown().await;
}

#[tokio::test]
async fn tokens_kept_in_memory_are_not_written_to_the_vault() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    let mut server = oauth_server("ephemeral", &fixture.url());
    server.oauth.as_mut().unwrap().token_storage = gatehouse_core::config::TokenStorage::Memory;
    s.engine.add_server(server).unwrap();
    wait_for(&s.engine, "ephemeral", LONG, needs_authorization).await;
    s.engine
        .authorize("ephemeral", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert!(
        !s.dir.path().join("data/vault.age").exists(),
        "nothing was persisted"
    );
    s.engine.shutdown().await;
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "ephemeral", LONG, needs_authorization).await;
    restarted.shutdown().await;
}

#[tokio::test]
async fn revoked_tokens_mid_session_lead_to_needs_authorization() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
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
        .connections()
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
async fn a_callback_from_another_issuer_is_refused() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        iss_in_redirect: gatehouse_fixture::IssMode::Wrong,
        ..OAuthOptions::default()
    })
    .await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    let error = authorization_error(
        s.engine
            .authorize("demo", Arc::new(Approve::default()))
            .await,
    );
    assert_eq!(error.code(), "issuer_mismatch", "{error}");
    assert!(
        fixture
            .token_requests()
            .iter()
            .all(|t| t.grant_type.as_deref() != Some("authorization_code")),
        "the code was not exchanged"
    );
    s.engine.shutdown().await;
}

#[tokio::test]
async fn startup_connects_plain_servers_first_and_then_oauth_servers_without_a_browser() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("oauth", &fixture.url()))
        .unwrap();
    s.engine
        .add_server(oauth_server("unauthorized", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "oauth", LONG, needs_authorization).await;
    s.engine
        .authorize("oauth", Arc::new(Approve::default()))
        .await
        .unwrap();
    let hung = gatehouse_fixture::Blackhole::start().await.unwrap();
    let plain = gatehouse_fixture::McpFixture::start(Default::default())
        .await
        .unwrap();
    let mut slow = ServerConfig::new("hung", hung.url());
    slow.timeout = Some(5);
    s.engine.add_server(slow).unwrap();
    s.engine
        .add_server(ServerConfig::new("plain", plain.url()))
        .unwrap();
    s.engine.shutdown().await;

    let restarted = s.reopen();
    let started = std::time::Instant::now();
    let before = fixture.mcp_requests().len();
    restarted.start();
    wait_for(&restarted, "plain", LONG, is_connected).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "plain servers go first, at once"
    );
    assert_eq!(
        fixture.mcp_requests().len(),
        before,
        "OAuth servers wait for phase one"
    );
    wait_for(&restarted, "oauth", LONG, is_connected).await;
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "phase two began once the hung server had timed out"
    );
    wait_for(&restarted, "unauthorized", LONG, needs_authorization).await;
    assert_eq!(
        fixture.authorization_requests().len(),
        1,
        "no browser at startup"
    );
    restarted.shutdown().await;
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

#[tokio::test]
async fn renaming_a_server_keeps_its_authorization() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    let mut renamed = s.engine.server_config("demo").unwrap();
    renamed.id = "linear-work".into();
    s.engine.update_server("demo", renamed).unwrap();
    wait_for(&s.engine, "linear-work", LONG, is_connected).await;
    assert_eq!(fixture.authorization_requests().len(), 1);
    assert!(s.engine.connections().status("demo").is_none());
    s.engine.shutdown().await;
}

#[tokio::test]
async fn tokens_are_never_sent_to_another_address_or_inherited_by_a_new_server() {
    let s = Setup::new();
    let first = fixture(OAuthOptions::default()).await;
    let second = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &first.url()))
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    let issued: Vec<String> = first.issued_tokens().into_iter().map(|t| t.token).collect();
    let carries_a_first_token = |requests: Vec<gatehouse_fixture::RecordedRequest>| {
        requests.iter().any(|r| {
            r.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| issued.iter().any(|t| v.contains(t.as_str())))
        })
    };

    // The address edited by hand in the config file, Gatehouse not running.
    s.engine.shutdown().await;
    let path = s.dir.path().join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(&first.url(), &second.url())).unwrap();
    let reopened = s.reopen();
    reopened.start();
    wait_for(&reopened, "demo", LONG, needs_authorization).await;
    assert!(
        !carries_a_first_token(second.mcp_requests()),
        "a token issued for the first server went to the second"
    );

    // Removed and added again under the same id: a new server, no tokens.
    reopened.remove_server("demo").await.unwrap();
    reopened
        .add_server(oauth_server("demo", &first.url()))
        .unwrap();
    wait_for(&reopened, "demo", LONG, needs_authorization).await;

    // Authorized again, then moved to another address in the editor.
    reopened
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    let mut moved = reopened.server_config("demo").unwrap();
    moved.url = second.url();
    reopened.update_server("demo", moved).unwrap();
    wait_for(&reopened, "demo", LONG, needs_authorization).await;
    let issued_now: Vec<String> = first.issued_tokens().into_iter().map(|t| t.token).collect();
    assert!(
        !second.mcp_requests().iter().any(|r| r
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| issued_now.iter().any(|t| v.contains(t.as_str())))),
        "a token issued for the first server went to the second after an edit"
    );
    reopened.shutdown().await;
}

/// A person who takes their time in the browser, then approves.
struct SlowApprove(Duration);

#[async_trait::async_trait]
impl gatehouse_core::ConsentSink for SlowApprove {
    async fn present(&self, _server: &str, url: &str) -> Result<(), String> {
        tokio::time::sleep(self.0).await;
        let callback = gatehouse_fixture::follow_consent(url).await?;
        reqwest::get(&callback).await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[tokio::test]
async fn authorizing_again_while_stored_tokens_connect_ends_connected() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    s.engine.shutdown().await;

    // A new process authorizes again at once; its stored tokens connect
    // while the person is still in the browser.
    let again = s.reopen();
    again.start();
    let status = tokio::time::timeout(
        Duration::from_secs(15),
        again.authorize("demo", Arc::new(SlowApprove(Duration::from_secs(1)))),
    )
    .await
    .expect("the authorization ended promptly")
    .unwrap();
    assert!(
        matches!(status, ServerStatus::Connected { .. }),
        "{status:?}"
    );
    again.shutdown().await;
}

#[tokio::test]
async fn a_locked_vault_holds_servers_until_it_is_unlocked() {
    use gatehouse_core::events::ErrorKind;
    use gatehouse_core::paths::Paths;
    use gatehouse_core::vault::{MemoryKeyStore, Vault};
    use secrecy::SecretString;

    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("config.toml"), dir.path().join("data"));
    let open = |passphrase: Option<&str>| {
        let vault = Vault::new(
            paths.vault_file(),
            Arc::new(MemoryKeyStore::default()),
            passphrase.map(SecretString::from),
        );
        gatehouse_core::Engine::with_vault(paths.clone(), vault).unwrap()
    };
    let fixture = fixture(OAuthOptions::default()).await;
    let header = gatehouse_fixture::McpFixture::start(gatehouse_fixture::McpOptions {
        access: gatehouse_fixture::Access::Bearer("tok".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let engine = open(Some("a long passphrase"));
    engine
        .set_secret("TOKEN", &SecretString::from("tok"))
        .unwrap();
    let mut plain = ServerConfig::new("plain", header.url());
    plain
        .headers
        .insert("Authorization".into(), "Bearer ${TOKEN}".into());
    engine.add_server(plain).unwrap();
    engine
        .add_server(oauth_server("oauth", &fixture.url()))
        .unwrap();
    wait_for(&engine, "oauth", LONG, needs_authorization).await;
    engine
        .authorize("oauth", Arc::new(Approve::default()))
        .await
        .unwrap();
    engine.shutdown().await;

    // The app starts without the passphrase: both servers wait for it.
    let locked = open(None);
    locked.start();
    for id in ["plain", "oauth"] {
        match wait_for(&locked, id, LONG, |s| {
            matches!(s, ServerStatus::Error { .. })
        })
        .await
        {
            ServerStatus::Error { kind, message } => {
                assert_eq!(kind, ErrorKind::Vault, "{id}: {message}");
                assert!(message.contains("passphrase"), "{id}: {message}");
            }
            _ => unreachable!(),
        }
    }
    let wrong = locked.use_passphrase(SecretString::from("not it"));
    assert_eq!(wrong.unwrap_err().code(), "vault_wrong_passphrase");
    locked
        .use_passphrase(SecretString::from("a long passphrase"))
        .unwrap();
    wait_for(&locked, "plain", LONG, is_connected).await;
    wait_for(&locked, "oauth", LONG, is_connected).await;
    assert_eq!(fixture.authorization_requests().len(), 1);
    locked.shutdown().await;
}
