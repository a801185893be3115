//! The local HTTP gateway's client tokens: one bearer token per AI client
//! that connects over HTTP, named for that client, kept in the vault in a
//! namespace of their own (never listed among the person's secrets).
//!
//! A token is shown once, when it is made; the vault keeps only its SHA-256,
//! so neither the vault's JSON nor a log can give it back. A presented token
//! is hashed and compared with every stored hash in constant time. Each
//! check reads the vault (which reloads when another process changed it), so
//! a revocation — from the app or `gatehouse gateway token revoke` in
//! another process — applies to the very next request.

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::error_code::ErrorCode;
use crate::vault::{Vault, VaultError};

/// Longest client name accepted.
pub const MAX_CLIENT_NAME_LEN: usize = 64;

/// What every token starts with, so a person (or a secret scanner) can
/// tell one apart.
const TOKEN_PREFIX: &str = "ghgw_";

/// A token operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error(
        "client name {name:?} is not allowed: use 1 to {MAX_CLIENT_NAME_LEN} letters, digits, `.`, `_` or `-`, starting with a letter or digit"
    )]
    InvalidName { name: String },
    #[error(
        "a gateway token for client {name:?} already exists: revoke it first (`gatehouse gateway token revoke {name}`)"
    )]
    Exists { name: String },
    #[error("there is no gateway token for client {name:?}")]
    NotFound { name: String },
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl TokenError {
    /// A stable machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidName { .. } => ErrorCode::InvalidClientName,
            Self::Exists { .. } => ErrorCode::TokenExists,
            Self::NotFound { .. } => ErrorCode::TokenNotFound,
            Self::Vault(e) => e.code(),
        }
    }
}

/// One client's token as listed: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub name: String,
    /// When it was made, in Unix seconds.
    #[ts(type = "number")]
    pub created_at: u64,
}

/// What the vault keeps per client.
#[derive(Serialize, Deserialize)]
struct StoredToken {
    /// SHA-256 of the token, hex.
    sha256: String,
    created_at: u64,
}

/// The gateway's tokens in `vault`. Cheap to clone. Its methods read or
/// write the vault and so block: call them off the async runtime (the
/// gateway's guard does), or through the engine's async
/// `gateway_token_*` methods, which do.
#[derive(Clone)]
pub struct GatewayTokens {
    vault: Vault,
}

impl GatewayTokens {
    pub fn new(vault: Vault) -> Self {
        Self { vault }
    }

    /// Makes a token for client `name` and returns it: the only time it is
    /// ever seen.
    pub fn add(&self, name: &str) -> Result<SecretString, TokenError> {
        check_client_name(name)?;
        let token = new_token();
        let stored = serde_json::to_value(StoredToken {
            sha256: hash(token.expose_secret()),
            created_at: crate::oauth::store::now(),
        })
        .expect("a stored token always serializes");
        self.vault.update(|doc| {
            if doc.gateway_tokens.contains_key(name) {
                return Err(TokenError::Exists {
                    name: name.to_owned(),
                });
            }
            doc.gateway_tokens.insert(name.to_owned(), stored);
            Ok(())
        })??;
        Ok(token)
    }

    /// Every client with a token, by name.
    pub fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        Ok(self.vault.read(|doc| {
            doc.gateway_tokens
                .iter()
                .map(|(name, value)| TokenInfo {
                    name: name.clone(),
                    created_at: serde_json::from_value::<StoredToken>(value.clone())
                        .map_or(0, |t| t.created_at),
                })
                .collect()
        })?)
    }

    /// Revokes client `name`'s token; its next request is refused.
    pub fn revoke(&self, name: &str) -> Result<(), TokenError> {
        if !self
            .vault
            .read(|doc| doc.gateway_tokens.contains_key(name))?
        {
            return Err(TokenError::NotFound {
                name: name.to_owned(),
            });
        }
        self.vault.update(|doc| {
            doc.gateway_tokens.remove(name);
        })?;
        Ok(())
    }

    /// The client whose token `presented` is, if any. Every stored hash is
    /// compared, in constant time, whichever matches.
    pub fn verify(&self, presented: &str) -> Result<Option<String>, TokenError> {
        let presented = hash(presented);
        Ok(self.vault.read(|doc| {
            let mut found = None;
            for (name, value) in &doc.gateway_tokens {
                let Ok(stored) = serde_json::from_value::<StoredToken>(value.clone()) else {
                    continue;
                };
                if bool::from(stored.sha256.as_bytes().ct_eq(presented.as_bytes())) {
                    found = Some(name.clone());
                }
            }
            found
        })?)
    }
}

/// Client names: short, printable, safe in a command line and a log.
pub fn check_client_name(name: &str) -> Result<(), TokenError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_CLIENT_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(TokenError::InvalidName {
            name: crate::text::one_line(name, MAX_CLIENT_NAME_LEN + 8),
        })
    }
}

fn new_token() -> SecretString {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    SecretString::from(format!("{TOKEN_PREFIX}{body}"))
}

fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::vault::MemoryKeyStore;

    fn tokens(dir: &tempfile::TempDir) -> GatewayTokens {
        let vault = Vault::new(
            dir.path().join("vault.age"),
            Arc::new(MemoryKeyStore::default()),
            None,
        );
        GatewayTokens::new(vault)
    }

    #[test]
    fn a_token_verifies_until_it_is_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = tokens(&dir);
        let cursor = tokens.add("cursor").unwrap();
        let claude = tokens.add("claude-code").unwrap();
        assert!(cursor.expose_secret().starts_with(TOKEN_PREFIX));
        assert_ne!(cursor.expose_secret(), claude.expose_secret());
        assert_eq!(
            tokens.verify(cursor.expose_secret()).unwrap().as_deref(),
            Some("cursor")
        );
        assert_eq!(
            tokens.verify(claude.expose_secret()).unwrap().as_deref(),
            Some("claude-code")
        );
        assert_eq!(tokens.verify("ghgw_not-a-token").unwrap(), None);
        assert_eq!(tokens.verify("").unwrap(), None);
        tokens.revoke("cursor").unwrap();
        assert_eq!(tokens.verify(cursor.expose_secret()).unwrap(), None);
        assert_eq!(
            tokens.verify(claude.expose_secret()).unwrap().as_deref(),
            Some("claude-code")
        );
        let names: Vec<String> = tokens.list().unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["claude-code"]);
    }

    #[test]
    fn names_are_validated_and_unique() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = tokens(&dir);
        tokens.add("vs.code_1").unwrap();
        assert!(matches!(
            tokens.add("vs.code_1"),
            Err(TokenError::Exists { .. })
        ));
        for bad in ["", "-x", "a b", "a/b", "ä", &"x".repeat(65)] {
            assert!(
                matches!(tokens.add(bad), Err(TokenError::InvalidName { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            tokens.revoke("nobody"),
            Err(TokenError::NotFound { .. })
        ));
    }

    #[test]
    fn the_vault_keeps_neither_the_token_nor_a_user_secret() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = tokens(&dir);
        let token = tokens.add("cursor").unwrap();
        let stored = tokens
            .vault
            .read(|doc| serde_json::to_string(&doc.gateway_tokens).unwrap())
            .unwrap();
        assert!(!stored.contains(token.expose_secret()));
        assert!(tokens.vault.secret_names().unwrap().is_empty());
    }
}
