//! What the engine tells its front ends: a typed [`Event`] on a broadcast
//! channel for every change of a server's status and every step of an
//! authorization. The desktop shell forwards these to the window and the
//! tray; the CLI prints them.

use serde::Serialize;
use ts_rs::TS;

/// The state of one server's connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ServerStatus {
    /// Switched off in the config.
    Disabled,
    Connecting,
    Connected {
        #[serde(rename = "serverName")]
        server_name: String,
        #[serde(rename = "serverVersion")]
        server_version: String,
        #[serde(rename = "toolCount")]
        tool_count: usize,
        /// The MCP revision the session speaks (e.g. `2026-07-28`, or
        /// `2025-11-25` for a server that only knows the `initialize`
        /// handshake).
        #[serde(rename = "protocolVersion")]
        protocol_version: String,
    },
    /// OAuth is needed before the server can be used.
    NeedsAuthorization {
        reason: String,
    },
    /// An authorization is under way: the person's browser is at `url`.
    Authorizing {
        url: Option<String>,
    },
    Error {
        kind: ErrorKind,
        message: String,
    },
}

impl ServerStatus {
    /// Whether the status will change without anyone doing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Connecting)
    }

    /// A short lower-case label, as `servers list` prints it.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Connecting => "connecting",
            Self::Connected { .. } => "connected",
            Self::NeedsAuthorization { .. } => "needs_authorization",
            Self::Authorizing { .. } => "authorizing",
            Self::Error { .. } => "error",
        }
    }

    /// The status in words, the one wording of the tray's menu
    /// ([`Wording::Brief`]: one short line) and the CLI's `servers list` and
    /// `auth` ([`Wording::Full`]: with the server's name, version and the
    /// reason). Brief cleans the server's text itself; a terminal still
    /// escapes Full's (it keeps what the server said whole).
    pub fn in_words(&self, wording: Wording) -> String {
        match (self, wording) {
            (Self::Connected { tool_count, .. }, Wording::Brief) => {
                format!("connected ({tool_count} tools)")
            }
            (
                Self::Connected {
                    server_name,
                    server_version,
                    tool_count,
                    protocol_version,
                },
                Wording::Full,
            ) => {
                // A server may leave its name or version empty.
                let server = [server_name.as_str(), server_version.as_str()]
                    .into_iter()
                    .filter(|part| !part.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                let server = if server.is_empty() {
                    server
                } else {
                    format!("{server}, ")
                };
                format!("connected ({server}{tool_count} tools, MCP {protocol_version})")
            }
            (Self::Error { message, .. }, Wording::Brief) => {
                format!("error: {}", crate::text::one_line(message, 60))
            }
            (Self::Error { message, .. }, Wording::Full) => format!("error: {message}"),
            (Self::NeedsAuthorization { reason }, Wording::Full) => {
                format!("needs authorization: {reason}")
            }
            (other, _) => other.label().replace('_', " "),
        }
    }

    pub(crate) fn error(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::Error {
            kind,
            message: message.into(),
        }
    }
}

/// How much [`ServerStatus::in_words`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// A menu line: tool count, a cut error message, no reasons.
    Brief,
    /// Everything a person reading a terminal wants.
    Full,
}

/// What kind of failure put a server into the error state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// A `${NAME}` in the server's headers is not in the vault.
    MissingSecret,
    /// The vault could not be opened.
    Vault,
    /// Nothing answered at the address.
    Unreachable,
    /// The server did not answer in time.
    Timeout,
    /// The server refused the credentials (HTTP 401/403).
    Unauthorized,
    /// An HTTP error other than an authorization failure.
    Http,
    /// The server did not speak MCP as expected.
    Protocol,
    /// An OAuth authorization failed.
    Authorization,
}

/// One step of an authorization, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum AuthorizationStep {
    /// The consent page is open (or should be opened) at `url`.
    WaitingForBrowser {
        url: String,
    },
    /// The browser came back; the code is being exchanged for tokens.
    ExchangingCode,
    Connected,
    Failed {
        reason: String,
    },
}

/// Everything the engine announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(rename = "GatehouseEvent")]
pub enum Event {
    /// A server's status changed.
    Status {
        server: String,
        status: ServerStatus,
    },
    /// Servers were added, removed or edited: re-read the list.
    ServersChanged,
    /// The vault's secrets or state changed.
    VaultChanged,
    /// An authorization moved on.
    Authorization {
        server: String,
        step: AuthorizationStep,
    },
    /// A server that was usable needs the person to authorize it again
    /// (its tokens were revoked or expired beyond refresh).
    ReauthorizationNeeded { server: String },
    /// A client (through a proxy or the gateway, in this process or any
    /// other) was refused server `server` because it needs authorization:
    /// the desktop app shows its Authorize prompt and a notification.
    /// Announced at most once a minute per server.
    AuthorizationWanted { server: String, client: String },
    /// Calls were recorded in the Activity record (by this process or any
    /// other: a proxy, `gatehouse serve`), oldest first.
    Activity {
        records: Vec<crate::activity::ActivityRecord>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_reads_the_same_in_the_tray_and_the_terminal() {
        let connected = ServerStatus::Connected {
            server_name: "linear".into(),
            server_version: "1.2".into(),
            tool_count: 12,
            protocol_version: "2025-11-25".into(),
        };
        assert_eq!(connected.in_words(Wording::Brief), "connected (12 tools)");
        assert_eq!(
            connected.in_words(Wording::Full),
            "connected (linear 1.2, 12 tools, MCP 2025-11-25)"
        );
        let needs = ServerStatus::NeedsAuthorization {
            reason: "no stored tokens".into(),
        };
        let unnamed = ServerStatus::Connected {
            server_name: "py-peer".into(),
            server_version: String::new(),
            tool_count: 2,
            protocol_version: "2026-07-28".into(),
        };
        assert_eq!(
            unnamed.in_words(Wording::Full),
            "connected (py-peer, 2 tools, MCP 2026-07-28)"
        );
        assert_eq!(needs.in_words(Wording::Brief), "needs authorization");
        assert_eq!(
            needs.in_words(Wording::Full),
            "needs authorization: no stored tokens"
        );
        let error = ServerStatus::Error {
            kind: ErrorKind::Http,
            message: format!("bad\u{202E}{}", "x".repeat(100)),
        };
        let brief = error.in_words(Wording::Brief);
        assert!(
            brief.starts_with("error: badxxx") && brief.ends_with('…'),
            "{brief}"
        );
        assert_eq!(brief.chars().count(), "error: ".len() + 60 + 1);
        assert!(error.in_words(Wording::Full).contains('\u{202E}'));
        assert_eq!(
            ServerStatus::Connecting.in_words(Wording::Full),
            "connecting"
        );
    }

    #[test]
    fn events_serialize_as_the_ui_expects() {
        let event = Event::Status {
            server: "a".into(),
            status: ServerStatus::Connected {
                server_name: "x".into(),
                server_version: "1".into(),
                tool_count: 3,
                protocol_version: "2026-07-28".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({
                "type": "status",
                "server": "a",
                "status": {"state": "connected", "serverName": "x", "serverVersion": "1", "toolCount": 3, "protocolVersion": "2026-07-28"}
            })
        );
        let step = AuthorizationStep::WaitingForBrowser {
            url: "https://a".into(),
        };
        assert_eq!(
            serde_json::to_value(step).unwrap(),
            serde_json::json!({"step": "waiting_for_browser", "url": "https://a"})
        );
    }
}
