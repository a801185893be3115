//! Why a vault operation failed. Every variant says what the person can do,
//! and none carries a secret.

use std::io;
use std::path::PathBuf;

use super::{MIN_PASSPHRASE_CHARS, PASSPHRASE_ENV};
use crate::error_code::ErrorCode;
use crate::permissions::UnsafePath;
use crate::template::{MissingSecret, TemplateError};

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
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::PassphraseRequired => ErrorCode::VaultNeedsPassphrase,
            Self::WrongPassphrase { .. } => ErrorCode::VaultWrongPassphrase,
            Self::PassphraseTooShort => ErrorCode::VaultPassphraseTooShort,
            Self::NoKeyring { .. } => ErrorCode::VaultNoKeyring,
            Self::KeyMissing { .. } => ErrorCode::VaultKeyMissing,
            Self::WrongKey { .. } => ErrorCode::VaultWrongKey,
            Self::Corrupted { .. } => ErrorCode::VaultCorrupted,
            Self::NewerFormat { .. } => ErrorCode::VaultNewerFormat,
            Self::TooCostly { .. } => ErrorCode::VaultTooCostly,
            Self::Read { .. } => ErrorCode::VaultReadFailed,
            Self::Write { .. } | Self::KeyringWrite { .. } => ErrorCode::VaultWriteFailed,
            Self::UnsafeLocation(_) => ErrorCode::VaultUnsafeLocation,
            Self::InvalidName(_) => ErrorCode::InvalidSecretName,
            Self::EmptySecret => ErrorCode::EmptySecret,
            Self::NotFound { .. } => ErrorCode::SecretNotFound,
            Self::NoIdentity => ErrorCode::VaultNoIdentity,
            Self::NotCreated => ErrorCode::VaultNotCreated,
        }
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
