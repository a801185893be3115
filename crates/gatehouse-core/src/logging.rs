//! The log filter every front end installs. `GATEHOUSE_LOG` picks the level
//! (`info`, `debug`, `rmcp=trace`, …), but some dependency log lines carry
//! secrets — rmcp's OAuth module logs authorization codes at debug level — so
//! those targets are capped whatever the person asks for. [`init`] installs
//! it for the terminal and for the log file a person can send
//! ([`crate::log_file`]).

use std::path::{Path, PathBuf};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use crate::log_file::RotatingFile;

/// Environment variable with the log filter.
pub const LOG_ENV: &str = "GATEHOUSE_LOG";

/// Targets whose detailed logs contain secrets, and the most they may show.
const CAPPED: &[(&str, &str)] = &[
    ("rmcp::transport::auth", "info"),
    // Logs the peer's whole `initialize` at info ("Service initialized as
    // client peer_info=…"): a server's name and instructions are its own
    // text, and a hostile one echoes the credentials it was sent there.
    ("rmcp::service", "warn"),
];

/// Levels from quietest to loudest, as filter directives name them.
const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

/// Quiet by default: rmcp's transport worker logs every failed connection
/// at error level, which the engine already reports as the server's status
/// (a server waiting for authorization is not an error). `GATEHOUSE_LOG`
/// brings them back.
const QUIET_BY_DEFAULT: &str = "rmcp::transport::worker=off";

/// `GATEHOUSE_LOG` (or `default`), with the secret-bearing targets capped.
pub fn env_filter(default: &str) -> EnvFilter {
    let requested = std::env::var(LOG_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| format!("{default},{QUIET_BY_DEFAULT}"));
    capped(&requested)
}

/// The level the log file keeps when `GATEHOUSE_LOG` does not say.
pub const FILE_DEFAULT: &str = "info";

/// Installs this process's logging: stderr at `stderr_default` and, when
/// `log_dir` is given, the rotating file `<log_dir>/<name>.log` at
/// [`FILE_DEFAULT`] (`GATEHOUSE_LOG` sets both). Returns the file's path;
/// when the file cannot be opened it says so on stderr and logs there only.
pub fn init(stderr_default: &str, log_dir: Option<&Path>, name: &str) -> Option<PathBuf> {
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(env_filter(stderr_default));
    let file = log_dir.and_then(|dir| match RotatingFile::open(dir, name) {
        Ok(file) => Some(file),
        Err(error) => {
            eprintln!(
                "gatehouse: cannot write the log file in {}: {error}",
                dir.display()
            );
            None
        }
    });
    let path = file.as_ref().map(RotatingFile::path);
    let file_layer = file.map(|file| {
        fmt::layer()
            .with_writer(file)
            .with_ansi(false)
            .with_filter(env_filter(FILE_DEFAULT))
    });
    // A second install (tests calling in twice) keeps the first.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    path
}

/// `directives` with the secret-bearing targets capped. Span directives
/// (`[span]=trace`) are dropped: they match events of every target inside
/// the span, the capped ones included.
pub fn capped(directives: &str) -> EnvFilter {
    let directives: Vec<&str> = directives.split(',').filter(|d| !d.contains('[')).collect();
    let directives = if EnvFilter::try_new(directives.join(",")).is_ok() {
        directives
    } else {
        vec!["warn"]
    };
    let mut filter = EnvFilter::new(directives.join(","));
    for (target, most) in CAPPED {
        // The cap only ever lowers: a target the directives leave quieter
        // (`rmcp=off`) stays as quiet.
        let asked = level_for(&directives, target);
        let level = if rank(&asked) <= rank(most) {
            asked
        } else {
            (*most).to_owned()
        };
        filter = filter.add_directive(
            format!("{target}={level}")
                .parse()
                .expect("a valid directive"),
        );
    }
    filter
}

/// The level `directives` give `target`: the most specific matching target
/// directive, else the bare level, else off.
fn level_for(directives: &[&str], target: &str) -> String {
    let mut best: Option<(usize, String)> = None;
    let mut default = "off".to_owned();
    for directive in directives {
        let directive = directive.trim();
        match directive.split_once('=') {
            Some((prefix, level))
                if target.starts_with(prefix)
                    && best.as_ref().is_none_or(|(len, _)| prefix.len() >= *len) =>
            {
                best = Some((prefix.len(), level.trim().to_ascii_lowercase()));
            }
            Some(_) => {}
            None if LEVELS.contains(&directive.to_ascii_lowercase().as_str()) => {
                default = directive.to_ascii_lowercase();
            }
            None if target.starts_with(directive) && !directive.is_empty() => {
                // A bare target enables everything for it.
                best = Some((directive.len(), "trace".into()));
            }
            None => {}
        }
    }
    best.map(|(_, level)| level).unwrap_or(default)
}

fn rank(level: &str) -> usize {
    LEVELS
        .iter()
        .position(|l| *l == level)
        .unwrap_or(LEVELS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_bearing_targets_stay_capped_even_when_asked_for() {
        let shown = capped("debug,rmcp::transport::auth=trace").to_string();
        assert!(shown.contains("rmcp::transport::auth=info"), "{shown}");
        assert!(!shown.contains("rmcp::transport::auth=trace"), "{shown}");
        assert!(shown.contains("debug"), "{shown}");
        let spans = capped("warn,[transport_worker]=trace").to_string();
        assert!(!spans.contains("transport_worker"), "{spans}");
        // The cap never turns a silenced target back on.
        let quiet = capped("warn,rmcp=off").to_string();
        assert!(quiet.contains("rmcp::transport::auth=off"), "{quiet}");
        let bare = capped("rmcp").to_string();
        assert!(bare.contains("rmcp::transport::auth=info"), "{bare}");
    }
}
