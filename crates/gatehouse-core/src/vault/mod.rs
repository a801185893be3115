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
//!
//! One concern per file: `owner` ([`Vault`] and its status), `document`
//! (the decrypted contents), `crypto` (age encryption and the choice of
//! key), `key_store` (OS keyring, memory), `passphrase` and `error`.

mod crypto;
mod document;
mod error;
mod key_store;
mod owner;
mod passphrase;

pub use error::{ResolveError, VaultError};
pub use key_store::{KEYRING_SERVICE, KeyStore, MemoryKeyStore, OsKeyring, keyring_account};
pub use owner::{Protection, Vault, VaultStatus};
pub use passphrase::{
    MIN_PASSPHRASE_CHARS, PASSPHRASE_ENV, check_new_passphrase, take_passphrase_from_env,
};

#[cfg(test)]
mod test_support {
    use secrecy::SecretString;

    pub type MemoryKeyring = super::MemoryKeyStore;

    pub fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }
}
