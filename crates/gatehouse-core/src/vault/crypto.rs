//! Encryption of the vault file with age: to the X25519 identity kept in a
//! key store, or to a passphrase (scrypt, at a fixed work factor and with
//! a cap on what a file may demand). Tells a wrong key from a damaged file,
//! and never keeps a new identity the keyring did not.

use std::io::{self, Read, Write};
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::VaultError;
use super::document::{DOCUMENT_VERSION, VaultDocument};
use super::key_store::keyring_account;
use super::owner::Inner;
use super::passphrase::check_new_passphrase;

/// scrypt work factor (N = 2^18, about a second on a laptop) for passphrase
/// vaults. Fixed rather than calibrated per write, so a machine under load
/// does not quietly weaken the vault.
const SCRYPT_WORK_FACTOR: u8 = 18;
/// The most work a passphrase vault may demand to be opened. Fixed rather
/// than estimated from the machine's current speed, which under load would
/// refuse a perfectly good vault; high enough for vaults written by age or
/// rage at their defaults, low enough that a hostile file cannot tie the
/// machine up for hours.
const MAX_SCRYPT_WORK_FACTOR: u8 = 22;

/// The key a vault is encrypted with.
pub(super) enum Key {
    Identity(age::x25519::Identity),
    Passphrase(SecretString),
}

impl Inner {
    pub(super) fn decrypt(&self, bytes: &[u8]) -> Result<(VaultDocument, Key), VaultError> {
        let path = &self.path;
        let corrupted = |detail: String| VaultError::Corrupted {
            path: path.clone(),
            detail,
        };
        let decryptor = age::Decryptor::new_buffered(bytes)
            .map_err(|e| corrupted(format!("not an age file: {e}")))?;
        // Decrypts with one identity; `refused` says which age errors mean
        // "this key does not open it" as opposed to a damaged file.
        let open = |decryptor: age::Decryptor<&[u8]>,
                    identity: &dyn age::Identity,
                    refused: fn(&age::DecryptError) -> bool,
                    wrong_key: VaultError| {
            let mut reader = decryptor
                .decrypt(std::iter::once(identity))
                .map_err(|e| match e {
                    e if refused(&e) => wrong_key,
                    age::DecryptError::ExcessiveWork { required, .. } => VaultError::TooCostly {
                        path: path.clone(),
                        work_factor: required,
                    },
                    e => corrupted(e.to_string()),
                })?;
            let mut plaintext = Zeroizing::new(Vec::new());
            reader
                .read_to_end(&mut plaintext)
                .map_err(|e| corrupted(e.to_string()))?;
            Ok::<_, VaultError>(plaintext)
        };
        let (plaintext, key) = if decryptor.is_scrypt() {
            let passphrase = self
                .passphrase
                .clone()
                .ok_or(VaultError::PassphraseRequired)?;
            let mut identity = age::scrypt::Identity::new(passphrase.clone());
            identity.set_max_work_factor(MAX_SCRYPT_WORK_FACTOR);
            let plaintext = open(
                decryptor,
                &identity,
                |e| {
                    matches!(
                        e,
                        age::DecryptError::DecryptionFailed
                            | age::DecryptError::KeyDecryptionFailed
                            | age::DecryptError::NoMatchingKeys
                    )
                },
                VaultError::WrongPassphrase { path: path.clone() },
            )?;
            (plaintext, Key::Passphrase(passphrase))
        } else {
            let account = keyring_account(path);
            let stored = self
                .keys
                .load(&account)
                .map_err(|detail| VaultError::NoKeyring { detail })?
                .ok_or_else(|| VaultError::KeyMissing { path: path.clone() })?;
            let identity = age::x25519::Identity::from_str(stored.expose_secret())
                .map_err(|_| VaultError::WrongKey { path: path.clone() })?;
            let plaintext = open(
                decryptor,
                &identity,
                |e| matches!(e, age::DecryptError::NoMatchingKeys),
                VaultError::WrongKey { path: path.clone() },
            )?;
            (plaintext, Key::Identity(identity))
        };
        let doc: VaultDocument = serde_json::from_slice(&plaintext)
            .map_err(|e| corrupted(format!("contents are not a Gatehouse vault: {e}")))?;
        if doc.version > DOCUMENT_VERSION {
            return Err(VaultError::NewerFormat {
                path: path.clone(),
                version: doc.version,
            });
        }
        Ok((doc, key))
    }

    /// The key for a vault about to be created: the passphrase when one was
    /// given, otherwise an identity from (or new in) the OS keyring.
    pub(super) fn new_key(&self) -> Result<Key, VaultError> {
        if let Some(passphrase) = &self.passphrase {
            check_new_passphrase(passphrase)?;
            return Ok(Key::Passphrase(passphrase.clone()));
        }
        let account = keyring_account(&self.path);
        let existing = self
            .keys
            .load(&account)
            .map_err(|detail| VaultError::NoKeyring { detail })?;
        if let Some(existing) = existing
            && let Ok(identity) = age::x25519::Identity::from_str(existing.expose_secret())
        {
            return Ok(Key::Identity(identity));
        }
        let identity = age::x25519::Identity::generate();
        self.keys
            .store(&account, &identity.to_string())
            .map_err(|detail| VaultError::KeyringWrite { detail })?;
        // Read it back: a keyring that silently drops entries must not
        // leave a vault nobody can open.
        match self.keys.load(&account) {
            Ok(Some(back)) if back.expose_secret() == identity.to_string().expose_secret() => {
                Ok(Key::Identity(identity))
            }
            Ok(_) => Err(VaultError::KeyringWrite {
                detail: "the keyring did not keep the key".into(),
            }),
            Err(detail) => Err(VaultError::NoKeyring { detail }),
        }
    }

    pub(super) fn encrypt(&self, plaintext: &[u8]) -> io::Result<Vec<u8>> {
        let encryptor = match self.key.as_ref().expect("key chosen before encrypting") {
            Key::Identity(identity) => {
                let recipient = identity.to_public();
                age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                    .map_err(io::Error::other)?
            }
            Key::Passphrase(passphrase) => {
                let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
                recipient.set_work_factor(SCRYPT_WORK_FACTOR);
                age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                    .map_err(io::Error::other)?
            }
        };
        let mut out = Vec::with_capacity(plaintext.len() + 256);
        let mut writer = encryptor.wrap_output(&mut out)?;
        writer.write_all(plaintext)?;
        writer.finish()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::test_support::{MemoryKeyring, secret};
    use crate::vault::{KeyStore, Vault};
    use std::sync::Arc;

    #[test]
    fn passphrase_vaults_use_a_fixed_work_factor_and_refuse_hostile_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyring::default());
        Vault::new(&path, keys.clone(), Some(secret("pw for test")))
            .set_secret("A", &secret("1"))
            .unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let header = String::from_utf8_lossy(&bytes[..120]).into_owned();
        let stanza = header.lines().nth(1).unwrap().to_owned();
        assert!(
            stanza.starts_with("-> scrypt ") && stanza.ends_with(" 18"),
            "{stanza}"
        );
        // A file demanding far more work is refused as such, not as damage,
        // and left alone.
        let at = bytes.windows(3).position(|w| w == b" 18").unwrap();
        bytes[at + 1..at + 3].copy_from_slice(b"30");
        std::fs::write(&path, &bytes).unwrap();
        let err = Vault::new(&path, keys, Some(secret("pw for test")))
            .secret_names()
            .unwrap_err();
        assert!(
            matches!(
                err,
                VaultError::TooCostly {
                    work_factor: 30,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn a_missing_or_wrong_key_never_overwrites_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let vault = Vault::new(&path, Arc::new(MemoryKeyring::default()), None);
        vault.set_secret("A", &secret("1")).unwrap();
        let before = std::fs::read(&path).unwrap();

        let empty_keyring = Vault::new(&path, Arc::new(MemoryKeyring::default()), None);
        assert!(matches!(
            empty_keyring.set_secret("B", &secret("2")),
            Err(VaultError::KeyMissing { .. })
        ));
        let other = Arc::new(MemoryKeyring::default());
        other
            .store(
                &keyring_account(&path),
                &age::x25519::Identity::generate().to_string(),
            )
            .unwrap();
        let wrong = Vault::new(&path, other, None);
        assert!(matches!(
            wrong.set_secret("B", &secret("2")),
            Err(VaultError::WrongKey { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_corrupted_file_is_reported_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyring::default());
        Vault::new(&path, keys.clone(), None)
            .set_secret("A", &secret("1"))
            .unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 5;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let vault = Vault::new(&path, keys.clone(), None);
        let err = vault.set_secret("B", &secret("2")).unwrap_err();
        assert!(matches!(err, VaultError::Corrupted { .. }), "{err}");
        assert!(err.to_string().contains("left untouched"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes);

        std::fs::write(&path, b"garbage").unwrap();
        assert!(matches!(
            Vault::new(&path, keys, None).secret_names(),
            Err(VaultError::Corrupted { .. })
        ));
    }
}
