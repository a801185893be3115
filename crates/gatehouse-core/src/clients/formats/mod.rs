//! One file per client format: which tables of the file hold servers, how
//! an entry says "command" or "URL", and what an entry that goes through
//! Gatehouse looks like in that client's words. The reading shared by the
//! JSON formats is here.

mod claude_code;
mod claude_desktop;
mod codex;
mod cursor;
mod gemini;
mod vscode;
mod windsurf;
mod zed;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::ClientKind;
use super::connect::GatewayTarget;
use super::entry::Transport;

/// JSON (with comments where the client allows them) or TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    Json,
    Toml,
}

/// What Gatehouse knows about one client's file.
pub(crate) struct Format {
    pub syntax: Syntax,
    /// Key paths of the tables that hold servers; `*` stands for every key
    /// of the object at that point (Claude Code's projects).
    pub tables: &'static [&'static [&'static str]],
    /// Reads one entry (as JSON, whatever the syntax).
    pub read: fn(&Value) -> Transport,
    /// The keys of an entry that goes through Gatehouse, in order.
    pub gateway_entry: fn(&GatewayTarget) -> Vec<(&'static str, Value)>,
}

/// The format of `kind`'s file.
pub(crate) fn format(kind: ClientKind) -> &'static Format {
    match kind {
        ClientKind::ClaudeDesktop => &claude_desktop::FORMAT,
        ClientKind::ClaudeCode => &claude_code::FORMAT,
        ClientKind::Cursor => &cursor::FORMAT,
        ClientKind::VsCode => &vscode::FORMAT,
        ClientKind::Windsurf => &windsurf::FORMAT,
        ClientKind::Codex => &codex::FORMAT,
        ClientKind::GeminiCli => &gemini::FORMAT,
        ClientKind::Zed => &zed::FORMAT,
    }
}

/// The keys that say how an entry is reached, in any client's words:
/// replaced when an entry is pointed at Gatehouse, everything else kept.
pub(crate) const TRANSPORT_KEYS: &[&str] = &[
    "type",
    "transport",
    "command",
    "args",
    "env",
    "cwd",
    "envFile",
    "url",
    "serverUrl",
    "httpUrl",
    "headers",
    "http_headers",
    "env_http_headers",
    "bearer_token_env_var",
];

/// Reads an entry that names its URL under one of `url_keys` (each with
/// whether that key means the legacy SSE transport) or its program under
/// `command`.
pub(crate) fn read_entry(value: &Value, url_keys: &[(&str, bool)], headers_key: &str) -> Transport {
    let Some(object) = value.as_object() else {
        return Transport::Unknown;
    };
    let declared_sse = matches!(
        object
            .get("type")
            .or_else(|| object.get("transport"))
            .and_then(Value::as_str),
        Some("sse")
    );
    for (key, sse) in url_keys {
        if let Some(url) = object.get(*key).and_then(Value::as_str) {
            return Transport::Remote {
                url: url.trim().to_owned(),
                headers: string_map(object.get(headers_key)),
                sse: *sse || declared_sse,
            };
        }
    }
    match object.get("command") {
        Some(Value::String(command)) => Transport::Stdio {
            command: command.clone(),
            args: string_list(object.get("args")),
            env: string_map(object.get("env")),
        },
        // Zed's older shape: "command": { "path", "args", "env" }.
        Some(Value::Object(command)) => match command.get("path").and_then(Value::as_str) {
            Some(path) => Transport::Stdio {
                command: path.to_owned(),
                args: string_list(command.get("args")),
                env: string_map(command.get("env")),
            },
            None => Transport::Unknown,
        },
        _ => Transport::Unknown,
    }
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| match item {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k.clone(), s.clone())),
                    Value::Number(n) => Some((k.clone(), n.to_string())),
                    Value::Bool(b) => Some((k.clone(), b.to_string())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `Authorization: Bearer <token>` as a JSON headers object.
pub(crate) fn bearer_headers(token: &str) -> Value {
    let mut headers = Map::new();
    headers.insert("Authorization".into(), json!(format!("Bearer {token}")));
    Value::Object(headers)
}

/// The stdio entry every client can run: `gatehouse proxy <id>`.
pub(crate) fn proxy_entry(command: &str, id: &str) -> Vec<(&'static str, Value)> {
    vec![("command", json!(command)), ("args", json!(["proxy", id]))]
}
