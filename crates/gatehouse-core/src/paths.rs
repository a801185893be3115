//! Where Gatehouse keeps its files: the config file and the data directory
//! (vault). Both can be overridden, so tests and portable set-ups never touch
//! the person's home directory.

use std::path::{Path, PathBuf};

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "GATEHOUSE_CONFIG";
/// Environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "GATEHOUSE_DATA_DIR";

const VAULT_FILE: &str = "vault.age";
const LOG_DIR: &str = "logs";

/// Resolved locations of the config file and the data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    config_file: PathBuf,
    data_dir: PathBuf,
}

/// The platform gives no home or config directory and none was given.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot find a home directory for Gatehouse's files; pass --config and --data-dir (or set {CONFIG_ENV} and {DATA_DIR_ENV})"
)]
pub struct NoHomeDirectory;

impl Paths {
    /// Explicit locations, as given.
    pub fn new(config_file: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            config_file: config_file.into(),
            data_dir: data_dir.into(),
        }
    }

    /// Uses the given overrides, then the environment variables, then the
    /// platform's directories (`~/.config/gatehouse/config.toml` and
    /// `~/.local/share/gatehouse` on Linux).
    pub fn resolve(
        config_file: Option<PathBuf>,
        data_dir: Option<PathBuf>,
    ) -> Result<Self, NoHomeDirectory> {
        let from_env = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let config_file = config_file.or_else(|| from_env(CONFIG_ENV));
        let data_dir = data_dir.or_else(|| from_env(DATA_DIR_ENV));
        if let (Some(config_file), Some(data_dir)) = (&config_file, &data_dir) {
            return Ok(Self::new(config_file, data_dir));
        }
        let dirs = directories::ProjectDirs::from("dev", "Gatehouse", "gatehouse")
            .ok_or(NoHomeDirectory)?;
        Ok(Self {
            config_file: config_file.unwrap_or_else(|| dirs.config_dir().join("config.toml")),
            data_dir: data_dir.unwrap_or_else(|| dirs.data_dir().to_path_buf()),
        })
    }

    /// The TOML config file.
    pub fn config_file(&self) -> &Path {
        &self.config_file
    }

    /// The directory holding the vault.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The folder of the config file.
    pub fn config_dir(&self) -> &Path {
        crate::fsutil::parent_dir(&self.config_file)
    }

    /// Makes the config, data and log folders where they are missing,
    /// private to the owner as Gatehouse makes every folder of its own (for
    /// a front end that shows or opens them before anything was written).
    pub fn create_dirs(&self) -> std::io::Result<()> {
        crate::fsutil::create_private_dir(self.config_dir())?;
        crate::fsutil::create_private_dir(&self.data_dir)?;
        crate::fsutil::create_private_dir(&self.log_dir())
    }

    /// The age-encrypted vault file.
    pub fn vault_file(&self) -> PathBuf {
        self.data_dir.join(VAULT_FILE)
    }

    /// The folder of the log files (`logs/` in the data folder: a place
    /// every platform's data directory has, and the `--data-dir` of a test
    /// or a portable set-up moves it along).
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join(LOG_DIR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_paths_win() {
        let paths = Paths::resolve(Some("/a/c.toml".into()), Some("/b".into())).unwrap();
        assert_eq!(paths.config_file(), Path::new("/a/c.toml"));
        assert_eq!(paths.vault_file(), Path::new("/b/vault.age"));
        assert_eq!(paths.log_dir(), Path::new("/b/logs"));
    }
}
