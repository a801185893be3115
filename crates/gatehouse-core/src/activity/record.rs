//! One call as the Activity record keeps it: who called (the client's name
//! from `initialize`, or its gateway token's name), which server, the
//! method and tool, how long it took and how it ended. Never the arguments,
//! the result, an error's words or any header: what a client or a server
//! says beyond a name and a number stays out of the file.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The most characters kept of a client's name (it comes from the peer).
pub const MAX_CLIENT_CHARS: usize = 64;
/// The most characters kept of a method or tool name (they come from the
/// peer too: a custom method is any string).
pub const MAX_NAME_CHARS: usize = 128;

/// One forwarded call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActivityRecord {
    /// When the call arrived, RFC 3339 in UTC with milliseconds.
    pub time: String,
    /// The client's name from `initialize` (proxy), or the name of its
    /// gateway token (gateway).
    pub client: String,
    /// Which front end the call came through.
    pub via: Via,
    /// The server's id in the config.
    pub server: String,
    /// The JSON-RPC method, e.g. `tools/call`.
    pub method: String,
    /// The tool's name, for `tools/call` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub tool: Option<String>,
    #[ts(type = "number")]
    pub duration_ms: u64,
    pub outcome: Outcome,
}

/// The front end a call came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// `gatehouse proxy <id>`, MCP over stdio.
    Proxy,
    /// The local HTTP gateway (the app or `gatehouse serve`).
    Gateway,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proxy => "proxy",
            Self::Gateway => "gateway",
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The server answered.
    Ok,
    /// The server answered a `tools/call` with a result marked `isError`.
    ToolError,
    /// A JSON-RPC error (from the server, or Gatehouse's own when the
    /// server was not available): its code, and a short message that
    /// Gatehouse words from the code ([`error_class`]) — never the error's
    /// own message, which may quote the arguments.
    Error { code: i32, message: String },
    /// The client cancelled the call.
    Cancelled,
    /// The server did not answer in time (the connection to it timed out).
    Timeout,
    /// The server's tool filter left the tool out; the server never saw
    /// the call.
    Filtered,
    /// Gatehouse refused the call: the server needs the person to
    /// authorize it. The desktop app, seeing this, shows its Authorize
    /// prompt and a notification.
    NeedsAuthorization,
}

impl Outcome {
    /// The outcome in a few words, as the CLI's table and the window show
    /// it.
    pub fn in_words(&self) -> String {
        match self {
            Self::Ok => "ok".to_owned(),
            Self::ToolError => "tool error".to_owned(),
            Self::Error { code, message } => format!("error {code} ({message})"),
            Self::Cancelled => "cancelled".to_owned(),
            Self::Timeout => "timeout".to_owned(),
            Self::Filtered => "filtered out".to_owned(),
            Self::NeedsAuthorization => "needs authorization".to_owned(),
        }
    }

    /// An error with code `code`, worded by Gatehouse.
    pub fn error(code: i32) -> Self {
        Self::Error {
            code,
            message: error_class(code).to_owned(),
        }
    }
}

/// A JSON-RPC error code in a few words: the name the protocol (or
/// Gatehouse) gives it, or the range it falls in.
pub fn error_class(code: i32) -> &'static str {
    match code {
        -32700 => "parse error",
        -32600 => "invalid request",
        -32601 => "method not found",
        -32602 => "invalid params",
        -32603 => "internal error",
        -32001 => "server not available",
        -32002 => "resource not found",
        -32042 => "URL elicitation required",
        -32099..=-32000 => "server error",
        _ => "error",
    }
}

impl ActivityRecord {
    /// A record of a call that arrived at `started` and took `duration`,
    /// with the peer's names made one bounded line each.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        started: SystemTime,
        duration: Duration,
        client: &str,
        via: Via,
        server: &str,
        method: &str,
        tool: Option<&str>,
        outcome: Outcome,
    ) -> Self {
        Self {
            time: rfc3339(started),
            client: crate::text::one_line(client, MAX_CLIENT_CHARS),
            via,
            server: crate::text::one_line(server, MAX_NAME_CHARS),
            method: crate::text::one_line(method, MAX_NAME_CHARS),
            tool: tool.map(|tool| crate::text::one_line(tool, MAX_NAME_CHARS)),
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            outcome,
        }
    }

    /// What the call was: the tool for `tools/call`, else the method.
    pub fn what(&self) -> String {
        match &self.tool {
            Some(tool) => format!("{} {tool}", self.method),
            None => self.method.clone(),
        }
    }
}

/// Which records to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    /// Only this server's calls.
    pub server: Option<String>,
    /// Only this client's calls (its name as recorded).
    pub client: Option<String>,
}

impl ActivityFilter {
    pub fn matches(&self, record: &ActivityRecord) -> bool {
        self.server.as_deref().is_none_or(|s| s == record.server)
            && self.client.as_deref().is_none_or(|c| c == record.client)
    }
}

/// `time` as RFC 3339 in UTC with milliseconds (`2026-12-05T12:07:41.123Z`).
pub(crate) fn rfc3339(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn times_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day of a century year) 23:59:59.999.
        let leap = UNIX_EPOCH + Duration::from_millis(951_868_799_999);
        assert_eq!(rfc3339(leap), "2000-02-29T23:59:59.999Z");
        let later = UNIX_EPOCH + Duration::from_secs(1_796_472_461);
        assert_eq!(rfc3339(later), "2026-12-05T12:07:41.000Z");
    }

    #[test]
    fn a_hostile_peer_names_are_one_bounded_line() {
        let client = format!("evil\n\u{1b}[2Jclient\u{202E}{}", "x".repeat(500));
        let tool = format!("tool\r\nFAKE LINE{}", "y".repeat(500));
        let record = ActivityRecord::new(
            UNIX_EPOCH,
            Duration::from_millis(5),
            &client,
            Via::Proxy,
            "demo",
            "tools/call",
            Some(&tool),
            Outcome::Ok,
        );
        assert!(!record.client.contains(['\n', '\u{1b}', '\u{202E}']));
        assert!(
            record.client.starts_with("evil [2Jclient"),
            "{}",
            record.client
        );
        assert_eq!(record.client.chars().count(), MAX_CLIENT_CHARS + 1);
        let tool = record.tool.as_deref().unwrap();
        assert!(!tool.contains(['\r', '\n']));
        assert_eq!(tool.chars().count(), MAX_NAME_CHARS + 1);
        let line = serde_json::to_string(&record).unwrap();
        assert!(!line.contains('\n'));
    }

    #[test]
    fn the_json_shape_is_the_one_the_window_and_scripts_read() {
        let record = ActivityRecord::new(
            UNIX_EPOCH,
            Duration::from_millis(12),
            "claude-code",
            Via::Gateway,
            "linear",
            "tools/call",
            Some("search"),
            Outcome::error(-32602),
        );
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            serde_json::json!({
                "time": "1970-01-01T00:00:00.000Z",
                "client": "claude-code",
                "via": "gateway",
                "server": "linear",
                "method": "tools/call",
                "tool": "search",
                "durationMs": 12,
                "outcome": { "kind": "error", "code": -32602, "message": "invalid params" },
            })
        );
        assert_eq!(record.outcome.in_words(), "error -32602 (invalid params)");
        assert_eq!(record.what(), "tools/call search");
        let list = ActivityRecord {
            tool: None,
            method: "tools/list".into(),
            outcome: Outcome::Ok,
            ..record
        };
        assert!(!serde_json::to_string(&list).unwrap().contains("tool\""));
    }

    #[test]
    fn a_filter_matches_server_and_client() {
        let record = ActivityRecord::new(
            UNIX_EPOCH,
            Duration::ZERO,
            "cursor",
            Via::Proxy,
            "linear",
            "tools/list",
            None,
            Outcome::Ok,
        );
        assert!(ActivityFilter::default().matches(&record));
        let by_server = ActivityFilter {
            server: Some("linear".into()),
            client: None,
        };
        assert!(by_server.matches(&record));
        let other = ActivityFilter {
            server: Some("github".into()),
            client: None,
        };
        assert!(!other.matches(&record));
        let by_client = ActivityFilter {
            server: Some("linear".into()),
            client: Some("zed".into()),
        };
        assert!(!by_client.matches(&record));
    }
}
