//! Client registration: kept per issuer and reused, pre-registered clients
//! and their fixed ports, servers without dynamic registration.

use super::*;

#[tokio::test]
async fn two_servers_on_one_authorization_server_authorize_at_once_and_keep_separate_tokens() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("work", &fixture.url()))
        .await
        .unwrap();
    s.engine
        .add_server(oauth_server("personal", &fixture.url()))
        .await
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
            .await
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
    s.engine.add_server(server).await.unwrap();
    wait_for(&s.engine, "desk", LONG, needs_authorization).await;
    let error = authorization_error(
        s.engine
            .authorize("desk", Arc::new(Approve::default()))
            .await,
    );
    assert_eq!(error.code(), ErrorCode::PortInUse);
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
        .await
        .unwrap();
    wait_for(&s.engine, "x", LONG, needs_authorization).await;
    let error = authorization_error(s.engine.authorize("x", Arc::new(Approve::default())).await);
    assert_eq!(error.code(), ErrorCode::NeedsClientId);
    assert!(fixture.authorization_requests().is_empty());
    s.engine.shutdown().await;
}

/// The authorization server registers a confidential client although a
/// public one was asked for, and names how it must send its secret
/// (`client_secret_post`) while its metadata lists HTTP Basic as well: the
/// code exchange, and the refresh after a restart, send the secret that
/// way (the server refuses Basic for this client).
#[tokio::test]
async fn the_registration_answer_decides_how_the_client_secret_is_sent() {
    use gatehouse_fixture::ClientAuthMethod;
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        registered_auth_method: Some(ClientAuthMethod::ClientSecretPost),
        ..OAuthOptions::default()
    })
    .await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    let status = s
        .engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert!(is_connected(&status), "{status:?}");
    s.engine.shutdown().await;

    fixture.expire_access_tokens();
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "demo", LONG, is_connected).await;
    call_echo(&restarted, "demo").await;
    // Signing out revokes the tokens, authenticated the same way.
    assert_eq!(restarted.sign_out("demo").await.unwrap(), None);
    restarted.shutdown().await;
    let revoked: Vec<_> = fixture
        .revocations()
        .into_iter()
        .map(|r| r.revoked)
        .collect();
    assert_eq!(
        revoked,
        vec![
            Some(gatehouse_fixture::oauth::TokenKind::Refresh),
            Some(gatehouse_fixture::oauth::TokenKind::Access),
        ]
    );
    let requests = fixture.token_requests();
    let grants: Vec<_> = requests
        .iter()
        .map(|r| {
            (
                r.grant_type.as_deref().unwrap_or_default(),
                r.client_auth,
                r.status,
            )
        })
        .collect();
    assert_eq!(
        grants,
        vec![
            (
                "authorization_code",
                Some(ClientAuthMethod::ClientSecretPost),
                200
            ),
            (
                "refresh_token",
                Some(ClientAuthMethod::ClientSecretPost),
                200
            ),
        ]
    );
    assert_eq!(fixture.authorization_requests().len(), 1);
}
