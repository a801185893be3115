//! DPoP (RFC 9449) against the fixture's authorization server and MCP
//! endpoint, which both demand a nonce: the tokens are bound to a key of
//! Gatehouse's, every MCP request carries a fresh proof by it, and the key
//! kept with the grant in the vault signs the refresh another process makes.

use super::*;

const NONCE: &str = "fixture-nonce-7";

fn schemes(fixture: &OAuthFixture) -> Vec<(String, bool)> {
    fixture
        .mcp_requests()
        .iter()
        .filter_map(|r| {
            let value = r.headers.get("authorization")?.to_str().ok()?;
            let scheme = value.split(' ').next()?.to_owned();
            Some((scheme, r.headers.contains_key("dpop")))
        })
        .collect()
}

#[tokio::test]
async fn tokens_are_bound_to_a_key_kept_with_the_grant_and_proved_on_every_request() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        dpop: true,
        dpop_nonce: Some(NONCE.into()),
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
    call_echo(&s.engine, "demo").await;

    // The code exchange: refused for want of the nonce, then sent again
    // with it and a proof, and answered with tokens bound to that key.
    let exchanges: Vec<_> = fixture
        .token_requests()
        .into_iter()
        .filter(|t| t.grant_type.as_deref() == Some("authorization_code"))
        .collect();
    assert_eq!(exchanges.len(), 2, "{exchanges:?}");
    assert_eq!(exchanges[0].error.as_deref(), Some("use_dpop_nonce"));
    assert_eq!(exchanges[1].status, 200, "{:?}", exchanges[1].error);
    let jkt = exchanges[1].dpop_jkt.clone().expect("a proof came with it");
    let bound = fixture.dpop_bound_tokens();
    assert_eq!(bound.len(), 2, "the access and the refresh token");
    assert!(bound.values().all(|k| *k == jkt));

    // The MCP endpoint saw the token only as DPoP, each time with a proof,
    // never the same proof twice (the nonce challenge was answered with a
    // new one).
    let presented = schemes(&fixture);
    assert!(!presented.is_empty());
    assert!(
        presented
            .iter()
            .all(|(scheme, proof)| scheme == "DPoP" && *proof),
        "{presented:?}"
    );
    assert_eq!(fixture.dpop_replays(), 0);

    // Another process (a new engine over the same vault) refreshes the
    // expired token with the key kept with the grant.
    s.engine.shutdown().await;
    fixture.expire_access_tokens();
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "demo", LONG, is_connected).await;
    call_echo(&restarted, "demo").await;
    let refresh = fixture
        .token_requests()
        .into_iter()
        .rfind(|t| t.grant_type.as_deref() == Some("refresh_token"))
        .expect("a refresh");
    assert_eq!(refresh.status, 200, "{:?}", refresh.error);
    assert_eq!(refresh.dpop_jkt.as_deref(), Some(jkt.as_str()));
    assert_eq!(fixture.authorization_requests().len(), 1);
    assert!(schemes(&fixture).iter().all(|(scheme, _)| scheme == "DPoP"));
    restarted.shutdown().await;
}

#[tokio::test]
async fn with_dpop_turned_off_the_tokens_stay_bearer_tokens() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions {
        dpop: true,
        ..OAuthOptions::default()
    })
    .await;
    let mut server = oauth_server("demo", &fixture.url());
    server.oauth.as_mut().unwrap().dpop = false;
    s.engine.add_server(server).await.unwrap();
    wait_for(&s.engine, "demo", LONG, needs_authorization).await;
    s.engine
        .authorize("demo", Arc::new(Approve::default()))
        .await
        .unwrap();
    call_echo(&s.engine, "demo").await;
    assert!(
        fixture
            .token_requests()
            .iter()
            .all(|t| t.dpop_jkt.is_none())
    );
    assert!(fixture.dpop_bound_tokens().is_empty());
    let presented = schemes(&fixture);
    assert!(
        presented
            .iter()
            .all(|(scheme, proof)| scheme == "Bearer" && !*proof),
        "{presented:?}"
    );
    s.engine.shutdown().await;
}
