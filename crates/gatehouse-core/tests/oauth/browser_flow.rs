//! The browser flow from start to end: consent, denial, a browser that never
//! comes back, cancelling, a callback from elsewhere, and authorizing while
//! stored tokens connect.

use super::*;

#[tokio::test]
async fn full_flow_then_a_restart_reuses_the_tokens_without_a_browser() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    let events = Recorder::start(&s.engine);
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
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
        .call_tool(
            "demo",
            "echo",
            serde_json::json!({"text": "hi"}).as_object().cloned(),
        )
        .await
        .unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "hi");
    let view = s.engine.servers().await.remove(0);
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
        .await
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    let error = authorization_error(
        s.engine
            .authorize("demo", Arc::new(Approve::default()))
            .await,
    );
    assert_eq!(error.code(), ErrorCode::AccessDenied);
    assert!(error.to_string().contains("declined"), "{error}");
    match s.engine.status("demo").unwrap() {
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
    s.engine.add_server(server).await.unwrap();
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
    assert_eq!(result.unwrap_err().code(), ErrorCode::AuthorizationTimeout);
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "no listener is left bound"
    );
    assert!(needs_authorization(&s.engine.status("demo").unwrap()));
    s.engine.shutdown().await;
}

#[tokio::test]
async fn cancelling_stops_waiting() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
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
    assert_eq!(
        result.unwrap_err().code(),
        ErrorCode::AuthorizationCancelled
    );
    assert_eq!(s.engine.pending_authorization_url("demo"), None);
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
        .await
        .unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    let error = authorization_error(
        s.engine
            .authorize("demo", Arc::new(Approve::default()))
            .await,
    );
    assert_eq!(error.code(), ErrorCode::IssuerMismatch, "{error}");
    assert!(
        fixture
            .token_requests()
            .iter()
            .all(|t| t.grant_type.as_deref() != Some("authorization_code")),
        "the code was not exchanged"
    );
    s.engine.shutdown().await;
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
        .await
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
