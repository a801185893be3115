//! The authorization-server mix-up: an MCP server that, after a grant from
//! authorization server A, names authorization server B (in its protected
//! resource metadata and so in every 401 and 403 challenge). Whatever the
//! person does — ignore it, start and cancel an authorization, fail one,
//! sign out, remove the server — none of A's tokens, refresh tokens or
//! client secret may reach B; a successful switch uses B's grant and revokes
//! A's at A only. Real authorization servers on 127.0.0.1 (the in-repo
//! fixture), each recording every request it receives.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::mixup::{
    LONG, assert_b_received_nothing, assert_revoked_at, authorized, authorized_with_client,
    call_add, knows, oauth_server, shared_client, start,
};
use common::{
    Approve, Ignore, Setup, call_echo, free_port, is_connected, needs_authorization, wait_for,
};
use gatehouse_core::{AuthorizationError, Error, ErrorCode};
use gatehouse_fixture::{ClientAuthMethod, ConsentMode, OAuthFixture, OAuthOptions};

/// A and B (see [`common::mixup::start`]).
async fn servers(a: OAuthOptions, b: OAuthOptions) -> (OAuthFixture, OAuthFixture) {
    (start(a).await, start(b).await)
}

/// Starts an authorization the person then abandons; it went to B.
async fn start_and_cancel(s: &Setup, b: &OAuthFixture) {
    let ticket = s
        .engine
        .start_authorization("demo", Arc::new(Ignore))
        .await
        .unwrap();
    assert!(ticket.url.starts_with(&b.issuer()), "{}", ticket.url);
    assert!(s.engine.cancel_authorization("demo"));
    let result = tokio::time::timeout(Duration::from_secs(5), ticket.done)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        result.unwrap_err().code(),
        ErrorCode::AuthorizationCancelled
    );
}

#[tokio::test]
async fn a_step_up_naming_another_authorization_server_is_not_followed_and_sign_out_revokes_at_the_first()
 {
    let s = Setup::new();
    let (a, b) = servers(OAuthOptions::default(), OAuthOptions::default()).await;
    let sink = Arc::new(Approve::default());
    authorized(&s, oauth_server(&a.url()), sink.clone()).await;

    a.name_authorization_servers(Some(vec![b.issuer()]));
    // The 403 step-up names B: Gatehouse tells the person instead of
    // opening B's consent page on its own.
    let refused = call_add(&s).await.unwrap_err();
    assert!(refused.contains(&b.issuer()), "{refused}");
    assert!(
        refused.contains("another authorization server"),
        "{refused}"
    );
    assert_eq!(sink.presented.lock().unwrap().len(), 1, "only A's consent");
    assert!(b.authorization_requests().is_empty());
    assert!(b.registrations().is_empty());
    call_echo(&s.engine, "demo").await;

    // The person does start it (at B), then cancels; A's grant still works.
    start_and_cancel(&s, &b).await;
    call_echo(&s.engine, "demo").await;

    s.engine.sign_out("demo").await.unwrap();
    assert_revoked_at(&a);
    assert_b_received_nothing(&b);
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_401_naming_another_authorization_server_then_cancel_then_sign_out_revokes_at_the_first()
{
    let s = Setup::new();
    let (a, b) = servers(OAuthOptions::default(), OAuthOptions::default()).await;
    authorized(&s, oauth_server(&a.url()), Arc::new(Approve::default())).await;

    // The resource moves to B and refuses A's tokens.
    a.name_authorization_servers(Some(vec![b.issuer()]));
    a.accept_tokens_from(Some(&[&b]));
    let refused = s.engine.call_tool("demo", "echo", None).await;
    assert!(refused.is_err());
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;

    start_and_cancel(&s, &b).await;
    s.engine.sign_out("demo").await.unwrap();
    assert_revoked_at(&a);
    assert_b_received_nothing(&b);
    s.engine.shutdown().await;
}

#[tokio::test]
async fn after_a_failed_switch_a_401_refreshes_at_the_first_server_with_the_preregistered_client() {
    let s = Setup::new();
    let port = free_port();
    let shared = shared_client(port);
    let (a, b) = servers(knows(&shared), knows(&shared)).await;
    authorized_with_client(&s, &a, port).await;

    a.name_authorization_servers(Some(vec![b.issuer()]));
    // The step-up is refused; the person then tries B, and is told the
    // configured client is A's: it is not presented to B at all.
    assert!(call_add(&s).await.is_err());
    let refused = s
        .engine
        .authorize("demo", Arc::new(Approve::default()))
        .await;
    assert!(
        matches!(
            refused,
            Err(Error::Authorization(
                AuthorizationError::ClientOfAnotherServer { .. }
            ))
        ),
        "{refused:?}"
    );
    assert!(b.authorization_requests().is_empty());

    // A's access token is no longer accepted: rmcp refreshes silently and
    // retries — at A, with the client secret in HTTP Basic.
    let refreshes_before = refreshes(&a);
    a.expire_access_tokens();
    call_echo(&s.engine, "demo").await;
    let refreshed: Vec<_> = a
        .token_requests()
        .into_iter()
        .filter(|t| t.grant_type.as_deref() == Some("refresh_token"))
        .collect();
    assert!(refreshed.len() > refreshes_before, "{refreshed:?}");
    assert_eq!(
        refreshed.last().unwrap().client_auth,
        Some(ClientAuthMethod::ClientSecretBasic)
    );
    assert_eq!(refreshed.last().unwrap().status, 200);
    assert_b_received_nothing(&b);
    s.engine.shutdown().await;
}

#[tokio::test]
async fn after_a_failed_switch_the_background_refresh_goes_to_the_first_server() {
    let s = Setup::new();
    let (a, b) = servers(
        OAuthOptions {
            access_token_ttl: Duration::from_secs(3),
            ..OAuthOptions::default()
        },
        OAuthOptions::default(),
    )
    .await;
    authorized(&s, oauth_server(&a.url()), Arc::new(Approve::default())).await;
    a.name_authorization_servers(Some(vec![b.issuer()]));
    b.set_consent_mode(ConsentMode::Deny);
    let declined = s
        .engine
        .authorize("demo", Arc::new(Approve::default()))
        .await;
    assert!(declined.is_err(), "{declined:?}");

    // 80 % of three seconds later the token is refreshed ahead of expiry.
    let deadline = Instant::now() + LONG;
    while refreshes(&a) == 0 {
        assert!(Instant::now() < deadline, "no background refresh at A");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    call_echo(&s.engine, "demo").await;
    assert_b_received_nothing(&b);
    s.engine.shutdown().await;
}

#[tokio::test]
async fn removing_the_server_after_a_cancelled_switch_revokes_at_the_first_only() {
    let s = Setup::new();
    let (a, b) = servers(OAuthOptions::default(), OAuthOptions::default()).await;
    authorized(&s, oauth_server(&a.url()), Arc::new(Approve::default())).await;
    a.name_authorization_servers(Some(vec![b.issuer()]));
    start_and_cancel(&s, &b).await;

    s.engine.remove_server("demo").await.unwrap();
    assert_revoked_at(&a);
    assert_b_received_nothing(&b);
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_successful_switch_uses_the_new_grant_and_revokes_the_old_one_at_the_old_server_only() {
    let s = Setup::new();
    let (a, b) = servers(OAuthOptions::default(), OAuthOptions::default()).await;
    authorized(&s, oauth_server(&a.url()), Arc::new(Approve::default())).await;

    a.name_authorization_servers(Some(vec![b.issuer()]));
    a.accept_tokens_from(Some(&[&b]));
    assert!(s.engine.call_tool("demo", "echo", None).await.is_err());
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;

    let status = s
        .engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert!(is_connected(&status), "{status:?}");
    call_echo(&s.engine, "demo").await;
    // B registered its own client (SEP-2352) and exchanged one code; it never
    // saw a refresh or a revocation.
    assert_eq!(b.registrations().len(), 1);
    assert!(
        b.token_requests()
            .iter()
            .all(|t| t.grant_type.as_deref() == Some("authorization_code")),
        "{:?}",
        b.token_requests()
    );
    assert!(b.revocations().is_empty());
    assert_revoked_at(&a);
    let view = s.engine.oauth_view("demo").unwrap();
    assert_eq!(view.issuer.as_deref(), Some(b.issuer().as_str()));
    s.engine.shutdown().await;

    // After a restart only B's grant is there, and it connects.
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "demo", LONG, is_connected).await;
    call_echo(&restarted, "demo").await;
    assert!(b.revocations().is_empty());

    // The server moves back to A (SEP-2352 both ways): authorized at A
    // again, with a client registered there anew (the first went with the
    // grant it was retired with); B's grant is revoked at B and none of it
    // reaches A.
    assert_eq!(a.registrations().len(), 1);
    a.name_authorization_servers(None);
    a.accept_tokens_from(None);
    assert!(restarted.call_tool("demo", "echo", None).await.is_err());
    wait_for(&restarted, "demo", LONG, needs_authorization).await;
    let status = restarted
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert!(is_connected(&status), "{status:?}");
    call_echo(&restarted, "demo").await;
    assert_eq!(a.registrations().len(), 2);
    assert_eq!(b.registrations().len(), 1);
    let view = restarted.oauth_view("demo").unwrap();
    assert_eq!(view.issuer.as_deref(), Some(a.issuer().as_str()));
    restarted.shutdown().await;
    assert_revoked_at(&b);
    let b_tokens: Vec<String> = b.issued_tokens().into_iter().map(|t| t.token).collect();
    for request in a.token_requests() {
        let sent = format!("{:?}", request.params);
        assert!(
            b_tokens.iter().all(|t| !sent.contains(t.as_str())),
            "{sent}"
        );
    }
}

fn refreshes(fixture: &OAuthFixture) -> usize {
    fixture
        .token_requests()
        .iter()
        .filter(|t| t.grant_type.as_deref() == Some("refresh_token"))
        .count()
}

#[tokio::test]
async fn signing_out_while_an_authorization_waits_ends_it_and_returns_at_once() {
    let s = Setup::new();
    let (a, b) = servers(OAuthOptions::default(), OAuthOptions::default()).await;
    authorized(&s, oauth_server(&a.url()), Arc::new(Approve::default())).await;
    a.name_authorization_servers(Some(vec![b.issuer()]));
    let ticket = s
        .engine
        .start_authorization("demo", Arc::new(Ignore))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), s.engine.sign_out("demo"))
        .await
        .expect("sign-out waits for no browser")
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), ticket.done)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        result.unwrap_err().code(),
        ErrorCode::AuthorizationCancelled
    );
    assert_revoked_at(&a);
    assert_b_received_nothing(&b);
    s.engine.shutdown().await;
}
