//! Why a configuration could not be loaded or changed: [`ConfigError`],
//! whose text names the file, line, server and field, never a value that
//! could be a secret.

use std::io;
use std::path::{Path, PathBuf};

use super::ConfigIssue;
use crate::permissions::UnsafePath;

/// Why a config could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}", display_invalid(path, issues, locations))]
    Invalid {
        path: PathBuf,
        issues: Vec<ConfigIssue>,
        /// `(line, column)` of each issue, when it could be found.
        locations: Vec<Option<(usize, usize)>>,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no server has the id {id:?}")]
    UnknownServer { id: String },
    /// The file, or its directory, can be changed by someone else.
    #[error(transparent)]
    Unsafe(#[from] UnsafePath),
}

impl ConfigError {
    /// The validation problems, when that is what went wrong.
    pub fn issues(&self) -> &[ConfigIssue] {
        match self {
            ConfigError::Invalid { issues, .. } => issues,
            _ => &[],
        }
    }
}

fn display_invalid(
    path: &Path,
    issues: &[ConfigIssue],
    locations: &[Option<(usize, usize)>],
) -> String {
    let lines: Vec<String> = issues
        .iter()
        .enumerate()
        .map(|(i, issue)| match locations.get(i).copied().flatten() {
            Some((line, column)) => format!("{}:{line}:{column}: {issue}", path.display()),
            None => format!("{}: {issue}", path.display()),
        })
        .collect();
    lines.join("\n")
}
