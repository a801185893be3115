//! Backups of the client files Gatehouse rewrites, and the careful write
//! itself.
//!
//! Backups live in Gatehouse's data folder (`<data dir>/client-backups/`,
//! private to the person like the vault beside it), not next to the
//! client's file: the original may hold the very API keys the import moved
//! into the vault, and a copy beside it would be one more place they sit in
//! the clear where other tools look. Each connect of a file keeps one record
//! (`<client>-<hash of the path>.json`) naming the file, its timestamped
//! backup, the SHA-256 of the text Gatehouse wrote, and the entries as they
//! were; disconnect uses it to restore the backup exactly when the file was
//! not changed since, or else to put back only those entries.
//!
//! A client file is replaced through a temporary file in its own folder and
//! a rename, keeping the original's permissions, and following a symbolic
//! link to where the file really is.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::ClientKind;

const BACKUP_DIR: &str = "client-backups";

/// What connecting one file left behind for the undo.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRecord {
    pub client: ClientKind,
    /// The client's file.
    pub path: PathBuf,
    /// The file as it was before the first connect (absent when there
    /// was no file).
    pub backup: Option<PathBuf>,
    /// SHA-256 of the text Gatehouse last wrote; `None` once the file was
    /// found changed by someone else between two connects (then only a
    /// rewrite can undo).
    pub connected_sha256: Option<String>,
    /// The rewritten entries as they were: table, name, value (`None`: the
    /// entry did not exist).
    pub entries: Vec<(Vec<String>, String, Option<Value>)>,
    /// Unix seconds of the first connect.
    pub created_at: u64,
    /// The gateway token this file's entries carry (`None`: stdio entries
    /// only, no token).
    #[serde(default)]
    pub token: Option<String>,
}

pub(crate) fn backup_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(BACKUP_DIR)
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn record_path(data_dir: &Path, client: ClientKind, file: &Path) -> PathBuf {
    let key = sha256(file.to_string_lossy().as_bytes());
    backup_dir(data_dir).join(format!("{client}-{}.json", &key[..12]))
}

/// The record of `file`'s connect, if it is connected.
pub(crate) fn load_record(
    data_dir: &Path,
    client: ClientKind,
    file: &Path,
) -> io::Result<Option<BackupRecord>> {
    match fs::read(record_path(data_dir, client, file)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every file of `client` that is connected: the paths its records name,
/// in a stable order. A record that cannot be read is skipped here (the
/// undo of that one file reports it).
pub(crate) fn connected_files(data_dir: &Path, client: ClientKind) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(backup_dir(data_dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let prefix = format!("{client}-");
    let mut files = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        let Some(key) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        // A record is `<client>-<12 hex digits>.json`; backups beside it
        // carry a timestamp and the file's name.
        if key.len() != 12 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let Ok(bytes) = fs::read(backup_dir(data_dir).join(&name)) else {
            continue;
        };
        if let Ok(record) = serde_json::from_slice::<BackupRecord>(&bytes)
            && record.client == client
        {
            files.push(record.path);
        }
    }
    files.sort();
    Ok(files)
}

pub(crate) fn save_record(data_dir: &Path, record: &BackupRecord) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
    crate::fsutil::write_atomic(&record_path(data_dir, record.client, &record.path), &bytes)
}

pub(crate) fn remove_record(data_dir: &Path, client: ClientKind, file: &Path) -> io::Result<()> {
    match fs::remove_file(record_path(data_dir, client, file)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The gateway token name for `client`'s `file`: the client's name for
/// its documented file, the name and a hash of the path for any other (a
/// project's `.mcp.json`, a `--path`), so connecting a second file of the
/// same client never invalidates the token the first one carries.
pub(crate) fn token_name(client: ClientKind, file: &Path, default: Option<&Path>) -> String {
    if default == Some(file) {
        client.name().to_owned()
    } else {
        let key = sha256(file.to_string_lossy().as_bytes());
        format!("{client}-{}", &key[..8])
    }
}

/// Copies `original` into the backup folder under a timestamped name.
pub(crate) fn write_backup(
    data_dir: &Path,
    client: ClientKind,
    file: &Path,
    original: &[u8],
) -> io::Result<PathBuf> {
    let name = file
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    let stamp = timestamp(std::time::SystemTime::now());
    let mut path = backup_dir(data_dir).join(format!("{client}-{stamp}-{name}"));
    let mut n = 2;
    while path.exists() {
        path = backup_dir(data_dir).join(format!("{client}-{stamp}-{n}-{name}"));
        n += 1;
    }
    crate::fsutil::write_atomic(&path, original)?;
    Ok(path)
}

/// `20261205T120648Z`.
fn timestamp(time: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// Replaces the client's `file` with `contents` through a temporary file
/// and a rename, keeping the original's permissions (a new file is the
/// owner's only).
pub(crate) fn write_client_file(file: &Path, contents: &[u8]) -> io::Result<()> {
    crate::fsutil::write_atomic_keeping_permissions(file, contents, false)
}

/// [`write_client_file`] for contents that carry a gateway token: other
/// users lose any read access the file gave them (the token opens every
/// server through 127.0.0.1, which they can reach), from the first byte
/// written.
pub(crate) fn write_client_file_with_token(file: &Path, contents: &[u8]) -> io::Result<()> {
    crate::fsutil::write_atomic_keeping_permissions(file, contents, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_472_408);
        assert_eq!(timestamp(t), "20261205T120648Z");
    }

    #[test]
    fn connected_files_are_the_records_of_that_client_only() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let record = |client: ClientKind, path: &str| BackupRecord {
            client,
            path: PathBuf::from(path),
            backup: None,
            connected_sha256: None,
            entries: Vec::new(),
            created_at: 0,
            token: None,
        };
        for (client, path) in [
            (ClientKind::ClaudeCode, "/home/me/.claude.json"),
            (ClientKind::ClaudeCode, "/home/me/app/.mcp.json"),
            (ClientKind::ClaudeDesktop, "/home/me/.config/Claude/c.json"),
        ] {
            save_record(data, &record(client, path)).unwrap();
        }
        // A backup beside them is not a record, even one named `.json`.
        write_backup(
            data,
            ClientKind::ClaudeCode,
            Path::new("/x/.mcp.json"),
            b"{}",
        )
        .unwrap();
        assert_eq!(
            connected_files(data, ClientKind::ClaudeCode).unwrap(),
            [
                PathBuf::from("/home/me/.claude.json"),
                PathBuf::from("/home/me/app/.mcp.json")
            ]
        );
        assert!(
            connected_files(data, ClientKind::Cursor)
                .unwrap()
                .is_empty()
        );
        remove_record(
            data,
            ClientKind::ClaudeCode,
            Path::new("/home/me/.claude.json"),
        )
        .unwrap();
        assert_eq!(
            connected_files(data, ClientKind::ClaudeCode).unwrap().len(),
            1
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_given_a_token_is_its_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mcp.json");
        fs::write(&file, "{}").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        write_client_file_with_token(&file, b"{\"token\": 1}").unwrap();
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_rewrite_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mcp.json");
        fs::write(&file, "{}").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        write_client_file(&file, b"{\"a\": 1}").unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "{\"a\": 1}");
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }
}
