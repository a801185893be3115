//! Attacks on the mix-up defence (tests/mixup.rs) from outside: a hostile
//! MCP server, after a grant from authorization server A, tries to get
//! A's credentials — or the person's pre-registered client secret — sent
//! to authorization server B. Real authorization servers on 127.0.0.1.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::mixup::{
    LONG, assert_b_received_nothing, authorized, authorized_with_client, call_add, knows,
    oauth_server, shared_client, start,
};
use common::{Approve, Setup, call_echo, free_port, is_connected, needs_authorization, wait_for};
use gatehouse_core::{AuthorizationError, Error, ErrorCode};
use gatehouse_fixture::oauth::{TokenKind, token_hash};
use gatehouse_fixture::{IssMode, OAuthFixture, OAuthOptions};

/// Served by B besides its ordinary metadata locations; a URL from which
/// rmcp derives no expected issuer.
const ALIAS: &str = "/as/.well-known/oauth-authorization-server";

/// B serves metadata that claims to be A (`issuer` = A's issuer, endpoints
/// B's) at a location that implies no issuer, and the MCP server's 403
/// step-up names that location. If the claim were believed, the step-up
/// would look like "more scopes from A" and be followed without the person,
/// with A's client and its secret, at B's token endpoint.
#[tokio::test]
async fn metadata_that_claims_the_first_issuer_from_another_origin_is_not_believed() {
    let s = Setup::new();
    let port = free_port();
    let client = shared_client(port);
    let a = start(knows(&client)).await;
    let b = start(OAuthOptions {
        issuer_override: Some(a.issuer()),
        metadata_alias_path: Some(ALIAS.into()),
        ..knows(&client)
    })
    .await;
    authorized_with_client(&s, &a, port).await;

    a.name_authorization_servers(Some(vec![b.metadata_alias_url().unwrap()]));
    let refused = call_add(&s).await;
    let refused = refused.unwrap_err();
    assert!(refused.contains("issuer"), "{refused}");
    assert_b_received_nothing(&b);
    assert!(
        b.authorization_requests().is_empty(),
        "B's consent page was opened on a step-up: {:?}",
        b.authorization_requests()
    );
    call_echo(&s.engine, "demo").await;
    s.engine.sign_out("demo").await.unwrap();
    assert_b_received_nothing(&b);
    s.engine.shutdown().await;
}

/// The server moves to B; the person is told and clicks Authorize. The
/// pre-registered client (and its secret) was issued by A — the grant says
/// so — and must not be presented to B, whose consent the person may well
/// give.
#[tokio::test]
async fn a_preregistered_client_secret_is_not_sent_to_another_authorization_server() {
    let s = Setup::new();
    let port = free_port();
    let client = shared_client(port);
    let a = start(knows(&client)).await;
    let b = start(knows(&client)).await;
    authorized_with_client(&s, &a, port).await;

    a.name_authorization_servers(Some(vec![b.issuer()]));
    a.accept_tokens_from(Some(&[&b]));
    assert!(s.engine.call_tool("demo", "echo", None).await.is_err());
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    let tried = s
        .engine
        .authorize("demo", Arc::new(Approve::default()))
        .await;
    assert!(
        matches!(
            tried,
            Err(Error::Authorization(
                AuthorizationError::ClientOfAnotherServer { .. }
            ))
        ),
        "{tried:?}"
    );
    assert_b_received_nothing(&b);
    s.engine.shutdown().await;
}

/// A's own metadata document (same issuer, served by A) names B's token and
/// revocation endpoints after the grant. The grant's refresh token and
/// revocation keep to the endpoints recorded with it, and a step-up is not
/// followed on its own to an authorization server whose token endpoint is
/// no longer the one the client's secret was used with.
#[tokio::test]
async fn metadata_of_the_same_issuer_that_moves_its_endpoints_after_the_grant() {
    let s = Setup::new();
    let port = free_port();
    let client = shared_client(port);
    let a = start(knows(&client)).await;
    let b = start(knows(&client)).await;
    authorized_with_client(&s, &a, port).await;
    a.move_endpoints_to(Some(&b));

    // A 403 step-up: discovery finds A, but with B's token endpoint.
    let refused = call_add(&s).await;
    assert!(refused.is_err(), "{refused:?}");
    assert_b_received_nothing(&b);

    // rmcp's silent refresh, then a reconnect after a restart: A's
    // recorded endpoints.
    a.expire_access_tokens();
    call_echo(&s.engine, "demo").await;
    s.engine.shutdown().await;
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "demo", LONG, is_connected).await;
    a.expire_access_tokens();
    call_echo(&restarted, "demo").await;
    restarted.sign_out("demo").await.unwrap();
    restarted.shutdown().await;
    assert_b_received_nothing(&b);
    assert!(
        a.revocations().iter().any(|r| r.revoked.is_some()),
        "{:?}",
        a.revocations()
    );
}

/// Every refresh token and every token to revoke that `fixture` was sent is
/// one it issued.
fn assert_only_own_tokens(fixture: &OAuthFixture) {
    let issued: Vec<String> = fixture
        .issued_tokens()
        .iter()
        .map(|t| token_hash(&t.token))
        .collect();
    for request in fixture.token_requests() {
        if let Some(hash) = &request.refresh_token_hash {
            assert!(issued.contains(hash), "a foreign refresh token arrived");
        }
    }
    for revocation in fixture.revocations() {
        if let Some(hash) = &revocation.token_hash {
            assert!(issued.contains(hash), "a foreign token was revoked here");
        }
    }
}

/// Two processes over one vault (the app and the CLI): one holds A's
/// grant, the other switches the server to B. The first must pick up B's
/// grant with B's recorded endpoints and client, and never send A's or B's
/// tokens to the other server.
#[tokio::test]
async fn another_process_switching_to_the_second_server_sends_nothing_across() {
    let s = Setup::new();
    let a = start(OAuthOptions {
        access_token_ttl: Duration::from_secs(4),
        ..OAuthOptions::default()
    })
    .await;
    let b = start(OAuthOptions {
        access_token_ttl: Duration::from_secs(4),
        ..OAuthOptions::default()
    })
    .await;
    authorized(&s, oauth_server(&a.url()), Arc::new(Approve::default())).await;

    let other = s.reopen();
    other.start();
    wait_for(&other, "demo", LONG, is_connected).await;
    a.name_authorization_servers(Some(vec![b.issuer()]));
    a.accept_tokens_from(Some(&[&b]));
    let _ = other.call_tool("demo", "echo", None).await;
    wait_for(&other, "demo", LONG, needs_authorization).await;
    let status = other
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    assert!(is_connected(&status), "{status:?}");

    // The first process still holds A's grant in memory; its background
    // refresh (4 s tokens) and its next requests meet B's grant in the
    // vault.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let _ = s.engine.call_tool("demo", "echo", None).await;
    // Reconnecting (the person's Reconnect) reads B's grant from the vault.
    if !s.engine.status("demo").is_some_and(|st| is_connected(&st)) {
        s.engine.restart("demo");
    }
    wait_for(&s.engine, "demo", LONG, is_connected).await;
    call_echo(&s.engine, "demo").await;
    s.engine.sign_out("demo").await.unwrap();
    other.shutdown().await;
    s.engine.shutdown().await;
    assert_only_own_tokens(&a);
    assert_only_own_tokens(&b);
    assert!(
        b.revocations().iter().any(|r| r.revoked.is_some()),
        "B's grant was not revoked at B: {:?}",
        b.revocations()
    );
}

/// The vault remembers which authorization server the configured client
/// was first used with, beyond a sign-out: the next Authorize does not
/// present the client and its secret to whichever server the MCP server
/// names now. Removing the server (or changing its address) forgets it.
#[tokio::test]
async fn after_sign_out_a_preregistered_client_secret_is_still_not_sent_to_another_server() {
    let s = Setup::new();
    let port = free_port();
    let client = shared_client(port);
    let a = start(knows(&client)).await;
    let b = start(knows(&client)).await;
    authorized_with_client(&s, &a, port).await;

    a.name_authorization_servers(Some(vec![b.issuer()]));
    a.accept_tokens_from(Some(&[&b]));
    s.engine.sign_out("demo").await.unwrap();
    let tried = s
        .engine
        .authorize("demo", Arc::new(Approve::default()))
        .await;
    match tried {
        Err(gatehouse_core::Error::Authorization(error)) => {
            assert_eq!(error.code(), ErrorCode::ClientOfAnotherServer, "{error}");
            assert!(error.to_string().contains(&b.issuer()), "{error}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_b_received_nothing(&b);
    assert!(b.authorization_requests().is_empty());
    s.engine.shutdown().await;
}

/// A switch to B that the person completes while A's grant is refreshed
/// (and its refresh token rotated) in the background: the replaced grant
/// is revoked at A as it is when the switch completes, not as it was when
/// the flow started — no live refresh token of A's is left behind.
#[tokio::test]
async fn a_switch_revokes_the_first_grant_as_it_is_when_the_switch_completes() {
    let s = Setup::new();
    let a = start(OAuthOptions {
        access_token_ttl: Duration::from_secs(3),
        ..OAuthOptions::default()
    })
    .await;
    let b = start(OAuthOptions::default()).await;
    authorized(&s, oauth_server(&a.url()), Arc::new(Approve::default())).await;

    a.name_authorization_servers(Some(vec![b.issuer()]));
    a.accept_tokens_from(Some(&[&a, &b]));
    let ticket = s
        .engine
        .start_authorization("demo", Arc::new(common::Ignore))
        .await
        .unwrap();
    assert!(ticket.url.starts_with(&b.issuer()), "{}", ticket.url);
    // The person takes a while; meanwhile A's token is refreshed.
    let deadline = std::time::Instant::now() + LONG;
    while !a
        .token_requests()
        .iter()
        .any(|t| t.grant_type.as_deref() == Some("refresh_token") && t.status == 200)
    {
        assert!(std::time::Instant::now() < deadline, "no refresh at A");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let callback = gatehouse_fixture::follow_consent(&ticket.url)
        .await
        .unwrap();
    reqwest::get(&callback).await.unwrap();
    tokio::time::timeout(LONG, ticket.done)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // The refresh token A's grant held when the switch completed (the
    // newest one) is the one revoked: a server that ignores revocation
    // of a token already rotated away would otherwise keep the grant.
    let newest = a
        .issued_tokens()
        .into_iter()
        .rfind(|t| t.kind == TokenKind::Refresh)
        .map(|t| token_hash(&t.token));
    let revoked: Vec<_> = a.revocations().into_iter().map(|r| r.token_hash).collect();
    assert!(revoked.contains(&newest), "{revoked:?} lacks {newest:?}");
    let live: Vec<_> = a
        .issued_tokens()
        .into_iter()
        .filter(|t| t.kind == TokenKind::Refresh && t.active)
        .map(|t| token_hash(&t.token))
        .collect();
    assert!(live.is_empty(), "A's refresh tokens still live: {live:?}");
    assert_b_received_nothing_but_the_code(&b);
    s.engine.shutdown().await;
}

fn assert_b_received_nothing_but_the_code(b: &OAuthFixture) {
    assert!(
        b.token_requests()
            .iter()
            .all(|t| t.grant_type.as_deref() == Some("authorization_code")),
        "{:?}",
        b.token_requests()
    );
    assert!(b.revocations().is_empty(), "{:?}", b.revocations());
}

/// A's metadata keeps its token endpoint but names B's revocation
/// endpoint after the grant. A step-up followed on its own would record
/// that metadata with the new grant, and sign-out would then send A's new
/// tokens and the client secret to B.
#[tokio::test]
async fn a_step_up_is_not_followed_when_the_revocation_endpoint_moved() {
    let s = Setup::new();
    let port = free_port();
    let client = shared_client(port);
    let a = start(knows(&client)).await;
    let b = start(knows(&client)).await;
    authorized_with_client(&s, &a, port).await;
    a.move_revocation_endpoint_to(&b);

    let refused = call_add(&s).await;
    assert!(refused.is_err(), "{refused:?}");
    s.engine.sign_out("demo").await.unwrap();
    assert_b_received_nothing(&b);
    s.engine.shutdown().await;
}

/// Like the spoofed issuer, but B's metadata (at a location that implies
/// no issuer) names no issuer at all; an authorization server without one
/// must not be taken for the MCP server's own origin — which is A's issuer
/// when A lives on the MCP server's origin, as here.
#[tokio::test]
async fn metadata_without_an_issuer_is_not_taken_for_the_first_server() {
    let s = Setup::new();
    let port = free_port();
    let client = shared_client(port);
    let a = start(knows(&client)).await;
    let b = start(OAuthOptions {
        issuer_omitted: true,
        iss_in_redirect: IssMode::Omit,
        metadata_alias_path: Some(ALIAS.into()),
        ..knows(&client)
    })
    .await;
    authorized_with_client(&s, &a, port).await;

    a.name_authorization_servers(Some(vec![b.metadata_alias_url().unwrap()]));
    let refused = call_add(&s).await;
    let refused = refused.unwrap_err();
    assert!(refused.contains("issuer"), "{refused}");
    assert_b_received_nothing(&b);
    assert!(b.authorization_requests().is_empty());
    s.engine.shutdown().await;
}
