//! The log filter every front end installs. `GATEHOUSE_LOG` picks the level
//! (`info`, `debug`, `rmcp=trace`, …), but some dependency log lines carry
//! secrets — rmcp's OAuth module logs authorization codes at debug level — so
//! those targets are capped whatever the person asks for.

use tracing_subscriber::EnvFilter;

/// Environment variable with the log filter.
pub const LOG_ENV: &str = "GATEHOUSE_LOG";

/// Targets whose detailed logs contain secrets, and the most they may show.
const CAPPED: &[(&str, &str)] = &[("rmcp::transport::auth", "info")];

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
