//! The one list of machine-readable error codes. Every `code()` in the
//! engine returns an [`ErrorCode`], the desktop shell sends it as the
//! `code` of its `{ code, message }` IPC errors, and ts-rs exports it to the
//! UI as a union of string literals, so the window switches over a closed
//! set and TypeScript catches a misspelt code.
//!
//! The strings are part of the IPC contract: a variant may be added (when a
//! consumer needs it, not before), but its wire string never changes.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Declares [`ErrorCode`] with each variant's wire string written once,
/// used both by serde (and so by the TypeScript bindings) and by
/// [`ErrorCode::as_str`]. Only codes something produces belong here: the
/// engine's `code()`s, the desktop shell, or the window's `ipc.ts`.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal,)*) => {
        /// What went wrong, for a program to act on; the message beside it
        /// is for people.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $wire)] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order declared.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                }
            }
        }
    };
}

error_codes! {
    // The config file (`ConfigError`).
    /// The change or the file breaks a validation rule; the IPC error
    /// carries the issues.
    InvalidConfig = "invalid_config",
    /// The config file is not valid TOML (or has an unknown field).
    ConfigSyntax = "config_syntax",
    /// The config file could not be read or written, or is not safe to use.
    ConfigIo = "config_io",
    /// No server has the given id.
    UnknownServer = "unknown_server",

    // The vault (`VaultError`).
    VaultNeedsPassphrase = "vault_needs_passphrase",
    VaultWrongPassphrase = "vault_wrong_passphrase",
    VaultPassphraseTooShort = "vault_passphrase_too_short",
    /// No OS keyring is reachable: the person chooses a passphrase instead.
    VaultNoKeyring = "vault_no_keyring",
    VaultKeyMissing = "vault_key_missing",
    VaultWrongKey = "vault_wrong_key",
    VaultCorrupted = "vault_corrupted",
    VaultNewerFormat = "vault_newer_format",
    VaultTooCostly = "vault_too_costly",
    VaultReadFailed = "vault_read_failed",
    VaultWriteFailed = "vault_write_failed",
    VaultUnsafeLocation = "vault_unsafe_location",
    VaultNoIdentity = "vault_no_identity",
    VaultNotCreated = "vault_not_created",
    InvalidSecretName = "invalid_secret_name",
    EmptySecret = "empty_secret",
    SecretNotFound = "secret_not_found",

    // The HTTP gateway's client tokens (`TokenError`).
    /// A gateway client name that is empty, too long or has odd characters.
    InvalidClientName = "invalid_client_name",
    /// A gateway client of that name has a token already.
    TokenExists = "token_exists",
    /// No gateway client of that name.
    TokenNotFound = "token_not_found",

    // The Activity record (`Error::ActivityUnreadable`).
    ActivityUnreadable = "activity_unreadable",
    // The AI clients' configuration files (`ClientError`).
    /// The client's file does not exist, or no location is known for it.
    ClientConfigMissing = "client_config_missing",
    /// The client's file does not parse; it was not changed.
    ClientConfigInvalid = "client_config_invalid",
    /// The client's file (or its backup) could not be read or written.
    ClientConfigIo = "client_config_io",
    /// Disconnect asked for a file Gatehouse did not connect.
    ClientNotConnected = "client_not_connected",

    // Requests to a server (`RequestError`).
    NotConnected = "not_connected",
    /// The server did not answer in time.
    Timeout = "timeout",
    RequestFailed = "request_failed",

    // OAuth (`AuthorizationError`).
    /// The person declined in the browser.
    AccessDenied = "access_denied",
    AuthorizationRefused = "authorization_refused",
    /// The browser did not come back in time.
    AuthorizationTimeout = "authorization_timeout",
    AuthorizationCancelled = "authorization_cancelled",
    /// A server pointed Gatehouse at an address the SSRF policy refuses.
    UnsafeAddress = "unsafe_address",
    PkceUnsupported = "pkce_unsupported",
    ResourceMismatch = "resource_mismatch",
    IssuerMismatch = "issuer_mismatch",
    DiscoveryFailed = "discovery_failed",
    NeedsClientId = "needs_client_id",
    RegistrationFailed = "registration_failed",
    PortInUse = "port_in_use",
    ListenerFailed = "listener_failed",
    TokenExchangeFailed = "token_exchange_failed",
    /// The authorization server does not offer the grant without a person
    /// the server is set up for.
    GrantUnsupported = "grant_unsupported",
    /// Tokens need the person's consent in the browser, and none was asked.
    NeedsConsent = "needs_consent",
    InsufficientScope = "insufficient_scope",
    AuthorizationServerChanged = "authorization_server_changed",
    ClientOfAnotherServer = "client_of_another_server",
    AuthorizationInProgress = "authorization_in_progress",
    NotOAuth = "not_oauth",
    /// The vault failed while storing or reading OAuth credentials.
    Vault = "vault",

    // The desktop shell's own failures (`src-tauri`).
    /// A failure of the app itself, not of anything the person did.
    Internal = "internal",
    /// `open_url` was asked to open an address that is not the consent page
    /// of an authorization in progress.
    UnknownAuthorization = "unknown_authorization",
    /// The system could not open a URL in the browser.
    OpenFailed = "open_failed",
    /// The start-at-login setting could not be read or changed.
    Autostart = "autostart",
    /// A Gatehouse folder could not be created or opened.
    OpenFolder = "open_folder",
    /// The demo server could not be started or added.
    DemoFailed = "demo_failed",
    /// An answer to a server's question that is no longer open (its
    /// request ended).
    UnknownQuestion = "unknown_question",
    /// An answer to a server's form that does not fit its fields.
    InvalidAnswer = "invalid_answer",

    // Set by the window itself (`ui/src/lib/ipc.ts`), never by Rust: they
    // are here so that the window's errors are of one type.
    /// The page runs outside the app (a plain browser).
    NotInGatehouse = "not_in_gatehouse",
    /// A rejection that was not an IPC error (Tauri's own: an unknown
    /// command, a capability denied).
    Unknown = "unknown",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use secrecy::SecretString;

    use super::*;
    use crate::config::{ConfigFile, ServerConfig};
    use crate::vault::{MemoryKeyStore, Vault, VaultStatus};

    #[test]
    fn a_code_is_its_snake_case_string_on_the_wire() {
        assert_eq!(
            serde_json::to_value(ErrorCode::VaultNoKeyring).unwrap(),
            serde_json::json!("vault_no_keyring")
        );
        assert_eq!(
            serde_json::to_value(ErrorCode::NotOAuth).unwrap(),
            serde_json::json!("not_oauth")
        );
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::json!(code.as_str()),
                "{code:?}"
            );
            let wire = code.as_str();
            assert!(
                !wire.is_empty() && wire.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{wire:?} is not snake_case"
            );
        }
        let mut wires: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        wires.sort_unstable();
        let before = wires.len();
        wires.dedup();
        assert_eq!(wires.len(), before, "two codes share a wire string");
    }

    #[test]
    fn every_code_reads_back_from_its_wire_string() {
        for &code in ErrorCode::ALL {
            let back: ErrorCode = serde_json::from_value(serde_json::json!(code.as_str())).unwrap();
            assert_eq!(back, code);
            assert_eq!(code.to_string(), code.as_str());
        }
        // Not a code: the window's mocks once used these.
        for wire in [
            "unmocked",
            "autostart_failed",
            "authorization_failed",
            "Timeout",
        ] {
            assert!(
                serde_json::from_value::<ErrorCode>(serde_json::json!(wire)).is_err(),
                "{wire}"
            );
        }
    }

    /// Real failures of the config file and the vault, seen as the front
    /// ends see them (through the engine's `Error`), have the expected codes.
    #[test]
    fn real_failures_have_their_codes() {
        let code = |e: crate::Error| e.code();
        let dir = tempfile::tempdir().unwrap();

        let config = ConfigFile::new(dir.path().join("config.toml"));
        let unknown = config.remove_server("nope").unwrap_err();
        assert_eq!(code(unknown.into()), ErrorCode::UnknownServer);
        let plain_http = ServerConfig::new("a", "http://mcp.example.com/mcp");
        let invalid = config.add_server(plain_http).unwrap_err();
        assert_eq!(code(invalid.into()), ErrorCode::InvalidConfig);
        std::fs::write(config.path(), "[[servers]\nid = \"a\"\nurl = \n").unwrap();
        assert_eq!(
            code(config.load().unwrap_err().into()),
            ErrorCode::ConfigSyntax
        );

        let path = dir.path().join("vault.age");
        let keys = Arc::new(MemoryKeyStore::default());
        let vault = Vault::new(&path, keys.clone(), None);
        let secret = |s: &str| SecretString::from(s);
        let name = vault.set_secret("not a name", &secret("1")).unwrap_err();
        assert_eq!(code(name.into()), ErrorCode::InvalidSecretName);
        let empty = vault.set_secret("A", &secret("")).unwrap_err();
        assert_eq!(code(empty.into()), ErrorCode::EmptySecret);
        let none = vault.export_identity().unwrap_err();
        assert_eq!(code(none.into()), ErrorCode::VaultNotCreated);
        vault.set_secret("A", &secret("1")).unwrap();
        let missing = vault.delete_secret("B").unwrap_err();
        assert_eq!(code(missing.into()), ErrorCode::SecretNotFound);

        let locked = dir.path().join("locked.age");
        Vault::new(&locked, keys.clone(), Some(secret("correct horse")))
            .set_secret("A", &secret("1"))
            .unwrap();
        let wrong = Vault::new(&locked, keys, Some(secret("wrong horse")));
        let error = wrong.secret_names().unwrap_err();
        assert_eq!(code(error.into()), ErrorCode::VaultWrongPassphrase);
        let status = wrong.status();
        assert!(
            matches!(
                status,
                VaultStatus::Unavailable {
                    code: ErrorCode::VaultWrongPassphrase,
                    ..
                }
            ),
            "{status:?}"
        );
        assert_eq!(
            serde_json::to_value(&status).unwrap()["code"],
            "vault_wrong_passphrase"
        );
    }
}
