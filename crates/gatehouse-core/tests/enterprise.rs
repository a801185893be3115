//! Enterprise-managed authorization (SEP-990) against a real identity
//! provider and authorization server on 127.0.0.1: the person's ID token,
//! read from its file, is exchanged at the identity provider for an
//! identity assertion that the authorization server redeems — no consent
//! screen. Tokens come again the same way when they expire (the file read
//! afresh), a refused ID token leaves the server waiting for the person
//! without retrying, and each secret goes only to the server it belongs to.

mod common;

use std::path::Path;

use common::mixup::{LONG, SECRET, oauth_server, start};
use common::{Setup, call_echo, is_connected, wait_for};
use gatehouse_core::config::OAuthConfig;
use gatehouse_core::events::ServerStatus;
use gatehouse_fixture::oauth::{ClientAuthMethod, RegisteredClient};
use gatehouse_fixture::{IdpFixture, IdpOptions, OAuthFixture, OAuthOptions};
use secrecy::SecretString;

const IDP_SECRET: &str = "idp-client-secret-93c1";

/// The company's identity provider, and the MCP server's authorization
/// server that trusts it and knows Gatehouse as the client "gatehouse".
async fn company() -> (IdpFixture, OAuthFixture) {
    company_with(OAuthOptions::default()).await
}

/// [`company`], its authorization server made with `options`.
async fn company_with(options: OAuthOptions) -> (IdpFixture, OAuthFixture) {
    let idp = IdpFixture::start(IdpOptions {
        client_id: "gatehouse-at-idp".into(),
        client_secret: Some(IDP_SECRET.into()),
        resource_client_id: "gatehouse".into(),
    })
    .await
    .unwrap();
    let client = RegisteredClient::confidential(
        "gatehouse",
        SECRET,
        ClientAuthMethod::ClientSecretBasic,
        vec![],
    );
    let fixture = start(OAuthOptions {
        dcr_supported: false,
        preregistered_clients: vec![client],
        trusted_idp: Some(idp.assertions()),
        ..options
    })
    .await;
    (idp, fixture)
}

/// "demo" signed in through the identity provider, its ID token in
/// `token_file` and both secrets in the vault.
async fn add_enterprise(s: &Setup, idp: &IdpFixture, fixture: &OAuthFixture, token_file: &Path) {
    for (name, value) in [("AS_SECRET", SECRET), ("IDP_SECRET", IDP_SECRET)] {
        s.engine
            .set_secret(name, &SecretString::from(value))
            .await
            .unwrap();
    }
    let mut server = oauth_server(&fixture.url());
    server.oauth = Some(OAuthConfig {
        client_id: Some("gatehouse".into()),
        client_secret: Some("${AS_SECRET}".into()),
        idp_issuer: Some(idp.issuer()),
        idp_client_id: Some("gatehouse-at-idp".into()),
        idp_client_secret: Some("${IDP_SECRET}".into()),
        assertion_file: Some(token_file.to_string_lossy().into_owned()),
        ..OAuthConfig::default()
    });
    s.engine.add_server(server).await.unwrap();
}

fn jwt_bearer_requests(fixture: &OAuthFixture) -> Vec<(String, u16)> {
    fixture
        .token_requests()
        .into_iter()
        .map(|r| (r.grant_type.unwrap_or_default(), r.status))
        .collect()
}

/// rmcp's exchange takes only Bearer tokens back: where the authorization
/// server offers DPoP, enterprise-managed authorization goes on without it.
#[tokio::test]
async fn enterprise_managed_authorization_works_where_dpop_is_offered() {
    let s = Setup::new();
    let (idp, fixture) = company_with(OAuthOptions {
        dpop: true,
        ..OAuthOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("id-token");
    std::fs::write(&token_file, idp.id_token("ada@company.example")).unwrap();
    add_enterprise(&s, &idp, &fixture, &token_file).await;
    wait_for(&s.engine, "demo", LONG, is_connected).await;
    call_echo(&s.engine, "demo").await;
    let requests = fixture.token_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].status, 200, "{:?}", requests[0].error);
    assert_eq!(requests[0].dpop_jkt, None, "no proof sent");
    s.engine.shutdown().await;
}

#[tokio::test]
async fn the_persons_id_token_becomes_access_without_a_consent_screen_and_again_on_expiry() {
    let s = Setup::new();
    let (idp, fixture) = company().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("id-token");
    let first = idp.id_token("ada@company.example");
    std::fs::write(&token_file, format!("{first}\n")).unwrap();
    add_enterprise(&s, &idp, &fixture, &token_file).await;

    wait_for(&s.engine, "demo", LONG, is_connected).await;
    call_echo(&s.engine, "demo").await;
    assert!(fixture.authorization_requests().is_empty(), "no consent");
    let exchanges = idp.exchanges();
    assert_eq!(exchanges.len(), 1, "{exchanges:?}");
    let exchange = &exchanges[0];
    assert_eq!(exchange.status, 200, "{exchange:?}");
    assert_eq!(exchange.subject_token.as_deref(), Some(first.as_str()));
    assert_eq!(exchange.basic_client.as_deref(), Some("gatehouse-at-idp"));
    assert_eq!(
        exchange.audience.as_deref(),
        Some(fixture.issuer().as_str())
    );
    assert_eq!(exchange.resource.as_deref(), Some(fixture.url().as_str()));
    let bearer = "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned();
    assert_eq!(jwt_bearer_requests(&fixture), [(bearer.clone(), 200)]);
    let redeemed = &fixture.token_requests()[0];
    assert_eq!(
        redeemed.client_auth,
        Some(ClientAuthMethod::ClientSecretBasic)
    );

    // The person signs in again (a new ID token in the file); the access
    // token expires at the server: obtained again with the new ID token.
    let second = idp.id_token("ada@company.example");
    std::fs::write(&token_file, &second).unwrap();
    fixture.expire_access_tokens();
    call_echo(&s.engine, "demo").await;
    let exchanges = idp.exchanges();
    assert_eq!(exchanges.len(), 2, "{exchanges:?}");
    assert_eq!(exchanges[1].subject_token.as_deref(), Some(second.as_str()));
    assert_eq!(
        jwt_bearer_requests(&fixture),
        [(bearer.clone(), 200), (bearer, 200)]
    );

    // A restart finds the grant in the vault: nothing is exchanged.
    s.engine.shutdown().await;
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "demo", LONG, is_connected).await;
    call_echo(&restarted, "demo").await;
    assert_eq!(idp.exchanges().len(), 2);
    // Signing out revokes the access token, as the confidential client.
    assert_eq!(restarted.sign_out("demo").await.unwrap(), None);
    let revoked: Vec<_> = fixture
        .revocations()
        .into_iter()
        .map(|r| r.revoked)
        .collect();
    assert_eq!(
        revoked,
        [Some(gatehouse_fixture::oauth::TokenKind::Access)],
        "{:?}",
        fixture.revocations()
    );
    restarted.shutdown().await;

    // Each secret went to its own server only.
    for request in fixture.token_requests() {
        let sent = format!("{:?}", request.params);
        assert!(!sent.contains(IDP_SECRET), "{sent}");
    }
    let status = format!("{:?}", s.reopen().status("demo"));
    assert!(!status.contains(SECRET) && !status.contains(IDP_SECRET));
}

#[tokio::test]
async fn a_refused_id_token_waits_for_the_person_without_retrying() {
    let s = Setup::new();
    let (idp, fixture) = company().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("id-token");
    std::fs::write(&token_file, idp.id_token("grace@company.example")).unwrap();
    idp.revoke("grace@company.example");
    add_enterprise(&s, &idp, &fixture, &token_file).await;

    let status = wait_for(&s.engine, "demo", LONG, |status| {
        !matches!(status, ServerStatus::Connecting)
    })
    .await;
    let text = format!("{status:?}");
    assert!(
        !is_connected(&status)
            && text.contains("invalid_grant")
            && text.contains("identity provider"),
        "{text}"
    );
    // Refused is final until something changes: no retry loop, nothing
    // sent to the authorization server.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(idp.exchanges().len(), 1, "{:?}", idp.exchanges());
    assert!(fixture.token_requests().is_empty());
    assert!(
        !text.contains(IDP_SECRET) && !text.contains(SECRET),
        "{text}"
    );
    s.engine.shutdown().await;
}
