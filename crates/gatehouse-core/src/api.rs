//! The shapes the front ends exchange with the engine: what the server list
//! shows, what the editor edits, what validation answers. They are plain
//! data with camelCase JSON, and TypeScript types are generated from them
//! (ts-rs) for the desktop UI.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::config::{
    AuthMode, Config, ConfigIssue, KeyAlgorithm, OAuthConfig, OAuthGrant, ServerConfig,
    TokenStorage, looks_like_literal_secret,
};
use crate::events::ServerStatus;

/// A server as the list shows it. Header values are left out (they may
/// hold literal secrets); the editor reads [`ServerSettings`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServerView {
    pub id: String,
    pub url: String,
    pub enabled: bool,
    pub auth_mode: AuthMode,
    pub header_names: Vec<String>,
    pub status: ServerStatus,
    /// Token facts for OAuth servers (never a token).
    pub oauth: Option<OAuthView>,
}

/// The state the tray icon shows: the worst of all servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TrayState {
    NothingConfigured,
    AllConnected,
    /// Some servers are still connecting; none is in trouble (yet).
    Connecting,
    NeedsAttention,
    Errors,
}

/// Counts behind the tray icon and its tooltip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TraySummary {
    pub state: TrayState,
    pub total: usize,
    pub connected: usize,
    pub needs_attention: usize,
    pub errors: usize,
}

impl TraySummary {
    /// Summarizes the servers: any error makes it `errors`; otherwise any
    /// server waiting for the person makes it `needs_attention`; otherwise
    /// any server not connected yet makes it `connecting`. Disabled servers
    /// do not count.
    pub fn of(servers: &[ServerView]) -> Self {
        let active: Vec<&ServerView> = servers
            .iter()
            .filter(|s| !matches!(s.status, ServerStatus::Disabled))
            .collect();
        let count = |f: fn(&ServerStatus) -> bool| active.iter().filter(|s| f(&s.status)).count();
        let connected = count(|s| matches!(s, ServerStatus::Connected { .. }));
        let needs_attention = count(|s| {
            matches!(
                s,
                ServerStatus::NeedsAuthorization { .. } | ServerStatus::Authorizing { .. }
            )
        });
        let errors = count(|s| matches!(s, ServerStatus::Error { .. }));
        let state = if active.is_empty() {
            TrayState::NothingConfigured
        } else if errors > 0 {
            TrayState::Errors
        } else if needs_attention > 0 {
            TrayState::NeedsAttention
        } else if connected < active.len() {
            TrayState::Connecting
        } else {
            TrayState::AllConnected
        };
        Self {
            state,
            total: active.len(),
            connected,
            needs_attention,
            errors,
        }
    }

    /// "Gatehouse: 3 of 4 connected, 1 needs authorization".
    pub fn tooltip(&self) -> String {
        if self.total == 0 {
            return "Gatehouse: no servers".into();
        }
        let mut text = format!("Gatehouse: {} of {} connected", self.connected, self.total);
        if self.needs_attention > 0 {
            let verb = if self.needs_attention == 1 {
                "needs"
            } else {
                "need"
            };
            text.push_str(&format!(", {} {verb} authorization", self.needs_attention));
        }
        if self.errors > 0 {
            text.push_str(&format!(", {} with errors", self.errors));
        }
        text
    }
}

/// What is known about a server's OAuth grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OAuthView {
    /// When the access token expires, in Unix seconds.
    #[ts(type = "number | null")]
    pub expires_at: Option<u64>,
    pub scopes: Vec<String>,
    pub issuer: Option<String>,
}

/// One server as the editor edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServerSettings {
    pub id: String,
    pub url: String,
    pub enabled: bool,
    /// Seconds; `None` for the default.
    #[ts(type = "number | null")]
    pub timeout: Option<u64>,
    pub auth_mode: AuthMode,
    /// Used when `auth_mode` is `headers`.
    pub headers: Vec<HeaderRow>,
    /// Used when `auth_mode` is `oauth`.
    pub oauth: OAuthSettings,
    /// Glob patterns of the tools clients see through the proxy and the
    /// gateway; empty offers every tool.
    pub allow_tools: Vec<String>,
    /// Glob patterns of tools never offered (wins over `allow_tools`).
    pub deny_tools: Vec<String>,
}

/// One header of the editor; `value` may use `${NAME}` references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HeaderRow {
    pub name: String,
    pub value: String,
}

impl HeaderRow {
    /// A header written as `Name: value` (the CLI's `--header`): the name
    /// trimmed, the value without the spaces after the colon. `None` when
    /// there is no colon.
    pub fn parse(text: &str) -> Option<Self> {
        let (name, value) = text.split_once(':')?;
        Some(Self {
            name: name.trim().to_owned(),
            value: value.trim_start().to_owned(),
        })
    }
}

/// Header rows as a server's headers, the one rule both front ends use:
/// names trimmed, rows with neither name nor value skipped, a row with a
/// value but no name and a name given twice (in any case) reported as issues
/// (`headers.<index>`, `headers.<name>`) instead of kept.
pub fn headers_from_rows(rows: &[HeaderRow]) -> (BTreeMap<String, String>, Vec<FieldIssue>) {
    let mut headers = BTreeMap::new();
    let mut issues = Vec::new();
    let mut seen = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        let name = row.name.trim();
        if name.is_empty() {
            if !row.value.is_empty() {
                issues.push(FieldIssue {
                    field: format!("headers.{index}"),
                    message: "header name is empty".into(),
                });
            }
            continue;
        }
        if seen.insert(name.to_ascii_lowercase(), index).is_some() {
            issues.push(FieldIssue {
                field: format!("headers.{name}"),
                message: "this header appears twice".into(),
            });
            continue;
        }
        headers.insert(name.to_owned(), row.value.clone());
    }
    (headers, issues)
}

/// The literal-secret warning, one per header whose value looks like a
/// secret typed in rather than a `${NAME}` reference: the editor shows it at
/// the header (with "Move to vault"), the CLI prints it when adding a server.
pub fn literal_secret_warnings(headers: &BTreeMap<String, String>) -> Vec<FieldIssue> {
    headers
        .iter()
        .filter(|(name, value)| looks_like_literal_secret(name, value))
        .map(|(name, _)| FieldIssue {
            field: format!("headers.{name}"),
            message: "looks like a secret typed in directly; move it to the vault and use ${NAME}"
                .into(),
        })
        .collect()
}

/// OAuth fields of the editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OAuthSettings {
    pub scopes: Vec<String>,
    pub callback_port: u16,
    pub client_id: Option<String>,
    /// A `${NAME}` reference.
    pub client_secret: Option<String>,
    /// `None`: the authorization server's metadata decides.
    pub grant: Option<OAuthGrant>,
    /// A `${NAME}` reference to the client's PEM private key.
    pub client_key: Option<String>,
    pub client_key_algorithm: Option<KeyAlgorithm>,
    /// The identity token's file (absolute path): the workload's, or the
    /// person's ID token for enterprise-managed authorization.
    pub assertion_file: Option<String>,
    /// The company identity provider (enterprise-managed authorization).
    pub idp_issuer: Option<String>,
    pub idp_client_id: Option<String>,
    /// A `${NAME}` reference to the client's secret at the identity provider.
    pub idp_client_secret: Option<String>,
    pub client_metadata_url: Option<String>,
    pub token_storage: TokenStorage,
    /// Ask for DPoP-bound tokens when the authorization server supports them.
    pub dpop: bool,
    pub send_resource_parameter: bool,
    /// Seconds; `None` for the default.
    #[ts(type = "number | null")]
    pub authorization_timeout: Option<u64>,
}

/// A problem (or a warning) about one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FieldIssue {
    /// Dotted path: `url`, `headers.Authorization`, `oauth.scopes`, …
    pub field: String,
    pub message: String,
}

/// Errors block saving; warnings do not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    pub errors: Vec<FieldIssue>,
    pub warnings: Vec<FieldIssue>,
}

/// A tool as the tools view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ToolInfo {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// The tool's JSON Schema for its arguments (always an object).
    #[ts(type = "Record<string, unknown>")]
    pub input_schema: serde_json::Value,
}

impl From<&crate::mcp::Tool> for ToolInfo {
    fn from(tool: &crate::mcp::Tool) -> Self {
        Self {
            name: tool.name.to_string(),
            title: tool.title.clone(),
            description: tool.description.as_deref().map(str::to_owned),
            input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
        }
    }
}

/// What a tool call returned. `content` holds MCP content blocks as the
/// server sent them (`{"type": "text", "text": …}` and so on).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallResult {
    pub is_error: bool,
    #[ts(type = "Array<unknown>")]
    pub content: Vec<serde_json::Value>,
    #[ts(type = "unknown")]
    pub structured_content: Option<serde_json::Value>,
}

impl From<&crate::mcp::CallToolResult> for ToolCallResult {
    fn from(result: &crate::mcp::CallToolResult) -> Self {
        Self {
            is_error: result.is_error == Some(true),
            content: result
                .content
                .iter()
                .filter_map(|block| serde_json::to_value(block).ok())
                .collect(),
            structured_content: result.structured_content.clone(),
        }
    }
}

impl From<&OAuthConfig> for OAuthSettings {
    fn from(oauth: &OAuthConfig) -> Self {
        Self {
            scopes: oauth.scopes.clone(),
            callback_port: oauth.callback_port,
            client_id: oauth.client_id.clone(),
            client_secret: oauth.client_secret.clone(),
            grant: oauth.grant,
            client_key: oauth.client_key.clone(),
            client_key_algorithm: oauth.client_key_algorithm,
            assertion_file: oauth.assertion_file.clone(),
            idp_issuer: oauth.idp_issuer.clone(),
            idp_client_id: oauth.idp_client_id.clone(),
            idp_client_secret: oauth.idp_client_secret.clone(),
            client_metadata_url: oauth.client_metadata_url.clone(),
            token_storage: oauth.token_storage,
            dpop: oauth.dpop,
            send_resource_parameter: oauth.send_resource_parameter,
            authorization_timeout: oauth.authorization_timeout,
        }
    }
}

impl From<&OAuthSettings> for OAuthConfig {
    fn from(settings: &OAuthSettings) -> Self {
        Self {
            enabled: true,
            token_storage: settings.token_storage,
            callback_port: settings.callback_port,
            scopes: settings.scopes.clone(),
            client_id: non_empty(&settings.client_id),
            client_secret: non_empty(&settings.client_secret),
            grant: settings.grant,
            client_key: non_empty(&settings.client_key),
            client_key_algorithm: settings.client_key_algorithm,
            assertion_file: non_empty(&settings.assertion_file),
            idp_issuer: non_empty(&settings.idp_issuer),
            idp_client_id: non_empty(&settings.idp_client_id),
            idp_client_secret: non_empty(&settings.idp_client_secret),
            client_metadata_url: non_empty(&settings.client_metadata_url),
            dpop: settings.dpop,
            send_resource_parameter: settings.send_resource_parameter,
            authorization_timeout: settings.authorization_timeout,
        }
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl From<&ServerConfig> for ServerSettings {
    fn from(server: &ServerConfig) -> Self {
        Self {
            id: server.id.clone(),
            url: server.url.clone(),
            enabled: server.enabled,
            timeout: server.timeout,
            auth_mode: server.auth_mode(),
            headers: server
                .headers
                .iter()
                .map(|(name, value)| HeaderRow {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            oauth: server
                .oauth
                .as_ref()
                .map(OAuthSettings::from)
                .unwrap_or_else(|| OAuthSettings::from(&OAuthConfig::default())),
            allow_tools: server.tools.allow.clone(),
            deny_tools: server.tools.deny.clone(),
        }
    }
}

impl ServerSettings {
    /// The config this editor state stands for; problems the config cannot
    /// express (empty or repeated header rows) are returned as issues.
    pub fn to_config(&self) -> (ServerConfig, Vec<FieldIssue>) {
        let mut issues = Vec::new();
        let mut server = ServerConfig::new(self.id.trim(), self.url.trim());
        server.enabled = self.enabled;
        server.timeout = self.timeout;
        server.tools.allow = self.allow_tools.clone();
        server.tools.deny = self.deny_tools.clone();
        match self.auth_mode {
            AuthMode::None => {}
            AuthMode::Headers => {
                let (headers, row_issues) = headers_from_rows(&self.headers);
                server.headers = headers;
                issues.extend(row_issues);
                if server.headers.is_empty() && issues.is_empty() {
                    issues.push(FieldIssue {
                        field: "headers".into(),
                        message: "add at least one header, or choose no authentication".into(),
                    });
                }
            }
            AuthMode::OAuth => server.oauth = Some(OAuthConfig::from(&self.oauth)),
        }
        (server, issues)
    }

    /// Validates against `config` exactly as loading a file would, plus the
    /// editor's own checks and warnings.
    pub fn validate(&self, config: &Config, replacing: Option<&str>) -> Validation {
        let (server, mut errors) = self.to_config();
        errors.extend(
            config
                .check_server(&server, replacing)
                .into_iter()
                .map(FieldIssue::from),
        );
        let warnings = literal_secret_warnings(&server.headers);
        Validation { errors, warnings }
    }
}

impl From<ConfigIssue> for FieldIssue {
    fn from(issue: ConfigIssue) -> Self {
        Self {
            field: issue.field,
            message: issue.message,
        }
    }
}

/// "10 seconds", "1 minute", "5 minutes", "1 minute 30 seconds".
pub fn human_duration(duration: std::time::Duration) -> String {
    let total = duration.as_secs();
    let unit = |n: u64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    match (total / 60, total % 60) {
        (0, seconds) => unit(seconds, "second"),
        (minutes, 0) => unit(minutes, "minute"),
        (minutes, seconds) => format!("{} {}", unit(minutes, "minute"), unit(seconds, "second")),
    }
}

/// How an OAuth access token's expiry reads for people ("token expires in
/// 42 min"), from its expiry and the time now, both in unix seconds. The
/// window's `expiryText` (`ui/src/lib/status.ts`) is its twin: both run the
/// cases in `expiry_cases.json`.
pub fn expiry_text(expires_at: u64, now: u64) -> String {
    let Some(seconds) = expires_at.checked_sub(now).filter(|&s| s > 0) else {
        return "token expired".into();
    };
    // Rounded to the nearest unit, halves up.
    match seconds {
        0..90 => "token expires in under a minute".into(),
        90..5400 => format!("token expires in {} min", (seconds + 30) / 60),
        5400..129_600 => format!("token expires in {} h", (seconds + 1800) / 3600),
        _ => format!("token expires in {} days", (seconds + 43_200) / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rows_parse_and_repeat_by_one_rule() {
        let row = HeaderRow::parse(" Authorization :  Bearer ${TOKEN} ").unwrap();
        assert_eq!(row.name, "Authorization");
        assert_eq!(row.value, "Bearer ${TOKEN} ");
        assert_eq!(HeaderRow::parse("no colon here"), None);
        // A value may hold colons of its own.
        assert_eq!(HeaderRow::parse("X-Time: 12:30").unwrap().value, "12:30");
        let rows = [
            HeaderRow::parse("X-Key: a").unwrap(),
            HeaderRow::parse("x-key: b").unwrap(),
            HeaderRow::parse(": orphan").unwrap(),
            HeaderRow::parse(":").unwrap(),
        ];
        let (headers, issues) = headers_from_rows(&rows);
        assert_eq!(
            headers.into_iter().collect::<Vec<_>>(),
            [("X-Key".to_owned(), "a".to_owned())]
        );
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["headers.x-key", "headers.2"]);
    }

    /// The cases `ui/src/lib/status.test.ts` runs against the window's twin.
    #[test]
    fn expiry_text_follows_the_shared_cases() {
        let cases: serde_json::Value =
            serde_json::from_str(include_str!("expiry_cases.json")).unwrap();
        let cases = cases["expiry"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let (expires_at, now) = (
                case["expiresAt"].as_u64().unwrap(),
                case["now"].as_u64().unwrap(),
            );
            assert_eq!(
                expiry_text(expires_at, now),
                case["shown"].as_str().unwrap(),
                "{case}"
            );
        }
    }

    fn settings() -> ServerSettings {
        ServerSettings::from(&ServerConfig::new("a", "https://a.example/mcp"))
    }

    fn view(id: &str, status: ServerStatus) -> ServerView {
        ServerView {
            id: id.into(),
            url: "https://x".into(),
            enabled: true,
            auth_mode: AuthMode::None,
            header_names: vec![],
            status,
            oauth: None,
        }
    }

    #[test]
    fn tray_summary_takes_the_worst_state() {
        let connected = ServerStatus::Connected {
            server_name: "s".into(),
            server_version: "1".into(),
            tool_count: 1,
            protocol_version: "2026-07-28".into(),
        };
        assert_eq!(TraySummary::of(&[]).state, TrayState::NothingConfigured);
        assert_eq!(
            TraySummary::of(&[view("a", ServerStatus::Disabled)]).state,
            TrayState::NothingConfigured
        );
        let mut servers = vec![view("a", connected.clone()), view("b", connected)];
        assert_eq!(TraySummary::of(&servers).state, TrayState::AllConnected);
        let starting = [view("a", ServerStatus::Connecting), servers[0].clone()];
        assert_eq!(
            TraySummary::of(&starting).state,
            TrayState::Connecting,
            "not 'all connected' while one is still connecting"
        );
        servers.push(view(
            "c",
            ServerStatus::NeedsAuthorization { reason: "r".into() },
        ));
        let summary = TraySummary::of(&servers);
        assert_eq!(summary.state, TrayState::NeedsAttention);
        assert_eq!(
            summary.tooltip(),
            "Gatehouse: 2 of 3 connected, 1 needs authorization"
        );
        servers.push(view(
            "d",
            ServerStatus::Error {
                kind: crate::events::ErrorKind::Timeout,
                message: "m".into(),
            },
        ));
        assert_eq!(TraySummary::of(&servers).state, TrayState::Errors);
    }

    #[test]
    fn round_trips_a_header_server() {
        let mut server = ServerConfig::new("a", "https://a.example/mcp");
        server.headers.insert("X-Key".into(), "${KEY}".into());
        let settings = ServerSettings::from(&server);
        assert_eq!(settings.auth_mode, AuthMode::Headers);
        let (back, issues) = settings.to_config();
        assert!(issues.is_empty());
        assert_eq!(back, server);
    }

    #[test]
    fn auth_mode_decides_what_is_kept() {
        let mut s = settings();
        s.headers.push(HeaderRow {
            name: "X".into(),
            value: "1".into(),
        });
        s.auth_mode = AuthMode::OAuth;
        let (server, issues) = s.to_config();
        assert!(issues.is_empty());
        assert!(server.headers.is_empty());
        assert!(server.oauth_settings().is_some());
        s.auth_mode = AuthMode::None;
        let (server, _) = s.to_config();
        assert!(server.headers.is_empty() && server.oauth.is_none());
    }

    #[test]
    fn editor_validation_uses_the_config_rules() {
        let mut config = Config::default();
        config
            .servers
            .push(ServerConfig::new("taken", "https://t.example"));
        let mut s = settings();
        s.id = "Taken".into();
        s.url = "http://example.com".into();
        s.auth_mode = AuthMode::Headers;
        s.headers = vec![
            HeaderRow {
                name: "Authorization".into(),
                value: "Bearer sk_live_0123456789abcdef".into(),
            },
            HeaderRow {
                name: "authorization".into(),
                value: "x".into(),
            },
        ];
        let v = s.validate(&config, None);
        let fields: Vec<_> = v.errors.iter().map(|i| i.field.as_str()).collect();
        assert!(fields.contains(&"id"), "{v:?}");
        assert!(fields.contains(&"url"), "{v:?}");
        assert!(fields.contains(&"headers.authorization"), "{v:?}");
        assert_eq!(v.warnings[0].field, "headers.Authorization");
        // Editing the server itself does not collide with its own id.
        s.id = "taken".into();
        s.url = "https://t.example".into();
        s.headers.truncate(1);
        s.headers[0].value = "Bearer ${T}".into();
        let v = s.validate(&config, Some("taken"));
        assert_eq!(v, Validation::default());
    }
}
