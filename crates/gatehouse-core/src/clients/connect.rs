//! Connecting a client: each of its entries for a server Gatehouse has is
//! rewritten to go through Gatehouse (the gateway's URL with the client's
//! token, or `gatehouse proxy <id>` where the client speaks only stdio);
//! every other entry and setting is left as it was. Pure: it turns a parsed
//! file into the new text, the list of changes, the entries as they were
//! (for the undo) and a diff whose secrets are blanked out.

use serde::Serialize;
use serde_json::Value;

use super::document::{ClientDocument, DocumentError, Edit, EditKind};
use super::formats;
use super::import::{Reach, reach, server_for_url};
use crate::config::Config;

/// What a rewritten entry points at.
#[derive(Debug, Clone)]
pub enum GatewayTarget {
    /// The local HTTP gateway, with the client's bearer token.
    Http {
        id: String,
        url: String,
        token: String,
    },
    /// `<command> proxy <id>` over stdio.
    Proxy { command: String, id: String },
}

impl GatewayTarget {
    pub(crate) fn id(&self) -> &str {
        match self {
            Self::Http { id, .. } | Self::Proxy { id, .. } => id,
        }
    }

    pub(crate) fn proxy_command(&self) -> &str {
        match self {
            Self::Proxy { command, .. } => command,
            Self::Http { .. } => "gatehouse",
        }
    }
}

/// What connecting does to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum RewriteAction {
    /// Rewritten to go through Gatehouse.
    Connect,
    /// Goes through Gatehouse already.
    AlreadyConnected,
    /// A remote server Gatehouse does not have: import it first.
    NotImported,
    /// A local program: left alone.
    Local,
    /// Not understood: left alone.
    Unknown,
}

/// One entry and what happens to it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct EntryChange {
    pub entry: String,
    pub table: Vec<String>,
    /// The Gatehouse server it goes (or would go) through.
    pub server: Option<String>,
    pub action: RewriteAction,
}

/// The rewrite of one file.
#[derive(Debug, Clone)]
pub struct ConnectPlan {
    pub changes: Vec<EntryChange>,
    /// The file's new text.
    pub(crate) new_text: String,
    /// The rewritten entries as they were, for the undo.
    pub(crate) originals: Vec<(Vec<String>, String, Option<Value>)>,
}

impl ConnectPlan {
    /// Whether any entry changes.
    pub fn changes_anything(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.action == RewriteAction::Connect)
    }
}

/// Plans the rewrite of `document` for the servers of `config`; `target`
/// gives each server's new entry.
pub(crate) fn plan_connect(
    document: &ClientDocument,
    config: &Config,
    target: &dyn Fn(&str) -> GatewayTarget,
) -> Result<ConnectPlan, DocumentError> {
    let format = formats::format(document.kind());
    let mut changes = Vec::new();
    let mut edits = Vec::new();
    let mut refreshes = Vec::new();
    let mut originals = Vec::new();
    for entry in document.entries() {
        let (server, action) = match reach(&entry) {
            Reach::Gatehouse(id) => (id, RewriteAction::AlreadyConnected),
            Reach::Local(_) => (None, RewriteAction::Local),
            Reach::Unknown => (None, RewriteAction::Unknown),
            Reach::Remote(remote) => match server_for_url(config, remote.url()) {
                Some(server) => (Some(server.id.clone()), RewriteAction::Connect),
                None => (None, RewriteAction::NotImported),
            },
        };
        if let (RewriteAction::Connect, Some(id)) = (action, &server) {
            edits.push(Edit {
                table: entry.table.clone(),
                name: entry.name.clone(),
                change: EditKind::Transport((format.gateway_entry)(&target(id))),
            });
            originals.push((
                entry.table.clone(),
                entry.name.clone(),
                document.entry_value(&entry.table, &entry.name).cloned(),
            ));
        }
        // An entry connected before carries the client's previous token:
        // connecting again makes a new one, so it is rewritten too.
        if let (RewriteAction::AlreadyConnected, Some(id)) = (action, &server) {
            let target = target(id);
            if matches!(target, GatewayTarget::Http { .. }) && config.server(id).is_some() {
                refreshes.push(Edit {
                    table: entry.table.clone(),
                    name: entry.name.clone(),
                    change: EditKind::Transport((format.gateway_entry)(&target)),
                });
            }
        }
        changes.push(EntryChange {
            entry: entry.name,
            table: entry.table,
            server,
            action,
        });
    }
    if !edits.is_empty() {
        edits.extend(refreshes);
    }
    let new_text = document.edited(&edits)?;
    Ok(ConnectPlan {
        changes,
        new_text,
        originals,
    })
}

/// What a client's stdio entry runs: the `gatehouse` command-line program
/// by its full path (clients such as Claude Desktop start programs with a
/// minimal `PATH`) — this program when it is that one, else the one
/// installed beside it (the desktop app), else `gatehouse` on `PATH`.
pub fn proxy_program() -> String {
    let name = if cfg!(windows) {
        "gatehouse.exe"
    } else {
        "gatehouse"
    };
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            if exe.file_name() == Some(std::ffi::OsStr::new(name)) {
                return Some(exe);
            }
            exe.parent()
                .map(|dir| dir.join(name))
                .filter(|cli| cli.is_file())
        })
        .and_then(|cli| cli.to_str().map(str::to_owned))
        .unwrap_or_else(|| "gatehouse".to_owned())
}

/// A ready-to-paste entry for server `id` in `kind`'s file, for a client
/// Gatehouse did not find: `<proxy_command> proxy <id>` over stdio, which
/// every client runs and which needs no token.
pub fn snippet(kind: super::ClientKind, id: &str, proxy_command: &str) -> String {
    let format = formats::format(kind);
    let table = format.tables[0].iter().map(|s| (*s).to_owned()).collect();
    let target = GatewayTarget::Proxy {
        command: proxy_command.to_owned(),
        id: id.to_owned(),
    };
    let empty = ClientDocument::parse(kind, "").expect("an empty file parses");
    empty
        .edited(&[Edit {
            table,
            name: id.to_owned(),
            change: EditKind::Transport((format.gateway_entry)(&target)),
        }])
        .expect("an entry is written into an empty file")
}

/// The edits that put `originals` back.
pub(crate) fn restore_edits(originals: &[(Vec<String>, String, Option<Value>)]) -> Vec<Edit> {
    originals
        .iter()
        .map(|(table, name, value)| Edit {
            table: table.clone(),
            name: name.clone(),
            change: EditKind::Restore(value.clone()),
        })
        .collect()
}

/// A unified diff of `before` → `after`, with every value in `secrets`
/// (and its JSON-escaped form) replaced by `<secret>`.
pub(crate) fn redacted_diff(label: &str, before: &str, after: &str, secrets: &[String]) -> String {
    let diff = similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(label, label)
        .to_string();
    redact(&diff, secrets)
}

pub(crate) fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    let mut secrets: Vec<&String> = secrets.iter().filter(|s| s.len() >= 4).collect();
    // Longest first, so a secret that contains another is blanked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        let escaped = serde_json::to_string(secret).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        out = out
            .replace(escaped, "<secret>")
            .replace(secret.as_str(), "<secret>");
    }
    out
}

/// Every value in `document` that may be a secret: header and `env`
/// values, the arguments of `--header`-like flags, and the credential part
/// of each (`Bearer <this>`), so a diff can blank them out.
pub(crate) fn secret_values(document: &ClientDocument) -> Vec<String> {
    let mut found = Vec::new();
    for entry in document.entries() {
        let Some(value) = document.entry_value(&entry.table, &entry.name) else {
            continue;
        };
        collect(value, None, &mut found);
    }
    found
}

fn collect(value: &Value, key: Option<&str>, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let sensitive = matches!(
                    k.as_str(),
                    "headers" | "env" | "http_headers" | "env_http_headers"
                );
                if let (true, Value::Object(values)) = (sensitive, v) {
                    for value in values.values().filter_map(Value::as_str) {
                        add(value, found);
                    }
                }
                collect(v, Some(k), found);
            }
        }
        Value::Array(items) if key == Some("args") => {
            let args: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            for (i, arg) in args.iter().enumerate() {
                let after_flag = i > 0
                    && matches!(
                        args[i - 1],
                        "--header"
                            | "--headers"
                            | "-H"
                            | "--oauth2Bearer"
                            | "--static-oauth-client-info"
                    );
                let second_of_pair = i > 1 && matches!(args[i - 2], "--headers" | "-H");
                if after_flag || second_of_pair {
                    add(arg, found);
                    if let Some((_, value)) = arg.split_once(':') {
                        add(value, found);
                    }
                }
                if let Ok(Value::Object(info)) = serde_json::from_str::<Value>(arg)
                    && let Some(secret) = info.get("client_secret").and_then(Value::as_str)
                {
                    add(secret, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, None, found)),
        _ => {}
    }
}

fn add(value: &str, found: &mut Vec<String>) {
    let value = value.trim();
    if value.is_empty() || value.starts_with("${") && value.ends_with('}') {
        return;
    }
    found.push(value.to_owned());
    if let Some((_, credential)) = value.split_once(char::is_whitespace) {
        found.push(credential.trim().to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::ClientKind;
    use crate::config::ServerConfig;

    #[test]
    fn snippets_parse_as_each_clients_file() {
        for kind in ClientKind::ALL {
            let text = snippet(kind, "linear", "/opt/gatehouse/bin/gatehouse");
            let document = ClientDocument::parse(kind, &text).unwrap();
            let entries = document.entries();
            assert_eq!(entries.len(), 1, "{kind}: {text}");
            assert!(
                matches!(reach(&entries[0]), Reach::Gatehouse(Some(ref id)) if id == "linear"),
                "{kind}: {text}"
            );
        }
    }

    #[test]
    fn the_diff_blanks_secrets() {
        let before = "{\n  \"mcpServers\": {\n    \"a\": {\n      \"command\": \"npx\",\n      \"args\": [\"mcp-remote\", \"https://a.example/mcp\", \"--header\", \"Authorization: Bearer sk-live-abcdef123456\"]\n    }\n  }\n}\n";
        let document = ClientDocument::parse(ClientKind::ClaudeDesktop, before).unwrap();
        let mut config = Config::default();
        config
            .servers
            .push(ServerConfig::new("a", "https://a.example/mcp"));
        let plan = plan_connect(&document, &config, &|id| GatewayTarget::Proxy {
            command: "gatehouse".into(),
            id: id.into(),
        })
        .unwrap();
        assert!(plan.changes_anything());
        assert!(plan.new_text.contains("\"proxy\""), "{}", plan.new_text);
        let diff = redacted_diff("x", before, &plan.new_text, &secret_values(&document));
        assert!(diff.contains("-      \"args\""), "{diff}");
        assert!(!diff.contains("sk-live"), "{diff}");
    }
}
