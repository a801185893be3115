//! Who else may change the files Gatehouse takes its config and secrets
//! from. A config file another user can edit could point a server's
//! `${SECRET}` headers at their own host; a data directory another user can
//! write could swap the vault or plant links. So, as OpenSSH's `StrictModes`
//! does for `authorized_keys`, Gatehouse refuses such files with a message
//! that says how to fix them, rather than use them.
//!
//! What is checked (Unix; elsewhere permissions are ACLs, and the platform
//! directories are per-user already, so nothing is):
//! - the config file and the directory holding it (through symbolic links,
//!   where the file really lives): each must belong to the user running
//!   Gatehouse (or root) and be writable by no one else. Directories above
//!   those (`~`, `/home`) are the person's and the system's, and are not
//!   judged;
//! - the data directory (the vault's): it must belong to the user running
//!   Gatehouse; one looser than 0700 is tightened to 0700, and that is
//!   logged. The vault file, where it exists, is held to the config's rule;
//! - a vault path that is a symbolic link to nothing is refused, rather than
//!   followed to create the vault (and its lock file and directories)
//!   wherever the link points.
//!
//! "The user" is the effective uid, so root running Gatehouse (tests, CI)
//! uses root's files.

use std::io;
use std::path::{Path, PathBuf};

/// A path Gatehouse will not use, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnsafePath {
    #[error(
        "{} can be changed by other users (mode {mode:03o}), so Gatehouse will not use it; fix it with: chmod go-w {}",
        path.display(),
        shell_word(path)
    )]
    WritableByOthers { path: PathBuf, mode: u32 },
    #[error(
        "{} belongs to another user (uid {owner}), so Gatehouse will not use it; make it yours with: sudo chown {me} {} (or move it aside)",
        path.display(),
        shell_word(path)
    )]
    OwnedByOther { path: PathBuf, owner: u32, me: u32 },
    #[error(
        "the vault {} is a symbolic link to {}, which does not exist; Gatehouse will not create a vault through it: create the target, or remove the link",
        path.display(),
        target.display()
    )]
    DanglingLink { path: PathBuf, target: PathBuf },
    #[error("cannot check who may change {}: {source}", path.display())]
    Inspect {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Refuses a config file that someone else could change, or one in a
/// directory someone else could change. A file (or directory) that does not
/// exist yet is fine: Gatehouse creates it private.
pub(crate) fn check_config_file(path: &Path) -> Result<(), UnsafePath> {
    check_file_and_its_dir(&crate::fsutil::resolved(path))
}

/// A file (links resolved) and the directory it is in: ours, and writable
/// by no one else.
fn check_file_and_its_dir(real: &Path) -> Result<(), UnsafePath> {
    unix::check_owned_and_not_writable_by_others(real)?;
    unix::check_owned_and_not_writable_by_others(crate::fsutil::parent_dir(real))
}

/// Makes the vault's directory private (tightening one of ours looser than
/// 0700), and refuses a directory of another user, a vault file someone
/// else could change, and a vault path that is a dangling link.
pub(crate) fn secure_vault_location(vault: &Path) -> Result<(), UnsafePath> {
    unix::make_data_dir_private(crate::fsutil::parent_dir(vault))?;
    let is_link = match std::fs::symlink_metadata(vault) {
        Ok(meta) => meta.file_type().is_symlink(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(source) => {
            return Err(UnsafePath::Inspect {
                path: vault.to_path_buf(),
                source,
            });
        }
    };
    if !is_link {
        return unix::check_owned_and_not_writable_by_others(vault);
    }
    let real = crate::fsutil::resolved(vault);
    match std::fs::metadata(&real) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(UnsafePath::DanglingLink {
            path: vault.to_path_buf(),
            target: real,
        }),
        _ => check_file_and_its_dir(&real),
    }
}

/// `path` as one word for a POSIX shell, for the fixes the messages give.
fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=~".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(unix)]
mod unix {
    use std::fs;
    use std::io;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::Path;

    use super::UnsafePath;

    /// The effective uid: whose files these are allowed to be.
    pub(super) fn me() -> u32 {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() }
    }

    fn metadata(path: &Path) -> Result<Option<fs::Metadata>, UnsafePath> {
        match fs::metadata(path) {
            Ok(meta) => Ok(Some(meta)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(UnsafePath::Inspect {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The rule for config files and their directories: ours or root's, and
    /// writable by no one else. Only files and directories are judged
    /// (`/dev/null` as an empty config is fine).
    pub(super) fn check_owned_and_not_writable_by_others(path: &Path) -> Result<(), UnsafePath> {
        let Some(meta) = metadata(path)? else {
            return Ok(());
        };
        if !meta.is_file() && !meta.is_dir() {
            return Ok(());
        }
        let me = me();
        if meta.uid() != me && meta.uid() != 0 {
            return Err(UnsafePath::OwnedByOther {
                path: path.to_path_buf(),
                owner: meta.uid(),
                me,
            });
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(UnsafePath::WritableByOthers {
                path: path.to_path_buf(),
                mode: mode & 0o777,
            });
        }
        Ok(())
    }

    /// The data directory must be ours; if it is looser than 0700 it is
    /// tightened. One that does not exist yet is created 0700 when needed.
    pub(super) fn make_data_dir_private(dir: &Path) -> Result<(), UnsafePath> {
        let Some(meta) = metadata(dir)? else {
            return Ok(());
        };
        let me = me();
        if meta.uid() != me {
            return Err(UnsafePath::OwnedByOther {
                path: dir.to_path_buf(),
                owner: meta.uid(),
                me,
            });
        }
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() && mode & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|source| {
                UnsafePath::Inspect {
                    path: dir.to_path_buf(),
                    source,
                }
            })?;
            tracing::warn!(
                dir = %dir.display(),
                was = %format!("{mode:03o}"),
                "the data directory was open to other users; it is now private (0700)"
            );
        }
        Ok(())
    }
}

// Windows and other platforms: permissions are ACLs rather than modes, and
// the platform's per-user directories are private already; nothing to check.
#[cfg(not(unix))]
mod unix {
    use std::path::Path;

    use super::UnsafePath;

    pub(super) fn check_owned_and_not_writable_by_others(_: &Path) -> Result<(), UnsafePath> {
        Ok(())
    }

    pub(super) fn make_data_dir_private(_: &Path) -> Result<(), UnsafePath> {
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Gives `path` to another user; only root can, so elsewhere the
    /// ownership checks are not exercised (CI runs as root).
    fn give_away(path: &Path) -> bool {
        if unix::me() != 0 {
            eprintln!("not root: cannot give {} to another user", path.display());
            return false;
        }
        std::os::unix::fs::chown(path, Some(4242), Some(4242)).unwrap();
        true
    }

    #[test]
    fn a_config_file_others_can_write_is_refused_with_the_fix() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("gatehouse dir");
        fs::create_dir(&dir).unwrap();
        chmod(&dir, 0o755);
        let config = dir.join("config.toml");
        check_config_file(&config).expect("a file not there yet is fine");
        fs::write(&config, "").unwrap();
        chmod(&config, 0o644);
        check_config_file(&config).expect("0644 in a 0755 directory is fine");

        for loose in [0o664, 0o646, 0o666] {
            chmod(&config, loose);
            let err = check_config_file(&config).unwrap_err();
            assert!(
                matches!(err, UnsafePath::WritableByOthers { ref path, mode } if *path == config && mode == loose),
                "{err}"
            );
            let message = err.to_string();
            assert!(
                message.contains(&format!("chmod go-w '{}'", config.display())),
                "{message}"
            );
        }
        chmod(&config, 0o600);
        chmod(&dir, 0o775);
        let err = check_config_file(&config).unwrap_err();
        assert!(
            matches!(err, UnsafePath::WritableByOthers { ref path, .. } if *path == dir),
            "the directory is named: {err}"
        );
        // Where the file really lives is what counts.
        chmod(&dir, 0o700);
        let link = root.path().join("config.toml");
        std::os::unix::fs::symlink(&config, &link).unwrap();
        check_config_file(&link).unwrap();
        chmod(&config, 0o666);
        assert!(check_config_file(&link).is_err());
    }

    #[test]
    fn a_config_file_of_another_user_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        fs::write(&config, "").unwrap();
        if !give_away(&config) {
            return;
        }
        let err = check_config_file(&config).unwrap_err();
        assert!(
            matches!(err, UnsafePath::OwnedByOther { owner: 4242, .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("sudo chown 0 {}", config.display())),
            "{err}"
        );
    }

    #[test]
    fn a_loose_data_directory_is_tightened_and_another_users_refused() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        fs::create_dir(&data).unwrap();
        chmod(&data, 0o777);
        let vault = data.join("vault.age");
        secure_vault_location(&vault).unwrap();
        assert_eq!(mode(&data), 0o700);
        secure_vault_location(&root.path().join("missing/vault.age"))
            .expect("a data directory not there yet is created private later");

        fs::write(&vault, "age").unwrap();
        chmod(&vault, 0o666);
        assert!(matches!(
            secure_vault_location(&vault),
            Err(UnsafePath::WritableByOthers { .. })
        ));
        chmod(&vault, 0o600);
        secure_vault_location(&vault).unwrap();

        if give_away(&data) {
            let err = secure_vault_location(&vault).unwrap_err();
            assert!(
                matches!(err, UnsafePath::OwnedByOther { ref path, .. } if *path == data),
                "{err}"
            );
        }
    }

    #[test]
    fn a_dangling_vault_link_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let vault = root.path().join("vault.age");
        let elsewhere = root.path().join("elsewhere/vault.age");
        std::os::unix::fs::symlink(&elsewhere, &vault).unwrap();
        let err = secure_vault_location(&vault).unwrap_err();
        assert!(
            matches!(err, UnsafePath::DanglingLink { ref target, .. } if *target == elsewhere),
            "{err}"
        );
        assert!(err.to_string().contains("does not exist"), "{err}");
        // A link to a vault that is there is used where it lives.
        fs::create_dir(root.path().join("elsewhere")).unwrap();
        fs::write(&elsewhere, "age").unwrap();
        chmod(&elsewhere, 0o600);
        secure_vault_location(&vault).unwrap();
    }

    #[test]
    fn odd_paths_are_quoted_for_the_shell() {
        assert_eq!(
            shell_word(Path::new("/home/a/.config/x.toml")),
            "/home/a/.config/x.toml"
        );
        assert_eq!(shell_word(Path::new("/tmp/a b")), "'/tmp/a b'");
        assert_eq!(shell_word(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
    }
}
