//! The vault: one age-encrypted file holding the person's named secrets,
//! OAuth credentials and client registrations.
//!
//! The file is a standard age file, so a backup can be opened with the `age`
//! or `rage` tools. It is encrypted either to an X25519 identity kept in the
//! OS keyring (the default) or, when no keyring is reachable or
//! `GATEHOUSE_VAULT_PASSPHRASE` is set, to a passphrase (age's scrypt).
//!
//! [`Vault`] is the single owner of the file inside a process: every change is
//! a read-modify-write under a mutex and a cross-process file lock, written
//! atomically, so neither a crash nor a concurrent CLI can lose an update. A
//! file that cannot be decrypted or parsed is never overwritten.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;
use zeroize::{Zeroize, Zeroizing};

use crate::fsutil::{self, FileLock, Fingerprint};
use crate::permissions::{self, UnsafePath};
use crate::template::{self, MissingSecret, Template, TemplateError};

/// Environment variable holding the vault passphrase.
pub const PASSPHRASE_ENV: &str = "GATEHOUSE_VAULT_PASSPHRASE";
/// Service name of Gatehouse's entries in the OS keyring.
pub const KEYRING_SERVICE: &str = "gatehouse";
/// The fewest characters a passphrase chosen for a new vault may have.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

const DOCUMENT_VERSION: u32 = 1;

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
        code: String,
        message: String,
    },
}

/// Why a vault operation failed. Never carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    #[error(
        "the vault is protected by a passphrase: enter it, or set {PASSPHRASE_ENV} for non-interactive use"
    )]
    PassphraseRequired,
    #[error("the passphrase does not open the vault {}", path.display())]
    WrongPassphrase { path: PathBuf },
    #[error(
        "a new vault's passphrase must have at least {MIN_PASSPHRASE_CHARS} characters ({PASSPHRASE_ENV} included)"
    )]
    PassphraseTooShort,
    #[error(
        "no OS keyring is reachable ({detail}); choose a vault passphrase instead (or set {PASSPHRASE_ENV})"
    )]
    NoKeyring { detail: String },
    #[error(
        "the key of the vault {} is not in the OS keyring (was the keyring reset?); restore the key, or move the vault aside to start a new one",
        path.display()
    )]
    KeyMissing { path: PathBuf },
    #[error("the key in the OS keyring does not open the vault {}", path.display())]
    WrongKey { path: PathBuf },
    #[error(
        "the vault {} is damaged and cannot be read ({detail}); it was left untouched",
        path.display()
    )]
    Corrupted { path: PathBuf, detail: String },
    #[error(
        "the vault {} was written by a newer Gatehouse (format {version}); it was left untouched",
        path.display()
    )]
    NewerFormat { path: PathBuf, version: u32 },
    #[error(
        "opening the vault {} would take too much work (scrypt work factor {work_factor}); it was left untouched",
        path.display()
    )]
    TooCostly { path: PathBuf, work_factor: u8 },
    #[error("cannot read the vault {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write the vault {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The data directory or the vault path is not safe to use.
    #[error(transparent)]
    UnsafeLocation(#[from] UnsafePath),
    #[error("cannot store the vault key in the OS keyring: {detail}")]
    KeyringWrite { detail: String },
    #[error(transparent)]
    InvalidName(#[from] TemplateError),
    #[error("a secret cannot be empty")]
    EmptySecret,
    #[error("secret {name:?} is not in the vault")]
    NotFound { name: String },
    #[error(
        "this vault is protected by a passphrase and has no identity to export; decrypt a copy with `age -d` and the passphrase"
    )]
    NoIdentity,
    #[error("there is no vault yet; it is created when the first secret is stored")]
    NotCreated,
}

impl VaultError {
    /// A stable machine-readable code, for the UI to switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::PassphraseRequired => "vault_needs_passphrase",
            Self::WrongPassphrase { .. } => "vault_wrong_passphrase",
            Self::PassphraseTooShort => "vault_passphrase_too_short",
            Self::NoKeyring { .. } => "vault_no_keyring",
            Self::KeyMissing { .. } => "vault_key_missing",
            Self::WrongKey { .. } => "vault_wrong_key",
            Self::Corrupted { .. } => "vault_corrupted",
            Self::NewerFormat { .. } => "vault_newer_format",
            Self::TooCostly { .. } => "vault_too_costly",
            Self::Read { .. } => "vault_read_failed",
            Self::Write { .. } | Self::KeyringWrite { .. } => "vault_write_failed",
            Self::UnsafeLocation(_) => "vault_unsafe_location",
            Self::InvalidName(_) => "invalid_secret_name",
            Self::EmptySecret => "empty_secret",
            Self::NotFound { .. } => "secret_not_found",
            Self::NoIdentity => "vault_no_identity",
            Self::NotCreated => "vault_not_created",
        }
    }
}

/// The one rule for a passphrase chosen for a new vault, whichever way it
/// comes (a prompt, the desktop's form, `GATEHOUSE_VAULT_PASSPHRASE`): at
/// least [`MIN_PASSPHRASE_CHARS`] characters. An existing vault opens with
/// the passphrase it was made with, however short: refusing it would lock
/// the person out of their own secrets.
pub fn check_new_passphrase(passphrase: &SecretString) -> Result<(), VaultError> {
    if passphrase.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(VaultError::PassphraseTooShort);
    }
    Ok(())
}

/// Reads `GATEHOUSE_VAULT_PASSPHRASE` (ignored when empty) and removes it
/// from this process's environment, so that no child process — the browser,
/// the system's opener — inherits it. Front ends call it first thing in
/// `main` and hand the result to [`Vault::with_os_keyring`].
///
/// # Safety
///
/// Changes the process environment: call it before any other thread exists
/// (see [`std::env::remove_var`]).
pub unsafe fn take_passphrase_from_env() -> Option<SecretString> {
    let passphrase = std::env::var_os(PASSPHRASE_ENV);
    if passphrase.is_some() {
        // SAFETY: the caller guarantees no other thread exists yet.
        unsafe { std::env::remove_var(PASSPHRASE_ENV) };
    }
    passphrase
        .filter(|p| !p.is_empty())
        .map(|p| SecretString::from(p.to_string_lossy().into_owned()))
}

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

/// The decrypted contents. Unknown top-level fields, written by a newer
/// Gatehouse, are kept and written back untouched.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct VaultDocument {
    pub(crate) version: u32,
    #[serde(default)]
    pub(crate) secrets: BTreeMap<String, String>,
    /// OAuth credentials, keyed by server storage key, then issuer.
    #[serde(default)]
    pub(crate) oauth_credentials: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Client registrations, keyed by issuer, then client id.
    #[serde(default)]
    pub(crate) client_registrations: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// The authorization server each pre-registered client was first used
    /// with, keyed by server storage key, then client id: its id and secret
    /// are presented there only, also after a sign-out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) client_issuers: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

impl Drop for VaultDocument {
    fn drop(&mut self) {
        for value in self.secrets.values_mut() {
            value.zeroize();
        }
    }
}

enum Key {
    Identity(age::x25519::Identity),
    Passphrase(SecretString),
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

struct Inner {
    path: PathBuf,
    keys: Arc<dyn KeyStore>,
    passphrase: Option<SecretString>,
    key: Option<Key>,
    doc: VaultDocument,
    /// The on-disk version `doc` reflects; `None` before the first load.
    loaded: Option<Option<Fingerprint>>,
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
                            code: error.code().to_owned(),
                            message: error.to_string(),
                        },
                    }
                }
            },
            Err(VaultError::PassphraseRequired) => VaultStatus::NeedsPassphrase,
            Err(e) => VaultStatus::Unavailable {
                code: e.code().to_owned(),
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

/// A header value could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    #[error(transparent)]
    Missing(MissingSecret),
    #[error(transparent)]
    Vault(#[from] VaultError),
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

    fn decrypt(&self, bytes: &[u8]) -> Result<(VaultDocument, Key), VaultError> {
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
    fn new_key(&self) -> Result<Key, VaultError> {
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

    fn encrypt(&self, plaintext: &[u8]) -> io::Result<Vec<u8>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    type MemoryKeyring = MemoryKeyStore;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
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
            VaultStatus::Unavailable { ref code, .. } if code == "vault_no_keyring"
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

    #[test]
    fn a_new_vault_needs_a_passphrase_of_eight_characters_on_every_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyring::default());
        keys.unreachable
            .store(true, std::sync::atomic::Ordering::SeqCst);
        // Chosen in the desktop's form or at the CLI's prompt.
        let vault = Vault::new(&path, keys.clone(), None);
        let err = vault.use_passphrase(secret("seven77")).unwrap_err();
        assert!(matches!(err, VaultError::PassphraseTooShort), "{err}");
        assert!(err.to_string().contains("at least 8 characters"), "{err}");
        assert!(!err.to_string().contains("seven77"));
        // Refused, so not kept: the vault still needs one.
        assert!(matches!(
            vault.set_secret("A", &secret("1")),
            Err(VaultError::NoKeyring { .. })
        ));
        // Characters, not bytes: eight of them, four bytes each.
        assert!(check_new_passphrase(&secret("🔑🔑🔑🔑🔑🔑🔑")).is_err());
        check_new_passphrase(&secret("🔑🔑🔑🔑🔑🔑🔑🔑")).unwrap();
        // Given up front, as GATEHOUSE_VAULT_PASSPHRASE is.
        let from_env = Vault::new(&path, keys.clone(), Some(secret("short")));
        assert!(matches!(
            from_env.status(),
            VaultStatus::Unavailable { ref code, .. } if code == "vault_passphrase_too_short"
        ));
        assert!(matches!(
            from_env.set_secret("A", &secret("1")),
            Err(VaultError::PassphraseTooShort)
        ));
        assert!(matches!(
            from_env.ensure_writable(),
            Err(VaultError::PassphraseTooShort)
        ));
        assert!(!path.exists(), "no vault was made with it");
        Vault::new(&path, keys, Some(secret("eight ch")))
            .set_secret("A", &secret("1"))
            .unwrap();
    }

    #[test]
    fn a_vault_made_with_a_short_passphrase_still_opens_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        // Written before the rule, or by the `age` tool.
        let mut recipient = age::scrypt::Recipient::new(secret("short"));
        recipient.set_work_factor(10);
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .unwrap();
        let mut bytes = Vec::new();
        let mut writer = encryptor.wrap_output(&mut bytes).unwrap();
        writer
            .write_all(br#"{"version":1,"secrets":{"A":"1"}}"#)
            .unwrap();
        writer.finish().unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let keys = Arc::new(MemoryKeyring::default());
        let from_env = Vault::new(&path, keys.clone(), Some(secret("short")));
        assert_eq!(from_env.secret_names().unwrap(), ["A"]);
        from_env.set_secret("B", &secret("2")).unwrap();
        let prompted = Vault::new(&path, keys, None);
        prompted.use_passphrase(secret("short")).unwrap();
        assert_eq!(prompted.secret_names().unwrap(), ["A", "B"]);
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
        assert_eq!(err.code(), "vault_unsafe_location");
        assert!(
            !elsewhere.exists(),
            "nothing was created where the link points"
        );
        assert!(
            matches!(vault.status(), VaultStatus::Unavailable { ref code, .. } if code == "vault_unsafe_location")
        );
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
    fn unknown_fields_survive_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyring::default());
        let vault = Vault::new(&path, keys.clone(), None);
        vault.set_secret("A", &secret("1")).unwrap();
        vault
            .update(|doc| {
                doc.other
                    .insert("future".into(), serde_json::json!({"x": 1}));
            })
            .unwrap();
        let reopened = Vault::new(&path, keys, None);
        reopened.set_secret("B", &secret("2")).unwrap();
        assert!(
            reopened
                .read(|doc| doc.other.contains_key("future"))
                .unwrap()
        );
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
