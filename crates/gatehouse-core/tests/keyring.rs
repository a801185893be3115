//! The vault through the real OS keyring (Secret Service via gnome-keyring).
//! These need a D-Bus session with an unlocked keyring, which
//! `scripts/test.sh` provides (`cargo test -- --ignored` inside
//! `dbus-run-session`); without one they fail rather than pass vacuously.

use std::sync::Arc;

use gatehouse_core::template::Template;
use gatehouse_core::vault::{KeyStore, OsKeyring, Protection, Vault, VaultStatus, keyring_account};
use secrecy::{ExposeSecret, SecretString};

fn require_secret_service() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session: run under dbus-run-session with an unlocked gnome-keyring (scripts/test.sh does)"
    );
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[test]
#[ignore = "needs a Secret Service; run by scripts/test.sh"]
fn a_second_entry_sees_what_the_first_stored() {
    require_secret_service();
    // A mock store would keep the secret inside the first Entry only.
    let account = unique("entry-check");
    let first = keyring::Entry::new("gatehouse-test", &account).unwrap();
    first.set_password("stored by the first entry").unwrap();
    let second = keyring::Entry::new("gatehouse-test", &account).unwrap();
    assert_eq!(second.get_password().unwrap(), "stored by the first entry");
    second.delete_credential().unwrap();
    assert!(matches!(first.get_password(), Err(keyring::Error::NoEntry)));
}

#[test]
#[ignore = "needs a Secret Service; run by scripts/test.sh"]
fn the_vault_key_lives_in_the_os_keyring_and_survives_a_restart() {
    require_secret_service();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.age");
    let vault = Vault::new(&path, Arc::new(OsKeyring), None);
    vault
        .set_secret("API_TOKEN", &SecretString::from("t-0123456789"))
        .unwrap();
    assert_eq!(
        vault.status(),
        VaultStatus::Unlocked {
            protection: Protection::Keyring
        }
    );
    // The identity is in the keyring, readable by a separate lookup.
    let identity = OsKeyring.load(&keyring_account(&path)).unwrap().unwrap();
    assert!(identity.expose_secret().starts_with("AGE-SECRET-KEY-1"));

    // "Restart": a new vault object over the same file and keyring.
    let reopened = Vault::new(&path, Arc::new(OsKeyring), None);
    let template = Template::parse("Bearer ${API_TOKEN}").unwrap();
    assert_eq!(
        reopened.resolve([&template]).unwrap()[0].expose_secret(),
        "Bearer t-0123456789"
    );
    // A standard age file, decryptable with the exported identity.
    let key: age::x25519::Identity = identity.expose_secret().parse().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let decryptor = age::Decryptor::new(&bytes[..]).unwrap();
    let mut plaintext = String::new();
    std::io::Read::read_to_string(
        &mut decryptor
            .decrypt(std::iter::once(&key as &dyn age::Identity))
            .unwrap(),
        &mut plaintext,
    )
    .unwrap();
    assert!(plaintext.contains("API_TOKEN"));
    keyring::Entry::new("gatehouse", &keyring_account(&path))
        .unwrap()
        .delete_credential()
        .unwrap();
}
