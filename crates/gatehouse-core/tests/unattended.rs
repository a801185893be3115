//! Tokens without a person (the client credentials grant) against a real
//! authorization server on 127.0.0.1: the server connects with no consent,
//! its tokens are obtained again when they expire, and the client's secret
//! never goes to an authorization server other than the one it was first
//! used with.

mod common;

use common::mixup::{LONG, SECRET, assert_b_received_nothing, oauth_server, start};
use common::{Setup, call_echo, is_connected, wait_for};
use gatehouse_core::config::{OAuthConfig, OAuthGrant};
use gatehouse_core::events::ServerStatus;
use gatehouse_fixture::oauth::{ClientAuthMethod, RegisteredClient};
use gatehouse_fixture::{OAuthFixture, OAuthOptions};
use secrecy::SecretString;

/// An authorization server that knows the machine client "robot" and
/// issues it tokens with the client credentials grant.
async fn machine_server() -> OAuthFixture {
    let robot =
        RegisteredClient::confidential("robot", SECRET, ClientAuthMethod::ClientSecretPost, vec![]);
    start(OAuthOptions {
        dcr_supported: false,
        client_credentials_grant: true,
        preregistered_clients: vec![robot],
        ..OAuthOptions::default()
    })
    .await
}

/// "demo" on `fixture`, as the robot with its secret in the vault.
async fn add_robot(s: &Setup, fixture: &OAuthFixture, grant: Option<OAuthGrant>) {
    s.engine
        .set_secret("ROBOT_SECRET", &SecretString::from(SECRET))
        .await
        .unwrap();
    let mut server = oauth_server(&fixture.url());
    server.oauth = Some(OAuthConfig {
        grant,
        client_id: Some("robot".into()),
        client_secret: Some("${ROBOT_SECRET}".into()),
        ..OAuthConfig::default()
    });
    s.engine.add_server(server).await.unwrap();
}

fn grant_types(fixture: &OAuthFixture) -> Vec<String> {
    fixture
        .token_requests()
        .iter()
        .map(|r| r.grant_type.clone().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_machine_client_connects_without_a_person_and_its_tokens_come_again() {
    let s = Setup::new();
    let fixture = machine_server().await;
    add_robot(&s, &fixture, Some(OAuthGrant::ClientCredentials)).await;
    // No consent sink, no authorize: connected on its own.
    wait_for(&s.engine, "demo", LONG, is_connected).await;
    call_echo(&s.engine, "demo").await;
    assert!(fixture.authorization_requests().is_empty());
    assert_eq!(grant_types(&fixture), ["client_credentials"]);

    // Expired at the server: obtained again, and the call goes through.
    fixture.expire_access_tokens();
    call_echo(&s.engine, "demo").await;
    assert_eq!(
        grant_types(&fixture),
        ["client_credentials", "client_credentials"]
    );

    // A restart finds the grant in the vault: no new token request.
    s.engine.shutdown().await;
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "demo", LONG, is_connected).await;
    call_echo(&restarted, "demo").await;
    assert_eq!(grant_types(&fixture).len(), 2);
    restarted.shutdown().await;
}

/// Where the authorization server offers DPoP, a machine client's tokens
/// are bound to a key of its own too, with the nonce the server demands.
#[tokio::test]
async fn a_machine_clients_tokens_are_dpop_bound_where_offered() {
    let s = Setup::new();
    let robot =
        RegisteredClient::confidential("robot", SECRET, ClientAuthMethod::ClientSecretPost, vec![]);
    let fixture = start(OAuthOptions {
        dcr_supported: false,
        client_credentials_grant: true,
        preregistered_clients: vec![robot],
        dpop: true,
        dpop_nonce: Some("machine-nonce".into()),
        ..OAuthOptions::default()
    })
    .await;
    add_robot(&s, &fixture, Some(OAuthGrant::ClientCredentials)).await;
    wait_for(&s.engine, "demo", LONG, is_connected).await;
    call_echo(&s.engine, "demo").await;
    let requests = fixture.token_requests();
    let issued = requests.last().unwrap();
    assert_eq!(issued.status, 200, "{:?}", issued.error);
    assert!(issued.dpop_jkt.is_some(), "a proof came with it");
    assert_eq!(fixture.dpop_bound_tokens().len(), 1, "the access token");
    let schemes: Vec<String> = fixture
        .mcp_requests()
        .iter()
        .filter_map(|r| {
            r.headers
                .get("authorization")?
                .to_str()
                .ok()
                .map(str::to_owned)
        })
        .map(|value| value.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert!(
        !schemes.is_empty() && schemes.iter().all(|s| s == "DPoP"),
        "{schemes:?}"
    );
    s.engine.shutdown().await;
}

#[tokio::test]
async fn without_a_grant_setting_a_secret_uses_the_grant_the_server_offers() {
    let s = Setup::new();
    // This server offers the authorization code grant as well: with only
    // a secret configured, a person authorizes.
    let fixture = machine_server().await;
    add_robot(&s, &fixture, None).await;
    let status = wait_for(&s.engine, "demo", LONG, |status| {
        matches!(status, ServerStatus::NeedsAuthorization { .. })
    })
    .await;
    assert!(
        matches!(status, ServerStatus::NeedsAuthorization { .. }),
        "{status:?}"
    );
    assert!(fixture.token_requests().is_empty());
    s.engine.shutdown().await;
}

#[tokio::test]
async fn the_machine_clients_secret_is_not_sent_to_another_authorization_server() {
    let s = Setup::new();
    let a = machine_server().await;
    let b = machine_server().await;
    add_robot(&s, &a, Some(OAuthGrant::ClientCredentials)).await;
    wait_for(&s.engine, "demo", LONG, is_connected).await;

    // The server now names B; the robot's tokens expire.
    a.name_authorization_servers(Some(vec![b.issuer()]));
    a.accept_tokens_from(Some(&[&b]));
    a.expire_access_tokens();
    let refused = s.engine.call_tool("demo", "echo", None).await;
    assert!(refused.is_err(), "{refused:?}");
    assert_b_received_nothing(&b);
    s.engine.shutdown().await;
}
