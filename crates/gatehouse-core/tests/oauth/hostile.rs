//! Awkward and hostile servers: no PKCE, metadata pointing elsewhere,
//! forbidden redirects, unreachable endpoints, and tokens that must never
//! reach another address.

use super::*;

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
        .await
        .unwrap();
    wait_for(&s.engine, "x", LONG, needs_authorization).await;
    let sink = Arc::new(Approve::default());
    let error = authorization_error(s.engine.authorize("x", sink.clone()).await);
    assert_eq!(error.code(), ErrorCode::PkceUnsupported);
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
    let cases: Vec<(&str, OAuthOptions, ErrorCode)> = vec![
        (
            "javascript endpoint",
            OAuthOptions {
                authorization_endpoint_override: Some("javascript:alert(1)".into()),
                ..OAuthOptions::default()
            },
            ErrorCode::UnsafeAddress,
        ),
        (
            "metadata service",
            OAuthOptions {
                token_endpoint_override: Some("http://169.254.169.254/latest/meta-data".into()),
                ..OAuthOptions::default()
            },
            ErrorCode::UnsafeAddress,
        ),
        (
            "private network",
            OAuthOptions {
                registration_endpoint_override: Some("https://10.0.0.1/register".into()),
                ..OAuthOptions::default()
            },
            ErrorCode::UnsafeAddress,
        ),
        (
            "plain http elsewhere",
            OAuthOptions {
                authorization_endpoint_override: Some("http://login.example.com/authorize".into()),
                ..OAuthOptions::default()
            },
            ErrorCode::UnsafeAddress,
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
            ErrorCode::UnsafeAddress,
        ),
        (
            "token endpoint at an IPv4-compatible metadata address",
            OAuthOptions {
                token_endpoint_override: Some("https://[::a9fe:a9fe]/token".into()),
                ..OAuthOptions::default()
            },
            ErrorCode::UnsafeAddress,
        ),
        (
            "registration endpoint at a local-use NAT64 address",
            OAuthOptions {
                registration_endpoint_override: Some(
                    "https://[64:ff9b:1::a9fe:a9fe]/register".into(),
                ),
                ..OAuthOptions::default()
            },
            ErrorCode::UnsafeAddress,
        ),
        (
            "revocation endpoint at a SIIT metadata address",
            OAuthOptions {
                revocation_endpoint_override: Some("https://[::ffff:0:a9fe:a9fe]/revoke".into()),
                ..OAuthOptions::default()
            },
            ErrorCode::UnsafeAddress,
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
            ErrorCode::IssuerMismatch,
        ),
        (
            "resource mismatch",
            OAuthOptions {
                prm_resource_override: Some("https://evil.example.com/mcp".into()),
                ..OAuthOptions::default()
            },
            ErrorCode::ResourceMismatch,
        ),
        (
            "oversized metadata",
            OAuthOptions {
                oversized_metadata: true,
                ..OAuthOptions::default()
            },
            ErrorCode::DiscoveryFailed,
        ),
    ];
    for (name, options, code) in cases {
        let s = Setup::new();
        let fixture = fixture(options).await;
        s.engine
            .add_server(oauth_server("x", &fixture.url()))
            .await
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
            .await
            .unwrap();
        wait_for(&s.engine, "x", LONG, needs_authorization).await;
        let sink = Arc::new(Approve::default());
        let error = authorization_error(s.engine.authorize("x", sink.clone()).await);
        assert_eq!(error.code(), ErrorCode::UnsafeAddress, "{target}: {error}");
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
        .await
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
async fn tokens_are_never_sent_to_another_address_or_inherited_by_a_new_server() {
    let s = Setup::new();
    let first = fixture(OAuthOptions::default()).await;
    let second = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &first.url()))
        .await
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
        .await
        .unwrap();
    wait_for(&reopened, "demo", LONG, needs_authorization).await;

    // Authorized again, then moved to another address in the editor.
    reopened
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    let mut moved = reopened.server_config("demo").unwrap();
    moved.url = second.url();
    reopened.update_server("demo", moved).await.unwrap();
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
