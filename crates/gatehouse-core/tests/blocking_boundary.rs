//! The engine's blocking boundary: every method that reaches the vault or
//! the config file does its blocking work on Tokio's blocking pool, so a
//! front end calling it from the async runtime (the desktop's IPC commands,
//! the tray's event bridge) never stalls the runtime's other work. Here the
//! OS keyring is slow, as Secret Service over D-Bus can be while it starts
//! or asks to unlock, and the runtime has a single thread: a ticker task
//! must keep ticking while each call waits for the keyring.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gatehouse_core::Engine;
use gatehouse_core::config::{OAuthConfig, ServerConfig};
use gatehouse_core::paths::Paths;
use gatehouse_core::vault::{KeyStore, MemoryKeyStore, Vault, VaultStatus};
use secrecy::SecretString;

/// How long the keyring takes to answer each call.
const KEYRING_DELAY: Duration = Duration::from_millis(400);
/// The ticker's period: a call that waits for the keyring once lets about
/// forty ticks through when the runtime stays free, none when it is held.
const TICK: Duration = Duration::from_millis(10);
const MIN_TICKS: u64 = 5;

/// A keyring that answers like the in-memory one, slowly.
#[derive(Debug, Default)]
struct SlowKeyring {
    keys: MemoryKeyStore,
}

impl KeyStore for SlowKeyring {
    fn load(&self, account: &str) -> Result<Option<SecretString>, String> {
        std::thread::sleep(KEYRING_DELAY);
        self.keys.load(account)
    }

    fn store(&self, account: &str, secret: &SecretString) -> Result<(), String> {
        std::thread::sleep(KEYRING_DELAY);
        self.keys.store(account, secret)
    }
}

/// A fresh engine (nothing read yet) over the files in `dir`.
fn engine(dir: &tempfile::TempDir, keys: &Arc<SlowKeyring>) -> Engine {
    let paths = Paths::new(dir.path().join("config.toml"), dir.path().join("data"));
    let vault = Vault::new(paths.vault_file(), keys.clone(), None);
    let engine = Engine::with_vault(paths, vault).unwrap();
    // Nothing here should connect anywhere: only the calls are measured.
    engine.set_connect_on_change(false);
    engine
}

/// Runs `call` while a ticker task runs beside it on the same
/// single-threaded runtime; returns the call's output and how many times
/// the ticker ran meanwhile.
async fn ticks_during<F: Future>(call: F) -> (F::Output, u64) {
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            let mut interval = tokio::time::interval(TICK);
            loop {
                interval.tick().await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    // Let the ticker start before the call takes the thread.
    tokio::time::sleep(TICK * 2).await;
    let before = ticks.load(Ordering::SeqCst);
    let output = call.await;
    let during = ticks.load(Ordering::SeqCst) - before;
    ticker.abort();
    (output, during)
}

fn assert_free(what: &str, ticks: u64) {
    assert!(
        ticks >= MIN_TICKS,
        "the runtime stalled while {what} waited for the keyring ({ticks} ticks)"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_slow_keyring_never_stalls_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(SlowKeyring::default());

    let first = engine(&dir, &keys);
    let mut oauth = ServerConfig::new("oauth", "http://127.0.0.1:9/mcp");
    oauth.oauth = Some(OAuthConfig::default());
    first.add_server(oauth).await.unwrap();
    let value = SecretString::from("s3cret-value".to_owned());
    let (stored, ticks) = ticks_during(first.set_secret("API_TOKEN", &value)).await;
    stored.unwrap();
    assert_free(
        "set_secret (a new vault: key looked up, then stored)",
        ticks,
    );

    let (names, ticks) = ticks_during(engine(&dir, &keys).secret_names()).await;
    assert_eq!(names.unwrap(), ["API_TOKEN"]);
    assert_free("secret_names", ticks);

    let (status, ticks) = ticks_during(engine(&dir, &keys).vault_status()).await;
    assert!(matches!(status, VaultStatus::Unlocked { .. }), "{status:?}");
    assert_free("vault_status", ticks);

    // The server list reads an OAuth server's grant from the vault when the
    // server is not running here (the tray does this on every event).
    let (servers, ticks) = ticks_during(engine(&dir, &keys).servers()).await;
    assert_eq!(servers.len(), 1);
    assert_free("servers", ticks);

    let (deleted, ticks) = ticks_during(engine(&dir, &keys).delete_secret("API_TOKEN")).await;
    deleted.unwrap();
    assert_free("delete_secret", ticks);

    // Removing an OAuth server forgets its grants in the vault.
    let (removed, ticks) = ticks_during(engine(&dir, &keys).remove_server("oauth")).await;
    removed.unwrap();
    assert_free("remove_server", ticks);
}
