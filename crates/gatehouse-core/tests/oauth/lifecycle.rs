//! A grant's life around the engine: startup order, one authorization at a
//! time across processes, sign-out, memory-only tokens, renaming, a locked
//! vault.

use super::*;

#[tokio::test]
async fn one_authorization_of_a_server_at_a_time_across_processes() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("demo", &fixture.url()))
        .await
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
        .await
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
    assert!(
        s.engine.servers().await[0].oauth.is_none(),
        "no grant is left"
    );
    s.engine.shutdown().await;
    let restarted = s.reopen();
    restarted.start();
    wait_for(&restarted, "demo", LONG, needs_authorization).await;
    restarted.shutdown().await;
}

#[tokio::test]
async fn tokens_kept_in_memory_are_not_written_to_the_vault() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    let mut server = oauth_server("ephemeral", &fixture.url());
    server.oauth.as_mut().unwrap().token_storage = gatehouse_core::config::TokenStorage::Memory;
    s.engine.add_server(server).await.unwrap();
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
async fn startup_connects_plain_servers_first_and_then_oauth_servers_without_a_browser() {
    let s = Setup::new();
    let fixture = fixture(OAuthOptions::default()).await;
    s.engine
        .add_server(oauth_server("oauth", &fixture.url()))
        .await
        .unwrap();
    s.engine
        .add_server(oauth_server("unauthorized", &fixture.url()))
        .await
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
    s.engine.add_server(slow).await.unwrap();
    s.engine
        .add_server(ServerConfig::new("plain", plain.url()))
        .await
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
async fn renaming_a_server_keeps_its_authorization() {
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
    let mut renamed = s.engine.server_config("demo").unwrap();
    renamed.id = "linear-work".into();
    s.engine.update_server("demo", renamed).await.unwrap();
    wait_for(&s.engine, "linear-work", LONG, is_connected).await;
    assert_eq!(fixture.authorization_requests().len(), 1);
    assert!(s.engine.status("demo").is_none());
    s.engine.shutdown().await;
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
        .await
        .unwrap();
    let mut plain = ServerConfig::new("plain", header.url());
    plain
        .headers
        .insert("Authorization".into(), "Bearer ${TOKEN}".into());
    engine.add_server(plain).await.unwrap();
    engine
        .add_server(oauth_server("oauth", &fixture.url()))
        .await
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
    let wrong = locked.use_passphrase(SecretString::from("not it")).await;
    assert_eq!(wrong.unwrap_err().code(), ErrorCode::VaultWrongPassphrase);
    locked
        .use_passphrase(SecretString::from("a long passphrase"))
        .await
        .unwrap();
    wait_for(&locked, "plain", LONG, is_connected).await;
    wait_for(&locked, "oauth", LONG, is_connected).await;
    assert_eq!(fixture.authorization_requests().len(), 1);
    locked.shutdown().await;
}
