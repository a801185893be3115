//! Where a keyring vault's X25519 identity is kept: the OS keyring (Secret
//! Service, Keychain, Credential Manager) or, for throwaway vaults and
//! tests, this process's memory. One keyring account per vault location.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Service name of Gatehouse's entries in the OS keyring.
pub const KEYRING_SERVICE: &str = "gatehouse";

/// Access to the OS keyring (or a stand-in) for the vault identity.
pub trait KeyStore: Send + Sync + fmt::Debug {
    /// `Ok(None)` when there is no entry; `Err` when the store is unreachable.
    fn load(&self, account: &str) -> Result<Option<SecretString>, String>;
    fn store(&self, account: &str, secret: &SecretString) -> Result<(), String>;
}

/// The platform keyring: Secret Service, Keychain or Credential Manager.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeyring;

impl KeyStore for OsKeyring {
    fn load(&self, account: &str) -> Result<Option<SecretString>, String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, account).map_err(|e| e.to_string())?;
        match entry.get_password() {
            Ok(password) => Ok(Some(SecretString::from(password))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn store(&self, account: &str, secret: &SecretString) -> Result<(), String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, account).map_err(|e| e.to_string())?;
        entry
            .set_password(secret.expose_secret())
            .map_err(|e| e.to_string())
    }
}

/// A key store that lives in this process only: for throwaway vaults (the
/// conformance client, tests of other parts). A vault keyed here cannot be
/// reopened by another process.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    entries: Mutex<BTreeMap<String, SecretString>>,
    /// Behave as an unreachable keyring (for tests of that path).
    pub unreachable: std::sync::atomic::AtomicBool,
}

impl KeyStore for MemoryKeyStore {
    fn load(&self, account: &str) -> Result<Option<SecretString>, String> {
        if self.unreachable.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("no keyring service is running".into());
        }
        Ok(self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(account)
            .cloned())
    }

    fn store(&self, account: &str, secret: &SecretString) -> Result<(), String> {
        if self.unreachable.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("no keyring service is running".into());
        }
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.to_owned(), secret.clone());
        Ok(())
    }
}

/// The keyring account holding the identity of the vault at `path`: one per
/// vault location, so separate data directories never share a key.
pub fn keyring_account(path: &Path) -> String {
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let location = dir.join(path.file_name().unwrap_or_default());
    let digest = Sha256::digest(location.to_string_lossy().as_bytes());
    let hex: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
    format!("vault-identity-{hex}")
}
