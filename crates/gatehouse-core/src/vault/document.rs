//! The vault's decrypted contents: a JSON document of named secrets, OAuth
//! credentials and client registrations, with room for fields a newer
//! Gatehouse adds. Secret values are wiped from memory when it is dropped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// The document format this Gatehouse writes; a newer one is refused.
pub(super) const DOCUMENT_VERSION: u32 = 1;

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
    /// The local HTTP gateway's client tokens, keyed by client name (a
    /// namespace of their own: never listed as user secrets). Only a hash
    /// of each token is kept; see `gateway::tokens`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) gateway_tokens: BTreeMap<String, serde_json::Value>,
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

#[cfg(test)]
mod tests {
    use crate::vault::Vault;
    use crate::vault::test_support::{MemoryKeyring, secret};
    use std::sync::Arc;

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
}
