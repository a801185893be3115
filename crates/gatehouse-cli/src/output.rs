//! How the CLI's results look: the server table, tab-separated listings,
//! JSON, tool results, errors with their causes, and the decisions about
//! the terminal (what text from a server may reach it, whether base64 is
//! summarized, whether logs are coloured). Commands decide *what* to print;
//! this module decides *how*, so every line a server can influence passes
//! through one place.
//!
//! Writes go through `io::Result`: a reader that went away comes back as a
//! `BrokenPipe` error, which `main` counts as success.

use std::borrow::Cow;
use std::fmt::Display;
use std::io::{self, IsTerminal as _, Write};

use gatehouse_core::ServerView;
use gatehouse_core::activity::ActivityRecord;
use gatehouse_core::api::OAuthView;
use gatehouse_core::events::{ServerStatus, Wording};
use gatehouse_core::mcp::{CallToolResult, ContentBlock};

/// One line of ordinary output on stdout.
pub fn line(text: impl Display) -> io::Result<()> {
    writeln!(io::stdout().lock(), "{text}")
}

/// Any value as pretty JSON, for `--json` and scripts.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)
}

/// `servers list`: a table, or JSON. Offline (nothing was connected),
/// the table shows enabled/disabled and the JSON a null status.
pub fn servers(servers: &[ServerView], as_json: bool, offline: bool) -> io::Result<()> {
    if as_json && offline {
        // Nothing was connected: there is no status to report.
        let mut listed = serde_json::to_value(servers).unwrap_or_default();
        if let Some(list) = listed.as_array_mut() {
            for server in list.iter_mut().filter_map(|s| s.as_object_mut()) {
                server.insert("status".into(), serde_json::Value::Null);
            }
        }
        return json(&listed);
    }
    if as_json {
        return json(&servers);
    }
    if servers.is_empty() {
        return line("no servers configured; add one with `gatehouse servers add <id> <url>`");
    }
    let width = servers.iter().map(|s| s.id.len()).max().unwrap_or(2).max(2);
    let mut out = io::stdout().lock();
    for server in servers {
        let status = if offline {
            if server.enabled {
                "enabled".to_owned()
            } else {
                "disabled".to_owned()
            }
        } else {
            status_text(&server.status)
        };
        let grant = server.oauth.as_ref().map(grant_text).unwrap_or_default();
        writeln!(
            out,
            "{:width$}  {:7}  {}  {}{grant}",
            server.id,
            server.auth_mode.to_string(),
            server.url,
            status
        )?;
    }
    Ok(())
}

/// Token facts for `servers list`: expiry and granted scopes, never a token.
fn grant_text(oauth: &OAuthView) -> String {
    let mut parts = Vec::new();
    if let Some(expires_at) = oauth.expires_at {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        parts.push(gatehouse_core::api::expiry_text(expires_at, now));
    }
    if !oauth.scopes.is_empty() {
        parts.push(format!("scopes: {}", oauth.scopes.join(" ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" [{}]", parts.join("; "))
    }
}

/// A status in words (the core's full wording), safe to print: server
/// names and messages come from the server.
pub fn status_text(status: &ServerStatus) -> String {
    column(&status.in_words(Wording::Full))
}

/// A tab-separated listing (`tools`, `resources`, `prompts`): two clean
/// columns per row.
pub fn listing<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for (first, second) in rows {
        writeln!(out, "{}\t{}", column(first), column(second))?;
    }
    Ok(())
}

/// `activity`: one call per line, tab-separated — time, client, server,
/// what was called, duration, outcome.
pub fn activity(records: &[ActivityRecord]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for record in records {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{} ms\t{}",
            column(&record.time),
            column(&record.client),
            column(&record.server),
            column(&record.what()),
            record.duration_ms,
            column(&record.outcome.in_words()),
        )?;
    }
    out.flush()
}

/// `activity --json --follow`: one call per line as compact JSON (JSON
/// Lines), flushed at once for a script reading the pipe.
pub fn json_lines<T: serde::Serialize>(values: &[T]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for value in values {
        serde_json::to_writer(&mut out, value)?;
        writeln!(out)?;
    }
    out.flush()
}

/// Text from a server, fit for a terminal (the core's one rule: escapes and
/// invisible characters shown as `\u{..}`, newlines and tabs kept).
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    gatehouse_core::text::for_terminal(text)
}

/// One column of a tab-separated listing: one line, no tabs, no control
/// characters from the server.
fn column(text: &str) -> String {
    terminal_safe(text).replace(['\t', '\n'], " ")
}

/// A content block for a terminal: base64 payloads (images, audio, blobs)
/// are summarized by size instead of printed.
fn summarized(content: &ContentBlock) -> serde_json::Value {
    let mut value = serde_json::to_value(content).unwrap_or_default();
    fn shorten(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map.iter_mut() {
                    match inner {
                        serde_json::Value::String(data)
                            if (key == "data" || key == "blob") && data.len() > 80 =>
                        {
                            *inner = format!("({} bytes of base64)", data.len()).into();
                        }
                        other => shorten(other),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(shorten),
            _ => {}
        }
    }
    shorten(&mut value);
    value
}

/// A tool's result: text as text, other content as JSON. On a terminal,
/// text is made safe and base64 summarized; into a pipe it goes as it came.
pub fn tool_result(result: &CallToolResult) -> io::Result<()> {
    let terminal = io::stdout().is_terminal();
    for content in &result.content {
        match content {
            ContentBlock::Text(text) if terminal => line(terminal_safe(&text.text))?,
            ContentBlock::Text(text) => line(&text.text)?,
            other if terminal => json(&summarized(other))?,
            other => json(other)?,
        }
    }
    if result.content.is_empty()
        && let Some(structured) = &result.structured_content
    {
        json(structured)?;
    }
    Ok(())
}

/// The lines that report a failed command on stderr: the error, then each
/// cause its message does not already quote (the core's messages usually
/// do), every line made safe: errors may quote a server, and nothing in
/// them drives the terminal.
pub fn error_lines(error: &anyhow::Error) -> Vec<String> {
    let mut lines = Vec::new();
    let mut said = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if said.contains(text.trim()) {
            continue;
        }
        let prefix = if said.is_empty() {
            "error: "
        } else {
            "  caused by: "
        };
        for part in text.lines() {
            lines.push(format!("{prefix}{}", terminal_safe(part)));
        }
        said.push_str(&text);
        said.push('\n');
    }
    lines
}

/// Prints a failed command's error and causes on stderr.
pub fn print_error(error: &anyhow::Error) {
    let mut err = io::stderr().lock();
    for line in error_lines(error) {
        // Nowhere left to report a failure to report.
        let _ = writeln!(err, "{line}");
    }
}

/// Whether the command failed only because its reader went away (`| head`):
/// a broken pipe anywhere in the cause chain.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let hostile = "ok\u{1b}]0;pwned\u{7}\u{1b}[2J\tdone\nnext";
        let safe = terminal_safe(hostile);
        assert_eq!(terminal_safe("a\u{202E}b"), "a\\u{202e}b");
        assert!(
            !safe.contains('\u{1b}') && !safe.contains('\u{7}'),
            "{safe}"
        );
        assert!(safe.contains("\tdone\nnext"), "{safe}");
        assert_eq!(column("a\tb\nc"), "a b c");
        assert_eq!(terminal_safe("plain"), "plain");
    }

    #[test]
    fn base64_payloads_are_summarized_for_a_terminal() {
        let image: ContentBlock = serde_json::from_value(serde_json::json!({
            "type": "image", "mimeType": "image/png", "data": "A".repeat(4000),
        }))
        .unwrap();
        let shown = summarized(&image).to_string();
        assert!(shown.contains("(4000 bytes of base64)"), "{shown}");
        assert!(shown.contains("image/png"), "{shown}");
    }

    #[test]
    fn errors_show_each_cause_once_and_safely() {
        // A cause the message already quotes is not repeated.
        let io = io::Error::new(io::ErrorKind::PermissionDenied, "permission denied");
        let quoted = anyhow::Error::new(io).context("cannot read /x: permission denied");
        assert_eq!(
            error_lines(&quoted),
            ["error: cannot read /x: permission denied"]
        );
        // A cause it does not quote is shown under it; multi-line messages
        // keep their prefix on every line; escapes are shown, not obeyed.
        let io = io::Error::other("disk on fire\u{1b}[2J");
        let wrapped = anyhow::Error::new(io).context("cannot save\nthe vault");
        assert_eq!(
            error_lines(&wrapped),
            [
                "error: cannot save",
                "error: the vault",
                "  caused by: disk on fire\\u{1b}[2J",
            ]
        );
    }

    #[test]
    fn a_reader_that_went_away_is_found_anywhere_in_the_chain() {
        let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        assert!(is_broken_pipe(&anyhow::Error::new(pipe).context("listing")));
        let other = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(!is_broken_pipe(&anyhow::Error::new(other)));
        assert!(!is_broken_pipe(&anyhow::anyhow!("broken pipe")));
    }
}
