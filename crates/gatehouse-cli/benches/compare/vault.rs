//! The vault with 10, 1 000 and 10 000 secrets: opening it cold (read,
//! decrypt, parse) and saving a change (serialize, encrypt, fsync, rename).
//! The key is in memory, as the OS keyring's is after its first lookup.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use gatehouse_core::vault::{MemoryKeyStore, Vault};
use secrecy::SecretString;

use crate::stats::Summary;

pub struct VaultRow {
    pub secrets: usize,
    pub open: Summary,
    pub save: Summary,
    pub file_bytes: u64,
}

pub fn measure(secrets: usize, runs: usize) -> Result<VaultRow> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("vault.age");
    let keys = Arc::new(MemoryKeyStore::default());
    let vault = Vault::new(&path, keys.clone(), None);
    // Values the size of a typical API token.
    let entries: Vec<(String, SecretString)> = (0..secrets)
        .map(|i| {
            (
                format!("SECRET_{i}"),
                SecretString::from(format!("tok_{i:08}_{}", "x".repeat(32))),
            )
        })
        .collect();
    vault.set_secrets(entries.iter().map(|(n, v)| (n.as_str(), v)))?;
    let mut saves = Vec::with_capacity(runs);
    for run in 0..runs {
        let value = SecretString::from(format!("changed-{run}"));
        let start = Instant::now();
        vault.set_secret("SECRET_0", &value)?;
        saves.push(start.elapsed());
    }
    let mut opens = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let names = Vault::new(&path, keys.clone(), None).secret_names()?;
        opens.push(start.elapsed());
        assert_eq!(names.len(), secrets);
    }
    Ok(VaultRow {
        secrets,
        open: Summary::of(opens),
        save: Summary::of(saves),
        file_bytes: std::fs::metadata(&path)?.len(),
    })
}
