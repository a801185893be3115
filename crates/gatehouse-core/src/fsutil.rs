//! Crash-safe file replacement and cross-process locks for the files
//! Gatehouse owns (config and vault).
//!
//! Every write goes to a temporary file in the same directory, is flushed to
//! disk, and replaces the target with one `rename`, so a crash leaves either
//! the old file or the new one, never a torn mix. The desktop app and the CLI
//! may run at the same time; a sibling `.lock` file serializes their
//! read-modify-write cycles.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Replaces `path` with `contents` atomically, creating parent directories.
/// The new file is readable by its owner only (0600 on Unix).
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let path = &resolved(path);
    create_private_dir(parent_dir(path))?;
    replace(path, contents, None)
}

/// Replaces a file Gatehouse does not own (an AI client's settings) the
/// same crash-safe way, keeping its permissions (a new file is its owner's
/// only) — less what others may read when `owner_only` (a file that now
/// holds a credential); a missing folder is created with the usual
/// permissions.
pub(crate) fn write_atomic_keeping_permissions(
    path: &Path,
    contents: &[u8],
    owner_only: bool,
) -> io::Result<()> {
    let path = &resolved(path);
    let dir = parent_dir(path);
    if !dir.is_dir() {
        fs::create_dir_all(dir)?;
    }
    #[allow(unused_mut)]
    let mut permissions = fs::metadata(path).ok().map(|m| m.permissions());
    #[cfg(unix)]
    if owner_only && let Some(permissions) = &mut permissions {
        use std::os::unix::fs::PermissionsExt;
        permissions.set_mode(permissions.mode() & 0o700);
    }
    replace(path, contents, permissions)
}

/// Writes `contents` to a temporary file beside `path` with `permissions`
/// (0600 on Unix when `None`), flushes it, and renames it over `path`.
fn replace(path: &Path, contents: &[u8], permissions: Option<fs::Permissions>) -> io::Result<()> {
    let dir = parent_dir(path);
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("gatehouse");
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    match permissions {
        Some(permissions) => tmp.as_file().set_permissions(permissions)?,
        #[cfg(unix)]
        None => {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        #[cfg(not(unix))]
        None => {}
    }
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Where `path` really is, following symbolic links: a config file kept in
/// a dotfiles repository and linked into place is written where it lives,
/// and stays a link.
pub(crate) fn resolved(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    // A bound, against a loop of links (the write then fails on the loop).
    for _ in 0..40 {
        match fs::read_link(&current) {
            Ok(target) if target.is_absolute() => current = target,
            Ok(target) => current = parent_dir(&current).join(target),
            Err(_) => break,
        }
    }
    current
}

/// Creates `dir` (and parents) readable by the owner only.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// An exclusive advisory lock on `<path>.lock`, released on drop.
#[derive(Debug)]
pub(crate) struct FileLock {
    file: File,
}

impl FileLock {
    /// Blocks until the lock for `path` is held by this process.
    pub(crate) fn acquire(path: &Path) -> io::Result<Self> {
        let file = open_lock_file(path)?;
        file.lock()?;
        Ok(Self { file })
    }
}

impl FileLock {
    /// The lock for `path` if no one (no process) holds it now.
    pub(crate) fn try_acquire(path: &Path) -> io::Result<Option<Self>> {
        let file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(error)) => Err(error),
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// The lock file of `path`, created private. Two processes reaching one
/// file through different links share one lock.
fn open_lock_file(path: &Path) -> io::Result<File> {
    let path = &resolved(path);
    create_private_dir(parent_dir(path))?;
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(lock_path(path))
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// What identifies one version of a file on disk, to notice that another
/// process replaced it since we last read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: u64,
}

impl Fingerprint {
    /// `None` when the file does not exist.
    pub(crate) fn of(path: &Path) -> io::Result<Option<Self>> {
        match fs::metadata(path) {
            Ok(meta) => Ok(Some(Self {
                len: meta.len(),
                modified: meta.modified().ok(),
                #[cfg(unix)]
                inode: std::os::unix::fs::MetadataExt::ino(&meta),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/file.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dir_mode = fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(dir_mode, 0o700);
        }
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["file.txt"], "no temporary files left behind");
    }

    #[test]
    fn fingerprint_changes_when_the_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert_eq!(Fingerprint::of(&path).unwrap(), None);
        write_atomic(&path, b"one").unwrap();
        let first = Fingerprint::of(&path).unwrap();
        write_atomic(&path, b"one").unwrap();
        assert_ne!(Fingerprint::of(&path).unwrap(), first);
    }

    #[test]
    fn lock_is_exclusive_across_handles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.age");
        let held = FileLock::acquire(&path).unwrap();
        let other = OpenOptions::new()
            .write(true)
            .open(dir.path().join("vault.age.lock"))
            .unwrap();
        assert!(other.try_lock().is_err(), "second lock must wait");
        drop(held);
        other.try_lock().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_file_is_written_where_it_lives_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles/gatehouse.toml");
        create_private_dir(real.parent().unwrap()).unwrap();
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("config.toml");
        std::os::unix::fs::symlink("dotfiles/gatehouse.toml", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        // A link to a file not there yet creates the file at the target.
        let dangling = dir.path().join("vault.age");
        std::os::unix::fs::symlink(dir.path().join("elsewhere.age"), &dangling).unwrap();
        write_atomic(&dangling, b"v").unwrap();
        assert!(
            fs::symlink_metadata(&dangling)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(dir.path().join("elsewhere.age")).unwrap(), b"v");
    }
}
