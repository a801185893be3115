//! The passphrase alternative to the OS keyring: where it comes from
//! (`GATEHOUSE_VAULT_PASSPHRASE`, taken out of the environment before any
//! child process can inherit it) and the rule a new one must meet.

use secrecy::{ExposeSecret, SecretString};

use super::VaultError;

/// Environment variable holding the vault passphrase.
pub const PASSPHRASE_ENV: &str = "GATEHOUSE_VAULT_PASSPHRASE";
/// The fewest characters a passphrase chosen for a new vault may have.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::test_support::{MemoryKeyring, secret};
    use crate::vault::{Vault, VaultStatus};
    use std::io::Write;
    use std::sync::Arc;

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
            VaultStatus::Unavailable {
                code: crate::ErrorCode::VaultPassphraseTooShort,
                ..
            }
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
}
