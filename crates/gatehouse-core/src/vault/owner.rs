//! [`Vault`], the single owner of the vault file inside a process: every
//! change is a read-modify-write under a mutex and a cross-process file
//! lock, written atomically, so neither a crash nor a concurrent CLI can
//! lose an update; and what the vault can do right now ([`VaultStatus`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use ts_rs::TS;
use zeroize::{Zeroize, Zeroizing};

use super::crypto::Key;
use super::document::{DOCUMENT_VERSION, VaultDocument};
use super::key_store::{KeyStore, OsKeyring, keyring_account};
use super::passphrase::{PASSPHRASE_ENV, check_new_passphrase};
use super::{ResolveError, VaultError};
use crate::error_code::ErrorCode;
use crate::fsutil::{self, FileLock, Fingerprint};
use crate::permissions;
use crate::template::{self, Template};

/// How the vault file is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// To an X25519 identity kept in the OS keyring.
    Keyring,
    /// To a passphrase (age scrypt).
    Passphrase,
}

/// What the vault can do right now, for the UI and `gatehouse` status output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VaultStatus {
    /// No vault file yet; storing the first secret creates it.
    NotCreated,
    Unlocked {
        protection: Protection,
    },
    /// Passphrase-protected and waiting for the passphrase.
    NeedsPassphrase,
    /// The vault cannot be used; `message` says why and what to do.
    Unavailable {
        code: ErrorCode,
        message: String,
    },
}

/// The vault. Cheap to clone; all clones share one owner.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Mutex<Inner>>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.lock().path)
            .finish_non_exhaustive()
    }
}

pub(super) struct Inner {
    pub(super) path: PathBuf,
    pub(super) keys: Arc<dyn KeyStore>,
    pub(super) passphrase: Option<SecretString>,
    pub(super) key: Option<Key>,
    pub(super) doc: VaultDocument,
    /// The on-disk version `doc` reflects; `None` before the first load.
    pub(super) loaded: Option<Option<Fingerprint>>,
}

impl Vault {
    /// A vault at `path` whose identity lives in `keys`. Nothing is read until
    /// first use. `passphrase` (e.g. from `GATEHOUSE_VAULT_PASSPHRASE`)
    /// opens a passphrase vault, and makes a new vault use a passphrase.
    pub fn new(
        path: impl Into<PathBuf>,
        keys: Arc<dyn KeyStore>,
        passphrase: Option<SecretString>,
    ) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                path: path.into(),
                keys,
                passphrase,
                key: None,
                doc: VaultDocument::default(),
                loaded: None,
            })),
        }
    }

    /// The vault in `path` with the OS keyring and the passphrase from
    /// `GATEHOUSE_VAULT_PASSPHRASE`, if set. The variable stays in the
    /// environment: a program that starts other programs takes it out with
    /// [`take_passphrase_from_env`] and uses [`Vault::with_os_keyring`].
    pub fn open_default(path: impl Into<PathBuf>) -> Self {
        let passphrase = std::env::var(PASSPHRASE_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .map(SecretString::from);
        Self::with_os_keyring(path, passphrase)
    }

    /// The vault in `path` with the OS keyring and the given passphrase.
    pub fn with_os_keyring(path: impl Into<PathBuf>, passphrase: Option<SecretString>) -> Self {
        Self::new(path, Arc::new(OsKeyring), passphrase)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves `doc` as last loaded or
        // written, which is consistent: recover rather than poison forever.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn path(&self) -> PathBuf {
        self.lock().path.clone()
    }

    /// Supplies a passphrase: unlocks a passphrase vault (checking it at
    /// once), or makes a vault that does not exist yet use one (if it is
    /// long enough: [`check_new_passphrase`]).
    pub fn use_passphrase(&self, passphrase: SecretString) -> Result<(), VaultError> {
        let mut inner = self.lock();
        let previous = inner.passphrase.replace(passphrase);
        inner.loaded = None;
        inner.key = None;
        let checked = inner
            .refresh()
            .and_then(|()| match (&inner.key, &inner.passphrase) {
                // No vault yet: this passphrase is being chosen.
                (None, Some(chosen)) => check_new_passphrase(chosen),
                _ => Ok(()),
            });
        match checked {
            Ok(()) => Ok(()),
            Err(e) => {
                inner.passphrase = previous;
                inner.loaded = None;
                Err(e)
            }
        }
    }

    /// Makes sure the vault can be written: opens it, or for a vault that
    /// does not exist yet, settles its key (creating it in the keyring).
    /// Lets a front end ask for a passphrase before work that will store
    /// something, rather than in the middle of it.
    pub fn ensure_writable(&self) -> Result<(), VaultError> {
        let mut inner = self.lock();
        inner.refresh()?;
        if inner.key.is_none() {
            let key = inner.new_key()?;
            inner.key = Some(key);
        }
        Ok(())
    }

    /// The vault's age identity (`AGE-SECRET-KEY-1…`), for decrypting a
    /// backup with the `age` or `rage` tools. Only keyring vaults have one;
    /// a passphrase vault opens with `age -d` and its passphrase.
    pub fn export_identity(&self) -> Result<SecretString, VaultError> {
        let mut inner = self.lock();
        inner.refresh()?;
        match &inner.key {
            Some(Key::Identity(identity)) => Ok(identity.to_string()),
            Some(Key::Passphrase(_)) => Err(VaultError::NoIdentity),
            None => Err(VaultError::NotCreated),
        }
    }

    /// What the vault can do now.
    pub fn status(&self) -> VaultStatus {
        let mut inner = self.lock();
        match inner.refresh() {
            Ok(()) => match &inner.key {
                Some(Key::Identity(_)) => VaultStatus::Unlocked {
                    protection: Protection::Keyring,
                },
                Some(Key::Passphrase(_)) => VaultStatus::Unlocked {
                    protection: Protection::Passphrase,
                },
                // Not created yet: say now whether it can be, so a person
                // without a keyring (or with too short a passphrase) finds
                // out before the first secret rather than after a failed save.
                None => {
                    let ready = match &inner.passphrase {
                        Some(passphrase) => check_new_passphrase(passphrase),
                        None => inner
                            .keys
                            .load(&keyring_account(&inner.path))
                            .map(drop)
                            .map_err(|detail| VaultError::NoKeyring { detail }),
                    };
                    match ready {
                        Ok(()) => VaultStatus::NotCreated,
                        Err(error) => VaultStatus::Unavailable {
                            code: error.code(),
                            message: error.to_string(),
                        },
                    }
                }
            },
            Err(VaultError::PassphraseRequired) => VaultStatus::NeedsPassphrase,
            Err(e) => VaultStatus::Unavailable {
                code: e.code(),
                message: e.to_string(),
            },
        }
    }

    /// Names of the stored secrets, sorted.
    pub fn secret_names(&self) -> Result<Vec<String>, VaultError> {
        self.read(|doc| doc.secrets.keys().cloned().collect())
    }

    /// Stores or replaces a named secret.
    pub fn set_secret(&self, name: &str, value: &SecretString) -> Result<(), VaultError> {
        template::validate_secret_name(name)?;
        if value.expose_secret().is_empty() {
            return Err(VaultError::EmptySecret);
        }
        self.update(|doc| {
            doc.secrets
                .insert(name.to_owned(), value.expose_secret().to_owned());
        })
    }

    /// Stores or replaces several named secrets in one write: all of them
    /// or, when one name or value is invalid, none.
    pub fn set_secrets<'a, I>(&self, secrets: I) -> Result<(), VaultError>
    where
        I: IntoIterator<Item = (&'a str, &'a SecretString)>,
    {
        let secrets: Vec<(&str, &SecretString)> = secrets.into_iter().collect();
        for (name, value) in &secrets {
            template::validate_secret_name(name)?;
            if value.expose_secret().is_empty() {
                return Err(VaultError::EmptySecret);
            }
        }
        self.update(|doc| {
            for (name, value) in secrets {
                doc.secrets
                    .insert(name.to_owned(), value.expose_secret().to_owned());
            }
        })
    }

    /// Deletes a named secret.
    pub fn delete_secret(&self, name: &str) -> Result<(), VaultError> {
        template::validate_secret_name(name)?;
        if !self.read(|doc| doc.secrets.contains_key(name))? {
            return Err(VaultError::NotFound {
                name: name.to_owned(),
            });
        }
        self.update(|doc| {
            if let Some(mut value) = doc.secrets.remove(name) {
                value.zeroize();
            }
        })
    }

    /// Resolves each template against the stored secrets.
    pub fn resolve<'t, I>(&self, templates: I) -> Result<Vec<SecretString>, ResolveError>
    where
        I: IntoIterator<Item = &'t Template>,
    {
        let templates: Vec<&Template> = templates.into_iter().collect();
        if templates.iter().all(|t| t.is_literal()) {
            // No secret needed: never make a locked vault block a plain value.
            return Ok(templates
                .iter()
                .map(|t| t.resolve(|_| None).expect("literal"))
                .collect());
        }
        self.read(|doc| {
            let secrets: BTreeMap<&str, SecretString> = doc
                .secrets
                .iter()
                .map(|(k, v)| (k.as_str(), SecretString::from(v.as_str())))
                .collect();
            templates
                .iter()
                .map(|t| t.resolve(|name| secrets.get(name)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(ResolveError::Missing)
        })?
    }

    /// Every value the vault keeps secret: the person's secrets, and the
    /// tokens and client secrets of its OAuth grants and registrations; for
    /// cutting out of text that leaves Gatehouse (the diagnostics report).
    /// Empty when the vault is locked: this never asks for a passphrase.
    pub(crate) fn secret_values(&self) -> Vec<SecretString> {
        if !matches!(self.status(), VaultStatus::Unlocked { .. }) {
            return Vec::new();
        }
        self.read(|doc| {
            let mut values: Vec<SecretString> = doc
                .secrets
                .values()
                .map(|v| SecretString::from(v.as_str()))
                .collect();
            for grants in doc
                .oauth_credentials
                .values()
                .chain(doc.client_registrations.values())
            {
                for grant in grants.values() {
                    collect_secret_strings(grant, &mut values);
                }
            }
            values
        })
        .unwrap_or_default()
    }

    /// Runs `f` on the current contents.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&VaultDocument) -> T) -> Result<T, VaultError> {
        let mut inner = self.lock();
        inner.refresh()?;
        Ok(f(&inner.doc))
    }

    /// Applies `f` to the current contents and writes the result, under
    /// the cross-process lock.
    pub(crate) fn update<T>(
        &self,
        f: impl FnOnce(&mut VaultDocument) -> T,
    ) -> Result<T, VaultError> {
        let mut inner = self.lock();
        let path = inner.path.clone();
        // Before the lock file: a dangling link must not lead it elsewhere.
        permissions::secure_vault_location(&path)?;
        let _file_lock = FileLock::acquire(&path).map_err(|source| VaultError::Write {
            path: path.clone(),
            source,
        })?;
        inner.refresh()?;
        if inner.key.is_none() {
            let key = inner.new_key()?;
            inner.key = Some(key);
        }
        let result = f(&mut inner.doc);
        inner.doc.version = DOCUMENT_VERSION;
        let plaintext = Zeroizing::new(
            serde_json::to_vec(&inner.doc).expect("the vault document always serializes"),
        );
        let ciphertext = inner
            .encrypt(&plaintext)
            .map_err(|source| VaultError::Write {
                path: path.clone(),
                source,
            })?;
        fsutil::write_atomic(&path, &ciphertext).map_err(|source| VaultError::Write {
            path: path.clone(),
            source,
        })?;
        inner.loaded = Some(Fingerprint::of(&path).map_err(|source| VaultError::Read {
            path: path.clone(),
            source,
        })?);
        Ok(result)
    }
}

impl Inner {
    /// Makes `doc` reflect the file on disk, reloading when another process
    /// (or a restore) replaced it.
    fn refresh(&mut self) -> Result<(), VaultError> {
        let path = self.path.clone();
        permissions::secure_vault_location(&path)?;
        let current = Fingerprint::of(&path).map_err(|source| VaultError::Read {
            path: path.clone(),
            source,
        })?;
        if self.loaded.as_ref() == Some(&current) {
            return Ok(());
        }
        let Some(_) = current else {
            // No file: an empty vault. A key is chosen at the first write.
            self.doc = VaultDocument::default();
            self.key = None;
            self.loaded = Some(None);
            return Ok(());
        };
        let bytes = std::fs::read(&path).map_err(|source| VaultError::Read {
            path: path.clone(),
            source,
        })?;
        let (doc, key) = self.decrypt(&bytes)?;
        self.doc = doc;
        self.key = Some(key);
        self.loaded = Some(current);
        Ok(())
    }
}

/// The string values under keys that name a token, a secret or a DPoP
/// key (`access_token`, `refresh_token`, `client_secret`, `dpop`, …),
/// anywhere in `value`.
fn collect_secret_strings(value: &serde_json::Value, out: &mut Vec<SecretString>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                let secret_key = key.contains("token") || key.contains("secret") || key == "dpop";
                match inner {
                    serde_json::Value::String(text) if secret_key => {
                        out.push(SecretString::from(text.as_str()));
                    }
                    other => collect_secret_strings(other, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_secret_strings(item, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::UnsafePath;
    use crate::vault::test_support::{MemoryKeyring, secret};
    use std::io::Read;

    #[test]
    fn set_secrets_stores_all_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyring::default());
        let vault = Vault::new(&path, keys.clone(), None);
        let (a, b) = (secret("alpha"), secret("beta"));
        vault.set_secrets([("A", &a), ("B", &b)]).unwrap();
        let reopened = Vault::new(&path, keys.clone(), None);
        assert_eq!(reopened.secret_names().unwrap(), ["A", "B"]);
        let template = Template::parse("${A}-${B}").unwrap();
        let resolved = reopened.resolve([&template]).unwrap();
        assert_eq!(resolved[0].expose_secret(), "alpha-beta");

        // One bad entry: nothing of the batch is stored.
        let (c, empty) = (secret("gamma"), secret(""));
        assert!(matches!(
            vault.set_secrets([("C", &c), ("D", &empty)]),
            Err(VaultError::EmptySecret)
        ));
        assert!(vault.set_secrets([("C", &c), ("not a name", &c)]).is_err());
        let reopened = Vault::new(&path, keys, None);
        assert_eq!(reopened.secret_names().unwrap(), ["A", "B"]);
    }

    #[test]
    fn keyring_vault_round_trip_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyring::default());
        let vault = Vault::new(&path, keys.clone(), None);
        assert_eq!(vault.status(), VaultStatus::NotCreated);
        vault.set_secret("TOKEN", &secret("t0ken-value")).unwrap();
        vault.set_secret("OTHER", &secret("x")).unwrap();
        assert_eq!(
            vault.status(),
            VaultStatus::Unlocked {
                protection: Protection::Keyring
            }
        );
        let raw = std::fs::read(&path).unwrap();
        assert!(raw.starts_with(b"age-encryption.org/v1\n-> X25519 "));
        assert!(!raw.windows(11).any(|w| w == b"t0ken-value"));

        let reopened = Vault::new(&path, keys, None);
        assert_eq!(reopened.secret_names().unwrap(), ["OTHER", "TOKEN"]);
        let template = Template::parse("Bearer ${TOKEN}").unwrap();
        let resolved = reopened.resolve([&template]).unwrap();
        assert_eq!(resolved[0].expose_secret(), "Bearer t0ken-value");
        reopened.delete_secret("OTHER").unwrap();
        assert!(matches!(
            reopened.delete_secret("OTHER"),
            Err(VaultError::NotFound { .. })
        ));
        assert_eq!(
            vault.secret_names().unwrap(),
            ["TOKEN"],
            "sees the other writer"
        );
    }

    #[test]
    fn the_identity_exports_for_age_backups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let vault = Vault::new(&path, Arc::new(MemoryKeyring::default()), None);
        assert!(matches!(
            vault.export_identity(),
            Err(VaultError::NotCreated)
        ));
        vault.set_secret("A", &secret("1")).unwrap();
        let identity: age::x25519::Identity = vault
            .export_identity()
            .unwrap()
            .expose_secret()
            .parse()
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let decryptor = age::Decryptor::new(&bytes[..]).unwrap();
        let mut text = String::new();
        decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert!(text.contains("\"A\""));
        let with_passphrase = Vault::new(
            dir.path().join("p.age"),
            Arc::new(MemoryKeyring::default()),
            Some(secret("pass phrase")),
        );
        with_passphrase.set_secret("A", &secret("1")).unwrap();
        assert!(matches!(
            with_passphrase.export_identity(),
            Err(VaultError::NoIdentity)
        ));
    }

    #[test]
    fn passphrase_vault_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyring::default());
        let vault = Vault::new(&path, keys.clone(), Some(secret("correct horse")));
        vault.set_secret("A", &secret("1")).unwrap();
        let raw = std::fs::read(&path).unwrap();
        assert!(raw.starts_with(b"age-encryption.org/v1\n-> scrypt "));

        let locked = Vault::new(&path, keys.clone(), None);
        assert_eq!(locked.status(), VaultStatus::NeedsPassphrase);
        assert!(matches!(
            locked.secret_names(),
            Err(VaultError::PassphraseRequired)
        ));
        assert!(matches!(
            locked.use_passphrase(secret("wrong")),
            Err(VaultError::WrongPassphrase { .. })
        ));
        assert!(matches!(
            locked.set_secret("B", &secret("2")),
            Err(VaultError::PassphraseRequired)
        ));
        locked.use_passphrase(secret("correct horse")).unwrap();
        assert_eq!(locked.secret_names().unwrap(), ["A"]);
    }

    #[test]
    fn no_keyring_asks_for_a_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyring::default());
        keys.unreachable
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let vault = Vault::new(&path, keys, None);
        // Reading an empty vault needs no key…
        assert!(vault.secret_names().unwrap().is_empty());
        // …but the state says up front that a passphrase will be needed.
        assert!(matches!(
            vault.status(),
            VaultStatus::Unavailable {
                code: ErrorCode::VaultNoKeyring,
                ..
            }
        ));
        let err = vault.set_secret("A", &secret("1")).unwrap_err();
        assert!(matches!(err, VaultError::NoKeyring { .. }), "{err}");
        assert!(err.to_string().contains(PASSPHRASE_ENV));
        assert!(!path.exists());
        vault.use_passphrase(secret("long enough")).unwrap();
        vault.set_secret("A", &secret("1")).unwrap();
        assert_eq!(
            vault.status(),
            VaultStatus::Unlocked {
                protection: Protection::Passphrase
            }
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_vault_link_is_not_followed_and_a_loose_data_dir_is_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = data.join("vault.age");
        let elsewhere = root.path().join("elsewhere");
        std::os::unix::fs::symlink(elsewhere.join("vault.age"), &path).unwrap();
        let keys = Arc::new(MemoryKeyring::default());
        let vault = Vault::new(&path, keys.clone(), None);
        let err = vault.set_secret("A", &secret("1")).unwrap_err();
        assert!(
            matches!(
                err,
                VaultError::UnsafeLocation(UnsafePath::DanglingLink { .. })
            ),
            "{err}"
        );
        assert_eq!(err.code(), ErrorCode::VaultUnsafeLocation);
        assert!(
            !elsewhere.exists(),
            "nothing was created where the link points"
        );
        assert!(matches!(
            vault.status(),
            VaultStatus::Unavailable {
                code: ErrorCode::VaultUnsafeLocation,
                ..
            }
        ));
        assert_eq!(
            std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
            0o700,
            "the data directory was made private"
        );
        // A link to a vault that is there is kept, and the vault written
        // where it lives.
        let target = elsewhere.join("vault.age");
        Vault::new(&target, keys.clone(), Some(secret("long enough")))
            .set_secret("A", &secret("1"))
            .unwrap();
        let linked = Vault::new(&path, keys.clone(), Some(secret("long enough")));
        linked.set_secret("B", &secret("2")).unwrap();
        assert!(
            std::fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let direct = Vault::new(&target, keys, Some(secret("long enough")));
        assert_eq!(direct.secret_names().unwrap(), ["A", "B"]);
    }

    #[test]
    fn a_write_torn_by_a_crash_leaves_the_vault_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyring::default());
        Vault::new(&path, keys.clone(), None)
            .set_secret("A", &secret("1"))
            .unwrap();
        // A crash between writing the temporary file and the rename leaves
        // a partial temporary file beside the intact vault.
        std::fs::write(
            dir.path().join(".vault.age.x1y2z3.tmp"),
            b"age-encryption.org/v1\n-> X2",
        )
        .unwrap();
        let reopened = Vault::new(&path, keys, None);
        assert_eq!(reopened.secret_names().unwrap(), ["A"]);
        reopened.set_secret("B", &secret("2")).unwrap();
        assert_eq!(reopened.secret_names().unwrap(), ["A", "B"]);
    }

    #[test]
    fn names_and_values_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::new(
            dir.path().join("v.age"),
            Arc::new(MemoryKeyring::default()),
            None,
        );
        assert!(matches!(
            vault.set_secret("bad name", &secret("1")),
            Err(VaultError::InvalidName(_))
        ));
        assert!(matches!(
            vault.set_secret("A", &secret("")),
            Err(VaultError::EmptySecret)
        ));
    }

    #[test]
    fn missing_secret_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::new(
            dir.path().join("v.age"),
            Arc::new(MemoryKeyring::default()),
            None,
        );
        vault.set_secret("A", &secret("1")).unwrap();
        let t = Template::parse("${A} ${B}").unwrap();
        match vault.resolve([&t]) {
            Err(ResolveError::Missing(m)) => assert_eq!(m.name, "B"),
            other => panic!("{other:?}"),
        }
    }
}
