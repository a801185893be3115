//! "Copy diagnostics" and `gatehouse diagnostics`: one plain-text report a
//! person can paste into a bug report — versions, platform, desktop session,
//! the vault's state, each server's id and status, and the recent lines of
//! the log files. It is assembled here, once, so both front ends send the
//! same thing.
//!
//! Never a secret: server URLs are left out (only the scheme, host and
//! port), statuses carry the engine's own messages (which never hold a
//! secret), log lines went through the capped filter when written, and
//! every URL's query string and fragment is cut from the whole text
//! (authorization URLs carry `state` and PKCE challenges; a callback URL a
//! `code`).

use std::fmt::Write as _;

use futures::future::BoxFuture;

use crate::Engine;
use crate::events::ServerStatus;
use crate::vault::VaultStatus;

/// How many recent lines of each log file the report carries.
pub const RECENT_LOG_LINES: usize = 200;

/// The report, for the front end named `front_end` (`app`, `cli`). The
/// log files are read on Tokio's blocking pool.
pub fn report<'a>(engine: &'a Engine, front_end: &'a str) -> BoxFuture<'a, String> {
    Box::pin(async move {
        let vault = engine.vault_status().await;
        let servers = engine.servers().await;
        let (engine, front_end) = (engine.clone(), front_end.to_owned());
        tokio::task::spawn_blocking(move || {
            // A server may echo what it was sent (into its name, an error, a
            // log line): every value the vault keeps is cut out at the end.
            let secrets = engine.vault_secret_values();
            let report = compose(&engine, &front_end, &vault, &servers);
            // Escape sequences a log line carries (a client's chosen name) are
            // shown, not obeyed, in a terminal or a bug report.
            let report = crate::text::for_terminal(&report).into_owned();
            crate::connection::without_secrets(report, &secrets)
        })
        .await
        .unwrap_or_else(|error| format!("Gatehouse diagnostics could not be gathered: {error}"))
    })
}

fn compose(
    engine: &Engine,
    front_end: &str,
    vault: &VaultStatus,
    servers: &[crate::api::ServerView],
) -> String {
    let mut out = String::new();
    let paths = engine.paths();
    let _ = writeln!(out, "Gatehouse diagnostics");
    let _ = writeln!(out, "version: {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "front end: {front_end}");
    let _ = writeln!(
        out,
        "platform: {} {} ({})",
        std::env::consts::OS,
        std::env::consts::ARCH,
        os_release().unwrap_or_else(|| "release unknown".into())
    );
    let _ = writeln!(out, "desktop session: {}", desktop_session());
    let _ = writeln!(out, "config file: {}", paths.config_file().display());
    let _ = writeln!(out, "data folder: {}", paths.data_dir().display());
    let _ = writeln!(out, "log folder: {}", paths.log_dir().display());
    let _ = writeln!(out, "vault: {}", vault_line(vault));
    if let Some(problem) = engine.config_problem() {
        let _ = writeln!(out, "config problem: {problem}");
    }

    let _ = writeln!(out, "\nservers ({}):", servers.len());
    for server in servers {
        let _ = writeln!(
            out,
            "- {} [{}, auth {:?}{}]: {}",
            server.id,
            origin(&server.url),
            server.auth_mode,
            if server.enabled { "" } else { ", disabled" },
            status_line(&server.status)
        );
    }

    for (name, lines) in crate::log_file::recent_lines(&paths.log_dir(), RECENT_LOG_LINES) {
        let _ = writeln!(out, "\nrecent log lines ({name}.log):");
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    }
    without_url_queries(&out)
}

fn vault_line(status: &VaultStatus) -> String {
    match status {
        VaultStatus::NotCreated => "not created yet".into(),
        VaultStatus::Unlocked { protection } => format!("unlocked ({protection:?})"),
        VaultStatus::NeedsPassphrase => "waiting for its passphrase".into(),
        VaultStatus::Unavailable { code, message } => format!("unavailable ({code}): {message}"),
    }
}

fn status_line(status: &ServerStatus) -> String {
    match status {
        ServerStatus::Connected {
            server_name,
            server_version,
            tool_count,
            protocol_version,
        } => format!(
            "connected to {server_name} {server_version}, {tool_count} tools, MCP {protocol_version}"
        ),
        ServerStatus::NeedsAuthorization { reason } => format!("needs authorization: {reason}"),
        ServerStatus::Error { kind, message } => format!("error ({kind:?}): {message}"),
        // The authorization URL is left out.
        other => other.label().replace('_', " "),
    }
}

/// `scheme://host:port` of a server URL; nothing of its path or query.
fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => "unparsable URL".into(),
    }
}

/// `text` with the query string and fragment of every `http(s)://` URL
/// replaced by `?…`.
pub fn without_url_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_url(rest) {
        out.push_str(&rest[..at]);
        let url = &rest[at..];
        let end = url
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(url.len());
        let (url, after) = url.split_at(end);
        match url.find(['?', '#']) {
            Some(cut) => {
                out.push_str(&url[..cut]);
                out.push_str("?…");
            }
            None => out.push_str(url),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

fn find_url(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    match (lower.find("http://"), lower.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The distribution's name and version (Linux: `PRETTY_NAME` of
/// `/etc/os-release`).
fn os_release() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
}

/// Which desktop and display server the process runs under, as far as the
/// environment tells (the tray and the keyring depend on both).
fn desktop_session() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut parts = Vec::new();
    parts.push(var("XDG_CURRENT_DESKTOP").unwrap_or_else(|| "no XDG_CURRENT_DESKTOP".into()));
    if let Some(kind) = var("XDG_SESSION_TYPE") {
        parts.push(kind);
    }
    if var("WAYLAND_DISPLAY").is_some() {
        parts.push("Wayland display".into());
    }
    if var("DISPLAY").is_some() {
        parts.push("X display".into());
    }
    if var("DBUS_SESSION_BUS_ADDRESS").is_some() {
        parts.push("session bus".into());
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_queries_and_fragments_are_cut() {
        assert_eq!(
            without_url_queries(
                "open https://as.example/authorize?state=s3cr3t&code_challenge=x now, \
                 then http://127.0.0.1:5/cb#code=abc; keep https://x.example/mcp and \"HTTPS://A.B/?q=1\""
            ),
            "open https://as.example/authorize?… now, then http://127.0.0.1:5/cb?… \
             keep https://x.example/mcp and \"HTTPS://A.B/?…\""
        );
    }

    #[test]
    fn origins_only() {
        assert_eq!(
            origin("https://u:p@mcp.example:8443/mcp?key=1"),
            "https://mcp.example:8443"
        );
        assert_eq!(origin("not a url"), "unparsable URL");
    }
}
