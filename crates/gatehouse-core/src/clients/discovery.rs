//! Which files of a client an operation covers. Most clients keep their
//! servers in one file at a documented place; Claude Code keeps them in
//! `~/.claude.json` and in a `.mcp.json` at the root of each project (the
//! "project" scope, shared through version control). The projects Claude
//! Code has been used in are the keys of `projects` in `~/.claude.json`, so
//! that is where their `.mcp.json` files are looked for; the command line
//! adds the working directory's `.mcp.json`.
//!
//! A project folder that exists without a `.mcp.json` has no project
//! servers (most projects); a project folder that is gone is reported, as
//! a file that cannot be read or parsed is, and nothing is written there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::document::ClientDocument;
use super::{ClientKind, default_location};

/// The name of a Claude Code project's file, at the project's root.
pub const PROJECT_FILE: &str = ".mcp.json";

/// Whether `path` is a file a project shares through version control (a
/// Claude Code project's `.mcp.json`): connecting it must not write a
/// gateway token there, so its entries run `gatehouse proxy <id>`.
pub fn is_shared_project_file(client: ClientKind, path: &Path) -> bool {
    client == ClientKind::ClaudeCode && path.file_name() == Some(std::ffi::OsStr::new(PROJECT_FILE))
}

/// Where an operation looks for the clients' files besides their
/// documented places.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// A file given instead of a client's documented places (`--path`):
    /// that client is looked for there only.
    pub paths: BTreeMap<ClientKind, PathBuf>,
    /// A folder whose `.mcp.json`, when it has one, is one more Claude Code
    /// project file (the command line's working directory; the app has
    /// none).
    pub working_dir: Option<PathBuf>,
}

impl<const N: usize> From<[(ClientKind, PathBuf); N]> for Discovery {
    fn from(paths: [(ClientKind, PathBuf); N]) -> Self {
        Self {
            paths: paths.into(),
            working_dir: None,
        }
    }
}

impl Discovery {
    /// The files of `client` this discovery covers (see [`discover`]);
    /// `None` when there is no given file and no documented place.
    pub(crate) fn files(&self, client: ClientKind) -> Option<Vec<ClientFile>> {
        match self.paths.get(&client) {
            Some(path) => Some(vec![ClientFile::at(path.clone())]),
            None => discover(client, self.working_dir.as_slice()),
        }
    }
}

/// One configuration file of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientFile {
    pub path: PathBuf,
    /// The project folder, for a Claude Code project's `.mcp.json`.
    pub project: Option<PathBuf>,
    /// Why there can be no file there (its project folder is gone).
    pub problem: Option<String>,
}

impl ClientFile {
    /// The file whatever way its path is spelled.
    pub(crate) fn identity(&self) -> PathBuf {
        identity(&self.path)
    }

    /// The file at `path`, outside any project.
    pub(crate) fn at(path: PathBuf) -> Self {
        Self {
            path,
            project: None,
            problem: None,
        }
    }
}

/// The project folders `~/.claude.json` lists (the keys of `projects`,
/// absolute paths), in file order.
pub(crate) fn claude_code_projects(document: &ClientDocument) -> Vec<PathBuf> {
    document
        .entry_value(&[], "projects")
        .and_then(Value::as_object)
        .map(|projects| {
            projects
                .keys()
                .map(PathBuf::from)
                .filter(|folder| folder.is_absolute())
                .collect()
        })
        .unwrap_or_default()
}

/// Every file of `client` found at its documented places: its usual file
/// (listed even when it does not exist), and for Claude Code the
/// `.mcp.json` of each project its `~/.claude.json` lists and of each of
/// `extra_projects` (the command line's working directory), where there is
/// one. `None` when this platform gives no documented place.
///
/// Blocking: reads `~/.claude.json`.
pub(crate) fn discover(client: ClientKind, extra_projects: &[PathBuf]) -> Option<Vec<ClientFile>> {
    let main = default_location(client)?;
    if client != ClientKind::ClaudeCode {
        return Some(vec![ClientFile::at(main)]);
    }
    let listed = std::fs::read_to_string(&main)
        .ok()
        .and_then(|text| ClientDocument::parse(client, &text).ok())
        .map(|document| claude_code_projects(&document))
        .unwrap_or_default();
    Some(with_projects(main, &listed, extra_projects))
}

/// `main`, then the `.mcp.json` of each listed project (reported when the
/// folder is gone) and of each extra folder that has one, each file once.
fn with_projects(main: PathBuf, listed: &[PathBuf], extra: &[PathBuf]) -> Vec<ClientFile> {
    let mut seen = BTreeSet::from([identity(&main)]);
    let mut files = vec![ClientFile::at(main)];
    let candidates = listed
        .iter()
        .map(|folder| (folder, true))
        .chain(extra.iter().map(|folder| (folder, false)));
    for (folder, listed) in candidates {
        let path = folder.join(PROJECT_FILE);
        let problem = if path.is_file() {
            None
        } else if listed && !folder.exists() {
            Some(format!(
                "the project folder {} no longer exists",
                folder.display()
            ))
        } else {
            continue;
        };
        if !seen.insert(identity(&path)) {
            continue;
        }
        files.push(ClientFile {
            path,
            project: Some(folder.clone()),
            problem,
        });
    }
    files
}

/// The same file reached by two spellings (a symbolic link, `..`) is one.
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_are_the_keys_of_projects_in_claude_json() {
        let text = r#"{
  "numStartups": 12,
  "mcpServers": {},
  "projects": {
    "/home/me/app": { "allowedTools": [], "mcpServers": {} },
    "relative/ignored": {},
    "/home/me/other": { "hasTrustDialogAccepted": true }
  }
}"#;
        let document = ClientDocument::parse(ClientKind::ClaudeCode, text).unwrap();
        assert_eq!(
            claude_code_projects(&document),
            [
                PathBuf::from("/home/me/app"),
                PathBuf::from("/home/me/other")
            ]
        );
        let none = ClientDocument::parse(ClientKind::ClaudeCode, "{}").unwrap();
        assert!(claude_code_projects(&none).is_empty());
    }

    #[test]
    fn a_project_file_is_listed_once_and_a_gone_folder_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join(".claude.json");
        let with_file = dir.path().join("app");
        let without_file = dir.path().join("plain");
        let gone = dir.path().join("gone");
        std::fs::create_dir_all(&with_file).unwrap();
        std::fs::create_dir_all(&without_file).unwrap();
        std::fs::write(with_file.join(PROJECT_FILE), "{}").unwrap();

        let files = with_projects(
            main.clone(),
            &[with_file.clone(), without_file.clone(), gone.clone()],
            // The working directory is often one of the projects.
            &[with_file.join("."), without_file],
        );
        assert_eq!(
            files,
            [
                ClientFile::at(main),
                ClientFile {
                    path: with_file.join(PROJECT_FILE),
                    project: Some(with_file),
                    problem: None,
                },
                ClientFile {
                    path: gone.join(PROJECT_FILE),
                    project: Some(gone.clone()),
                    problem: Some(format!(
                        "the project folder {} no longer exists",
                        gone.display()
                    )),
                },
            ]
        );
    }
}
