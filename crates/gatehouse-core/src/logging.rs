//! The log filter every front end installs. `GATEHOUSE_LOG` picks the level
//! (`info`, `debug`, `rmcp=trace`, …), but some dependency log lines carry
//! secrets — rmcp's OAuth module logs authorization codes at debug level — so
//! those targets are capped whatever the person asks for.

use tracing_subscriber::EnvFilter;

/// Environment variable with the log filter.
pub const LOG_ENV: &str = "GATEHOUSE_LOG";

/// Targets whose detailed logs contain secrets, and the most they may show.
const CAPPED: &[&str] = &["rmcp::transport::auth=info"];

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
    let mut filter =
        EnvFilter::try_new(directives.join(",")).unwrap_or_else(|_| EnvFilter::new("warn"));
    for cap in CAPPED {
        filter = filter.add_directive(cap.parse().expect("a valid directive"));
    }
    filter
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
    }
}
