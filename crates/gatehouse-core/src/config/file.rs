//! The config file on disk and the edits the CLI and the app make to it,
//! through a `toml_edit` document so the person's comments and layout
//! survive. Every edit is a read-modify-write under a lock shared with
//! other Gatehouse processes, validated before it is written atomically.

use std::io;
use std::path::{Path, PathBuf};

use super::{Config, ConfigError, ConfigIssue, ServerConfig};
use crate::fsutil::{self, FileLock};
use crate::permissions;

/// The config file on disk, with the edits the CLI and the app make.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads and validates the file; a missing file is an empty config.
    pub fn load(&self) -> Result<Config, ConfigError> {
        match self.read_text()? {
            Some(text) => Config::parse(&text, &self.path),
            None => Ok(Config::default()),
        }
    }

    fn read_text(&self) -> Result<Option<String>, ConfigError> {
        permissions::check_config_file(&self.path)?;
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ConfigError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Adds a server, refusing one whose id is taken.
    pub fn add_server(&self, server: ServerConfig) -> Result<Config, ConfigError> {
        self.edit(|config, doc| {
            let issues = config.check_server(&server, None);
            if !issues.is_empty() {
                return Err(issues);
            }
            servers_mut(doc).push(server_table(&server));
            config.servers.push(server);
            Ok(())
        })
    }

    /// Replaces the server `id` (which may be renamed by `server.id`).
    pub fn update_server(&self, id: &str, server: ServerConfig) -> Result<Config, ConfigError> {
        self.edit(|config, doc| {
            let Some(index) = config.servers.iter().position(|s| s.id == id) else {
                return Err(vec![]);
            };
            let issues = config.check_server(&server, Some(id));
            if !issues.is_empty() {
                return Err(issues);
            }
            let table = server_table(&server);
            let servers = servers_mut(doc);
            if let Some(existing) = servers.get_mut(index) {
                let decor = existing.decor().clone();
                *existing = table;
                *existing.decor_mut() = decor;
            }
            config.servers[index] = server;
            Ok(())
        })
        .map_err(|e| self.unknown_if_empty(e, id))
    }

    /// Removes the server `id`.
    pub fn remove_server(&self, id: &str) -> Result<Config, ConfigError> {
        self.edit(|config, doc| {
            let Some(index) = config.servers.iter().position(|s| s.id == id) else {
                return Err(vec![]);
            };
            let servers = servers_mut(doc);
            // The comments above a server's `[[servers]]` belong to it in the
            // document; those above the first one usually describe the file.
            // Hand them to the next server rather than lose them.
            let leading = servers
                .get(index)
                .and_then(|t| t.decor().prefix())
                .and_then(|p| p.as_str())
                .map(str::to_owned);
            servers.remove(index);
            if index == 0
                && let Some(leading) = leading.filter(|p| p.contains('#'))
            {
                match servers.get_mut(0) {
                    Some(next) => {
                        let own = next
                            .decor()
                            .prefix()
                            .and_then(|p| p.as_str())
                            .unwrap_or_default()
                            .to_owned();
                        next.decor_mut()
                            .set_prefix(format!("{leading}{}", own.trim_start_matches('\n')));
                    }
                    None => {
                        let trailing = doc.trailing().as_str().unwrap_or_default().to_owned();
                        doc.set_trailing(format!("{leading}{trailing}"));
                    }
                }
            }
            config.servers.remove(index);
            Ok(())
        })
        .map_err(|e| self.unknown_if_empty(e, id))
    }

    fn unknown_if_empty(&self, error: ConfigError, id: &str) -> ConfigError {
        match error {
            ConfigError::Invalid { issues, .. } if issues.is_empty() => {
                ConfigError::UnknownServer { id: id.to_owned() }
            }
            other => other,
        }
    }

    /// Read-modify-write under the cross-process lock. The closure sees the
    /// current config and its document, and returns validation issues to
    /// refuse the change (an empty list means "no such server").
    fn edit(
        &self,
        change: impl FnOnce(&mut Config, &mut toml_edit::DocumentMut) -> Result<(), Vec<ConfigIssue>>,
    ) -> Result<Config, ConfigError> {
        let _lock = FileLock::acquire(&self.path).map_err(|source| ConfigError::Write {
            path: self.path.clone(),
            source,
        })?;
        let text = self.read_text()?.unwrap_or_default();
        let mut config = Config::parse(&text, &self.path)?;
        let mut doc: toml_edit::DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| ConfigError::Syntax {
                    path: self.path.clone(),
                    line: 1,
                    column: 1,
                    message: e.message().to_owned(),
                })?;
        normalize_servers(&mut doc);
        change(&mut config, &mut doc).map_err(|issues| ConfigError::Invalid {
            path: self.path.clone(),
            issues,
            locations: Vec::new(),
        })?;
        let new_text = doc.to_string();
        // What we write must load back to exactly what we meant.
        debug_assert_eq!(
            Config::parse(&new_text, &self.path).ok().as_ref(),
            Some(&config)
        );
        fsutil::write_atomic(&self.path, new_text.as_bytes()).map_err(|source| {
            ConfigError::Write {
                path: self.path.clone(),
                source,
            }
        })?;
        Ok(config)
    }
}

/// Makes `servers` an array of tables, whatever form the person wrote.
fn normalize_servers(doc: &mut toml_edit::DocumentMut) {
    let table = doc.as_table_mut();
    match table.get("servers") {
        Some(toml_edit::Item::ArrayOfTables(_)) => {}
        Some(toml_edit::Item::Value(toml_edit::Value::Array(array))) => {
            let mut aot = toml_edit::ArrayOfTables::new();
            for value in array.iter() {
                if let Some(inline) = value.as_inline_table() {
                    aot.push(inline.clone().into_table());
                }
            }
            table.insert("servers", toml_edit::Item::ArrayOfTables(aot));
        }
        _ => {
            table.insert(
                "servers",
                toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()),
            );
        }
    }
}

fn servers_mut(doc: &mut toml_edit::DocumentMut) -> &mut toml_edit::ArrayOfTables {
    doc.as_table_mut()
        .get_mut("servers")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
        .expect("normalize_servers ran first")
}

/// The TOML table for one server, headers as an inline table.
fn server_table(server: &ServerConfig) -> toml_edit::Table {
    let doc = toml_edit::ser::to_document(server).expect("a server always serializes");
    let mut table = doc.as_table().clone();
    if let Some(headers) = table.get_mut("headers")
        && let Some(inner) = headers.as_table().cloned()
    {
        *headers = toml_edit::value(inner.into_inline_table());
    }
    table.set_implicit(false);
    table.set_position(None);
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OAuthConfig;

    #[test]
    fn edits_keep_comments_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "# my servers\n\n[[servers]]\n# the first one\nid = \"one\"\nurl = \"https://one.example/mcp\" # main\n",
        )
        .unwrap();
        let file = ConfigFile::new(&path);
        let mut two = ServerConfig::new("two", "http://127.0.0.1:9/mcp");
        two.headers
            .insert("Authorization".into(), "Bearer ${TOKEN}".into());
        two.tools.allow = vec!["read_*".into(), "search".into()];
        two.tools.deny = vec!["read_secret*".into()];
        file.add_server(two.clone()).unwrap();
        let mut three = ServerConfig::new("three", "https://three.example/mcp");
        three.oauth = Some(OAuthConfig {
            scopes: vec!["a".into()],
            ..OAuthConfig::default()
        });
        file.add_server(three.clone()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# my servers\n"), "{text}");
        assert!(
            text.contains("# the first one") && text.contains("# main"),
            "{text}"
        );
        let loaded = file.load().unwrap();
        assert_eq!(loaded.servers[1], two);
        assert_eq!(loaded.servers[2], three);

        let err = file
            .add_server(ServerConfig::new("TWO", "https://x"))
            .unwrap_err();
        assert!(
            err.to_string().contains("collides with server \"two\""),
            "{err}"
        );

        two.enabled = false;
        file.update_server("two", two.clone()).unwrap();
        assert!(!file.load().unwrap().servers[1].enabled);
        file.remove_server("one").unwrap();
        let loaded = file.load().unwrap();
        assert_eq!(
            loaded
                .servers
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            ["two", "three"]
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# my servers\n"),
            "the file's heading went with the first server:\n{text}"
        );
        assert!(matches!(
            file.remove_server("one"),
            Err(ConfigError::UnknownServer { .. })
        ));
        file.remove_server("two").unwrap();
        file.remove_server("three").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# my servers"), "{text}");
        assert!(file.load().unwrap().servers.is_empty());
    }

    #[test]
    fn an_invalid_file_is_not_overwritten_by_an_edit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let broken = "[[servers]]\nid = \"a\"\nurl = nope\n";
        std::fs::write(&path, broken).unwrap();
        let file = ConfigFile::new(&path);
        assert!(
            file.add_server(ServerConfig::new("b", "https://b"))
                .is_err()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_change_is_neither_read_nor_written() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let text = "[[servers]]\nid = \"a\"\nurl = \"https://a.example/mcp\"\n";
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let file = ConfigFile::new(&path);
        let err = file.load().unwrap_err();
        assert!(matches!(err, ConfigError::Unsafe(_)), "{err}");
        assert!(err.to_string().contains("chmod go-w"), "{err}");
        assert!(matches!(
            file.add_server(ServerConfig::new("b", "https://b.example/mcp")),
            Err(ConfigError::Unsafe(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(file.load().unwrap().servers.len(), 1);
    }

    #[test]
    fn missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::new(dir.path().join("none.toml"));
        assert_eq!(file.load().unwrap(), Config::default());
    }
}
