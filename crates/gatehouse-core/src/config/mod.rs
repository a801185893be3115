//! The configuration file: which MCP servers exist and how each one is
//! authenticated.
//!
//! The file is TOML. Loading parses it strictly (unknown fields are errors)
//! and then validates it as a whole, reporting every problem with the file,
//! line, server and field it concerns. The same validation backs the desktop
//! editor, so a field error there reads exactly as it would at load.
//!
//! Edits (add, update, remove) go through [`ConfigFile`], which keeps the
//! person's comments and layout for everything it does not change, and
//! replaces the file atomically under a lock shared with other Gatehouse
//! processes.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use url::Url;

use crate::fsutil::{self, FileLock};
use crate::permissions::{self, UnsafePath};
use crate::template::Template;

/// Connect and request timeout when a server sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an authorization waits for the browser when a server sets none.
pub const DEFAULT_AUTHORIZATION_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest server id accepted.
pub const MAX_ID_LEN: usize = 64;

const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=3600;
const AUTHORIZATION_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 10..=3600;

/// Headers the MCP transport sets itself; a config may not override them.
const RESERVED_HEADERS: &[&str] = &[
    "accept",
    "connection",
    "content-length",
    "content-type",
    "host",
    "last-event-id",
    "mcp-protocol-version",
    "mcp-session-id",
    "transfer-encoding",
    "upgrade",
];

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub servers: Vec<ServerConfig>,
}

/// One remote MCP server.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Stable identifier; also names the server's entries in the vault.
    pub id: String,
    /// The Streamable HTTP endpoint.
    pub url: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Connect and request timeout in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Static headers; values may reference vault secrets as `${NAME}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthConfig>,
}

/// OAuth settings of one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub token_storage: TokenStorage,
    /// Loopback port of the redirect URI; 0 picks a free port each time.
    #[serde(default)]
    pub callback_port: u16,
    /// Scopes to request; empty lets the server's challenge or metadata decide.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// A client registered with the authorization server ahead of time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The pre-registered client's secret, as a `${NAME}` vault reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Our Client ID Metadata Document URL, used when the server supports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata_url: Option<String>,
    /// RFC 8707 `resource`; turn off for servers that reject it (Entra).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub send_resource_parameter: bool,
    /// Seconds to wait for the browser to come back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_timeout: Option<u64>,
}

/// Where a server's OAuth tokens live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum TokenStorage {
    /// Encrypted in the vault, surviving restarts.
    #[default]
    Vault,
    /// In memory only; a restart needs a new authorization.
    Memory,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token_storage: TokenStorage::default(),
            callback_port: 0,
            scopes: Vec::new(),
            client_id: None,
            client_secret: None,
            client_metadata_url: None,
            send_resource_parameter: true,
            authorization_timeout: None,
        }
    }
}

/// How a server is authenticated, derived from its config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    None,
    Headers,
    /// `snake_case` alone would spell it `o_auth`.
    #[serde(rename = "oauth")]
    OAuth,
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Headers => "headers",
            Self::OAuth => "oauth",
        })
    }
}

impl ServerConfig {
    /// A new enabled server with no authentication.
    pub fn new(id: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            url: url.into(),
            enabled: true,
            timeout: None,
            headers: BTreeMap::new(),
            oauth: None,
        }
    }

    pub fn auth_mode(&self) -> AuthMode {
        if self.oauth_settings().is_some() {
            AuthMode::OAuth
        } else if !self.headers.is_empty() {
            AuthMode::Headers
        } else {
            AuthMode::None
        }
    }

    /// The OAuth settings when OAuth is enabled.
    pub fn oauth_settings(&self) -> Option<&OAuthConfig> {
        self.oauth.as_ref().filter(|o| o.enabled)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The validated URL. Only call on a validated config.
    pub fn parsed_url(&self) -> Result<Url, url::ParseError> {
        Url::parse(&self.url)
    }

    /// Checks this server alone (everything but uniqueness of its id).
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut issue = |field: &str, message: String| {
            issues.push(ConfigIssue {
                server: self.id.clone(),
                index: None,
                field: field.to_owned(),
                message,
            })
        };
        if let Err(message) = check_id(&self.id) {
            issue("id", message);
        }
        if let Err(message) = check_server_url(&self.url) {
            issue("url", message);
        }
        if let Some(timeout) = self.timeout
            && !TIMEOUT_RANGE.contains(&timeout)
        {
            issue(
                "timeout",
                format!(
                    "must be between {} and {} seconds",
                    TIMEOUT_RANGE.start(),
                    TIMEOUT_RANGE.end()
                ),
            );
        }
        let mut seen = HashMap::new();
        for (name, value) in &self.headers {
            let field = format!("headers.{name}");
            if let Err(message) = check_header(name, value) {
                issue(&field, message);
            }
            if let Some(previous) = seen.insert(name.to_ascii_lowercase(), name) {
                issue(
                    &field,
                    format!("repeats header {previous:?} (header names ignore case)"),
                );
            }
        }
        if let Some(oauth) = &self.oauth {
            if oauth.enabled && !self.headers.is_empty() {
                issue(
                    "oauth.enabled",
                    "static headers and OAuth cannot be combined; remove the headers or set oauth.enabled = false"
                        .into(),
                );
            }
            for (field, message) in oauth.validate() {
                issue(&format!("oauth.{field}"), message);
            }
        }
        issues
    }
}

impl fmt::Debug for ServerConfig {
    /// Header values are left out: they may hold literal secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("enabled", &self.enabled)
            .field("timeout", &self.timeout)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("oauth", &self.oauth)
            .finish()
    }
}

impl OAuthConfig {
    /// `(field, message)` for each problem.
    fn validate(&self) -> Vec<(&'static str, String)> {
        let mut issues = Vec::new();
        if self.callback_port != 0 && self.callback_port < 1024 {
            issues.push((
                "callback_port",
                "must be 0 (any free port) or between 1024 and 65535".into(),
            ));
        }
        for scope in &self.scopes {
            let valid = !scope.is_empty()
                && scope
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !valid {
                issues.push((
                    "scopes",
                    format!(
                        "{:?} is not a valid scope (no spaces, quotes or backslashes)",
                        short(scope)
                    ),
                ));
            }
        }
        if let Some(client_id) = &self.client_id
            && (client_id.trim().is_empty() || client_id.chars().any(char::is_control))
        {
            issues.push(("client_id", "must be a non-empty single line".into()));
        }
        if let Some(secret) = &self.client_secret {
            let is_reference = Template::parse(secret)
                .map(|t| t.references().count() == 1 && t.literal_parts().next().is_none())
                .unwrap_or(false);
            if !is_reference {
                issues.push((
                    "client_secret",
                    "must be a vault reference such as \"${MY_CLIENT_SECRET}\", never the secret itself"
                        .into(),
                ));
            }
            if self.client_id.is_none() {
                issues.push((
                    "client_secret",
                    "needs client_id: a secret belongs to a pre-registered client".into(),
                ));
            }
        }
        if let Some(url) = &self.client_metadata_url {
            // It is sent to the authorization server as the client id: no
            // credentials in it, no fragment (CIMD forbids one).
            let ok = Url::parse(url)
                .map(|u| {
                    u.scheme() == "https"
                        && u.host().is_some()
                        && u.path() != "/"
                        && u.username().is_empty()
                        && u.password().is_none()
                        && u.fragment().is_none()
                })
                .unwrap_or(false);
            if !ok || url.trim() != url {
                issues.push((
                    "client_metadata_url",
                    "must be an https URL with a path (a Client ID Metadata Document), without a user name, password or #fragment".into(),
                ));
            }
        }
        if let Some(timeout) = self.authorization_timeout
            && !AUTHORIZATION_TIMEOUT_RANGE.contains(&timeout)
        {
            issues.push((
                "authorization_timeout",
                format!(
                    "must be between {} and {} seconds",
                    AUTHORIZATION_TIMEOUT_RANGE.start(),
                    AUTHORIZATION_TIMEOUT_RANGE.end()
                ),
            ));
        }
        issues
    }

    pub fn authorization_timeout(&self) -> Duration {
        self.authorization_timeout
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_AUTHORIZATION_TIMEOUT)
    }
}

impl Config {
    /// Parses TOML text; `path` is used only to locate errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml_edit::de::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((1, 1));
            ConfigError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: redact_serde_message(e.message()),
            }
        })?;
        let issues = config.validate();
        if !issues.is_empty() {
            let doc = toml_edit::Document::parse(text).ok();
            let locations = issues
                .iter()
                .map(|issue| {
                    doc.as_ref()
                        .and_then(|d| locate_issue(d, issue))
                        .map(|offset| line_column(text, offset))
                })
                .collect();
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                issues,
                locations,
            });
        }
        Ok(config)
    }

    /// Checks every server and the uniqueness of ids.
    fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut keys: HashMap<String, &str> = HashMap::new();
        for (index, server) in self.servers.iter().enumerate() {
            for mut issue in server.validate() {
                issue.index = Some(index);
                issues.push(issue);
            }
            if check_id(&server.id).is_err() {
                continue;
            }
            let previous = *keys
                .entry(normalize_id(&server.id))
                .or_insert(server.id.as_str());
            if !std::ptr::eq(previous, server.id.as_str()) {
                let message = if previous == server.id {
                    "is used by another server".to_owned()
                } else {
                    format!(
                        "collides with server {previous:?} (ids ignore case, and `_` equals `-`)"
                    )
                };
                issues.push(ConfigIssue {
                    server: server.id.clone(),
                    index: Some(index),
                    field: "id".into(),
                    message,
                });
            }
        }
        issues
    }

    /// Validates the config as it would be with `server` added or replacing
    /// the server whose id is `replacing`, returning the problems that concern
    /// `server`.
    pub fn check_server(&self, server: &ServerConfig, replacing: Option<&str>) -> Vec<ConfigIssue> {
        let mut issues = server.validate();
        if check_id(&server.id).is_ok() {
            let key = normalize_id(&server.id);
            if let Some(other) = self
                .servers
                .iter()
                .filter(|s| Some(s.id.as_str()) != replacing)
                .find(|s| normalize_id(&s.id) == key)
            {
                let message = if other.id == server.id {
                    "another server already has this id".to_owned()
                } else {
                    format!(
                        "collides with server {:?} (ids ignore case, and `_` equals `-`)",
                        other.id
                    )
                };
                issues.push(ConfigIssue {
                    server: server.id.clone(),
                    index: None,
                    field: "id".into(),
                    message,
                });
            }
        }
        issues
    }

    pub fn server(&self, id: &str) -> Option<&ServerConfig> {
        self.servers.iter().find(|s| s.id == id)
    }
}

/// One problem with one field of one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    /// The server's id as written (possibly itself invalid).
    pub server: String,
    /// Position in the file's `[[servers]]` list, when loading a file.
    pub index: Option<usize>,
    /// Dotted field path, e.g. `url`, `headers.Authorization`, `oauth.scopes`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(index) if self.server.is_empty() => write!(f, "servers[{index}]")?,
            _ => write!(f, "server {:?}", self.server)?,
        }
        write!(f, ": {}: {}", self.field, self.message)
    }
}

/// Why a config could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}", display_invalid(path, issues, locations))]
    Invalid {
        path: PathBuf,
        issues: Vec<ConfigIssue>,
        /// `(line, column)` of each issue, when it could be found.
        locations: Vec<Option<(usize, usize)>>,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no server has the id {id:?}")]
    UnknownServer { id: String },
    /// The file, or its directory, can be changed by someone else.
    #[error(transparent)]
    Unsafe(#[from] UnsafePath),
}

impl ConfigError {
    /// The validation problems, when that is what went wrong.
    pub fn issues(&self) -> &[ConfigIssue] {
        match self {
            ConfigError::Invalid { issues, .. } => issues,
            _ => &[],
        }
    }
}

fn display_invalid(
    path: &Path,
    issues: &[ConfigIssue],
    locations: &[Option<(usize, usize)>],
) -> String {
    let lines: Vec<String> = issues
        .iter()
        .enumerate()
        .map(|(i, issue)| match locations.get(i).copied().flatten() {
            Some((line, column)) => format!("{}:{line}:{column}: {issue}", path.display()),
            None => format!("{}: {issue}", path.display()),
        })
        .collect();
    lines.join("\n")
}

/// Byte offset of the key an issue is about (or of its server's table).
fn locate_issue<S>(doc: &toml_edit::Document<S>, issue: &ConfigIssue) -> Option<usize> {
    let index = issue.index?;
    let servers = doc.as_table().get("servers")?;
    let server: &dyn toml_edit::TableLike = match servers {
        toml_edit::Item::ArrayOfTables(aot) => aot.get(index)?,
        toml_edit::Item::Value(toml_edit::Value::Array(array)) => {
            array.get(index)?.as_inline_table()?
        }
        _ => return None,
    };
    let table_start = || match servers {
        toml_edit::Item::ArrayOfTables(aot) => aot.get(index).and_then(|t| t.span()),
        _ => None,
    };
    let mut path = issue.field.splitn(2, '.');
    let first = path.next()?;
    let rest = path.next();
    let (key, item) = server.get_key_value(first)?;
    if let Some(rest) = rest
        && let Some(table) = item.as_table_like()
        && let Some((inner_key, _)) = table.get_key_value(rest)
        && let Some(span) = inner_key.span()
    {
        return Some(span.start);
    }
    key.span().or_else(table_start).map(|s| s.start)
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    (line, column)
}

/// serde messages quote offending values ("invalid type: string \"…\"",
/// "unknown variant `…`"), which could be a secret typed into the wrong
/// field: keep only the shape.
fn redact_serde_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let string = rest
            .find("string \"")
            .map(|p| (p, "string \"", '"', "a string"));
        let variant = rest
            .find("unknown variant `")
            .map(|p| (p, "unknown variant `", '`', "an unknown value"));
        let next = match (string, variant) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let Some((pos, opener, closer, replacement)) = next else {
            break;
        };
        out.push_str(&rest[..pos]);
        out.push_str(replacement);
        rest = skip_quoted(&rest[pos + opener.len()..], closer);
    }
    out.push_str(rest);
    out
}

/// What follows a quoted value that ends at an unescaped `closer`.
fn skip_quoted(text: &str, closer: char) -> &str {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            c if c == closer && !escaped => return &text[i + c.len_utf8()..],
            _ => escaped = false,
        }
    }
    ""
}

/// The form of an id used as a vault key: ids that normalize alike collide.
pub fn normalize_id(id: &str) -> String {
    id.chars()
        .map(|c| match c {
            '_' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!("must be at most {MAX_ID_LEN} characters"));
    }
    let mut chars = id.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "{:?} may use only letters, digits, `-`, `_` and `.`, starting with a letter or digit",
            short(id)
        ));
    }
    Ok(())
}

/// Longest server URL accepted.
const MAX_URL_LEN: usize = 2048;

/// Checks a server URL: https, or http on a loopback host.
pub fn check_server_url(url: &str) -> Result<(), String> {
    if url.trim() != url {
        return Err("must not begin or end with spaces".into());
    }
    if url.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    let parsed = Url::parse(url).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "must not contain a user name or password; use a header with a ${SECRET} instead"
                .into(),
        );
    }
    if parsed.fragment().is_some() {
        return Err("must not contain a #fragment".into());
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if is_loopback_host(&parsed) => Ok(()),
        "http" => {
            Err("must use https (plain http is allowed only for localhost and 127.0.0.1)".into())
        }
        scheme => Err(format!("must be an https URL, not {scheme}:")),
    }
}

/// Whether the URL's host is `localhost` or a loopback address.
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            domain == "localhost" || domain.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn check_header(name: &str, value: &str) -> Result<(), String> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!("{:?} is not a valid header name", short(name)));
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err("is set by the MCP transport and cannot be configured".into());
    }
    let template = Template::parse(value).map_err(|e| e.to_string())?;
    for literal in template.literal_parts() {
        if http::HeaderValue::from_str(literal).is_err() {
            return Err(
                "value contains characters not allowed in a header (such as a line break)".into(),
            );
        }
    }
    Ok(())
}

/// Whether a header value looks like a secret typed in directly rather than
/// a `${NAME}` reference, so the editor can offer to move it to the vault.
pub fn looks_like_literal_secret(name: &str, value: &str) -> bool {
    let Ok(template) = Template::parse(value) else {
        return false;
    };
    let literal: String = template.literal_parts().collect();
    let lower = name.to_ascii_lowercase();
    let sensitive_name = [
        "authorization",
        "token",
        "key",
        "secret",
        "password",
        "cookie",
        "auth",
    ]
    .iter()
    .any(|word| lower.contains(word));
    // The longest run of token-like characters, after a scheme word.
    let longest = literal
        .split(|c: char| c.is_whitespace() || c == ':' || c == '=')
        .map(|word| word.len())
        .max()
        .unwrap_or(0);
    let token_like = literal
        .split_whitespace()
        .any(|word| word.len() >= 16 && word.chars().any(|c| c.is_ascii_digit()));
    (sensitive_name && longest >= 8) || token_like
}

fn short(text: &str) -> String {
    let mut shown: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        shown.push('…');
    }
    shown
}

/// The config file on disk, with the edits the CLI and the app make.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads and validates the file; a missing file is an empty config.
    pub fn load(&self) -> Result<Config, ConfigError> {
        match self.read_text()? {
            Some(text) => Config::parse(&text, &self.path),
            None => Ok(Config::default()),
        }
    }

    fn read_text(&self) -> Result<Option<String>, ConfigError> {
        permissions::check_config_file(&self.path)?;
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ConfigError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Adds a server, refusing one whose id is taken.
    pub fn add_server(&self, server: ServerConfig) -> Result<Config, ConfigError> {
        self.edit(|config, doc| {
            let issues = config.check_server(&server, None);
            if !issues.is_empty() {
                return Err(issues);
            }
            servers_mut(doc).push(server_table(&server));
            config.servers.push(server);
            Ok(())
        })
    }

    /// Replaces the server `id` (which may be renamed by `server.id`).
    pub fn update_server(&self, id: &str, server: ServerConfig) -> Result<Config, ConfigError> {
        self.edit(|config, doc| {
            let Some(index) = config.servers.iter().position(|s| s.id == id) else {
                return Err(vec![]);
            };
            let issues = config.check_server(&server, Some(id));
            if !issues.is_empty() {
                return Err(issues);
            }
            let table = server_table(&server);
            let servers = servers_mut(doc);
            if let Some(existing) = servers.get_mut(index) {
                let decor = existing.decor().clone();
                *existing = table;
                *existing.decor_mut() = decor;
            }
            config.servers[index] = server;
            Ok(())
        })
        .map_err(|e| self.unknown_if_empty(e, id))
    }

    /// Removes the server `id`.
    pub fn remove_server(&self, id: &str) -> Result<Config, ConfigError> {
        self.edit(|config, doc| {
            let Some(index) = config.servers.iter().position(|s| s.id == id) else {
                return Err(vec![]);
            };
            let servers = servers_mut(doc);
            // The comments above a server's `[[servers]]` belong to it in the
            // document; those above the first one usually describe the file.
            // Hand them to the next server rather than lose them.
            let leading = servers
                .get(index)
                .and_then(|t| t.decor().prefix())
                .and_then(|p| p.as_str())
                .map(str::to_owned);
            servers.remove(index);
            if index == 0
                && let Some(leading) = leading.filter(|p| p.contains('#'))
            {
                match servers.get_mut(0) {
                    Some(next) => {
                        let own = next
                            .decor()
                            .prefix()
                            .and_then(|p| p.as_str())
                            .unwrap_or_default()
                            .to_owned();
                        next.decor_mut()
                            .set_prefix(format!("{leading}{}", own.trim_start_matches('\n')));
                    }
                    None => {
                        let trailing = doc.trailing().as_str().unwrap_or_default().to_owned();
                        doc.set_trailing(format!("{leading}{trailing}"));
                    }
                }
            }
            config.servers.remove(index);
            Ok(())
        })
        .map_err(|e| self.unknown_if_empty(e, id))
    }

    fn unknown_if_empty(&self, error: ConfigError, id: &str) -> ConfigError {
        match error {
            ConfigError::Invalid { issues, .. } if issues.is_empty() => {
                ConfigError::UnknownServer { id: id.to_owned() }
            }
            other => other,
        }
    }

    /// Read-modify-write under the cross-process lock. The closure sees the
    /// current config and its document, and returns validation issues to
    /// refuse the change (an empty list means "no such server").
    fn edit(
        &self,
        change: impl FnOnce(&mut Config, &mut toml_edit::DocumentMut) -> Result<(), Vec<ConfigIssue>>,
    ) -> Result<Config, ConfigError> {
        let _lock = FileLock::acquire(&self.path).map_err(|source| ConfigError::Write {
            path: self.path.clone(),
            source,
        })?;
        let text = self.read_text()?.unwrap_or_default();
        let mut config = Config::parse(&text, &self.path)?;
        let mut doc: toml_edit::DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| ConfigError::Syntax {
                    path: self.path.clone(),
                    line: 1,
                    column: 1,
                    message: e.message().to_owned(),
                })?;
        normalize_servers(&mut doc);
        change(&mut config, &mut doc).map_err(|issues| ConfigError::Invalid {
            path: self.path.clone(),
            issues,
            locations: Vec::new(),
        })?;
        let new_text = doc.to_string();
        // What we write must load back to exactly what we meant.
        debug_assert_eq!(
            Config::parse(&new_text, &self.path).ok().as_ref(),
            Some(&config)
        );
        fsutil::write_atomic(&self.path, new_text.as_bytes()).map_err(|source| {
            ConfigError::Write {
                path: self.path.clone(),
                source,
            }
        })?;
        Ok(config)
    }
}

/// Makes `servers` an array of tables, whatever form the person wrote.
fn normalize_servers(doc: &mut toml_edit::DocumentMut) {
    let table = doc.as_table_mut();
    match table.get("servers") {
        Some(toml_edit::Item::ArrayOfTables(_)) => {}
        Some(toml_edit::Item::Value(toml_edit::Value::Array(array))) => {
            let mut aot = toml_edit::ArrayOfTables::new();
            for value in array.iter() {
                if let Some(inline) = value.as_inline_table() {
                    aot.push(inline.clone().into_table());
                }
            }
            table.insert("servers", toml_edit::Item::ArrayOfTables(aot));
        }
        _ => {
            table.insert(
                "servers",
                toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()),
            );
        }
    }
}

fn servers_mut(doc: &mut toml_edit::DocumentMut) -> &mut toml_edit::ArrayOfTables {
    doc.as_table_mut()
        .get_mut("servers")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
        .expect("normalize_servers ran first")
}

/// The TOML table for one server, headers as an inline table.
fn server_table(server: &ServerConfig) -> toml_edit::Table {
    let doc = toml_edit::ser::to_document(server).expect("a server always serializes");
    let mut table = doc.as_table().clone();
    if let Some(headers) = table.get_mut("headers")
        && let Some(inner) = headers.as_table().cloned()
    {
        *headers = toml_edit::value(inner.into_inline_table());
    }
    table.set_implicit(false);
    table.set_position(None);
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("config.toml"))
    }

    fn issues(text: &str) -> Vec<String> {
        match parse(text) {
            Err(e @ ConfigError::Invalid { .. }) => {
                e.to_string().lines().map(str::to_owned).collect()
            }
            other => panic!("expected validation issues, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_design_example() {
        let config = parse(
            r#"
[[servers]]
id = "internal"
url = "https://mcp.internal.example/mcp"
headers = { Authorization = "Bearer ${INTERNAL_TOKEN}" }

[[servers]]
id = "linear"
url = "https://mcp.linear.app/mcp"
timeout = 10
[servers.oauth]
enabled = true
token_storage = "memory"
callback_port = 0
scopes = ["read", "write"]
client_id = "abc"
client_secret = "${LINEAR_SECRET}"
"#,
        )
        .unwrap();
        assert_eq!(config.servers.len(), 2);
        assert_eq!(config.servers[0].auth_mode(), AuthMode::Headers);
        let linear = &config.servers[1];
        assert_eq!(linear.auth_mode(), AuthMode::OAuth);
        assert_eq!(linear.timeout(), Duration::from_secs(10));
        let oauth = linear.oauth_settings().unwrap();
        assert_eq!(oauth.token_storage, TokenStorage::Memory);
        assert!(oauth.send_resource_parameter);
        assert_eq!(oauth.authorization_timeout(), DEFAULT_AUTHORIZATION_TIMEOUT);
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let err = parse("[[servers]]\nid = \"a\"\nurl = https://x\n").unwrap_err();
        let ConfigError::Syntax { line, column, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (3, 7), "{err}");
        assert!(err.to_string().starts_with("config.toml:3:7: "), "{err}");
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_location() {
        let err = parse("[[servers]]\nid = \"a\"\nurl = \"https://x\"\nheader = {}\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("config.toml:4:1: "), "{text}");
        assert!(text.contains("unknown field `header`"), "{text}");
        let err =
            parse("[[servers]]\nid = \"a\"\nurl = \"https://x\"\n[servers.oauth]\nport = 1\n")
                .unwrap_err();
        assert!(err.to_string().contains("unknown field `port`"), "{err}");
        let err = parse("colour = 1\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn type_errors_never_echo_the_value() {
        let err =
            parse("[[servers]]\nid = \"a\"\nurl = \"https://x\"\ntimeout = \"sk-live-abcdef\"\n")
                .unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("sk-live"), "{text}");
        assert!(text.starts_with("config.toml:4:11: "), "{text}");
    }

    #[test]
    fn headers_and_oauth_are_exclusive() {
        let lines = issues(
            "[[servers]]\nid = \"a\"\nurl = \"https://x\"\nheaders = { X = \"1\" }\n[servers.oauth]\nenabled = true\n",
        );
        assert_eq!(
            lines,
            [
                "config.toml:6:1: server \"a\": oauth.enabled: static headers and OAuth cannot be combined; remove the headers or set oauth.enabled = false"
            ]
        );
        // Disabled OAuth settings may stay beside headers.
        parse("[[servers]]\nid = \"a\"\nurl = \"https://x\"\nheaders = { X = \"1\" }\n[servers.oauth]\nenabled = false\n").unwrap();
    }

    #[test]
    fn ids_must_be_unique_after_normalization() {
        let lines = issues(
            "[[servers]]\nid = \"My_Server\"\nurl = \"https://x\"\n[[servers]]\nid = \"my-server\"\nurl = \"https://y\"\n[[servers]]\nid = \"my-server\"\nurl = \"https://z\"\n",
        );
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with(
                "config.toml:5:1: server \"my-server\": id: collides with server \"My_Server\""
            ),
            "{lines:?}"
        );
        assert!(
            lines[1].contains("config.toml:8:1: server \"my-server\": id: collides"),
            "{lines:?}"
        );
    }

    #[test]
    fn ids_must_be_safe() {
        for bad in ["", "../etc", "a b", "ümlaut", "-lead", &"x".repeat(65)] {
            let text = format!("[[servers]]\nid = {bad:?}\nurl = \"https://x\"\n");
            let lines = issues(&text);
            assert_eq!(lines.len(), 1, "{bad:?}: {lines:?}");
            assert!(lines[0].contains(": id: "), "{lines:?}");
        }
    }

    #[test]
    fn urls_must_be_https_or_loopback_http() {
        for ok in [
            "https://example.com/mcp",
            "http://127.0.0.1:8080/mcp",
            "http://localhost/mcp",
            "http://[::1]:1/mcp",
            "http://127.1.2.3/",
        ] {
            check_server_url(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, why) in [
            ("http://example.com/mcp", "must use https"),
            ("http://10.0.0.1/mcp", "must use https"),
            ("ftp://example.com/", "not ftp:"),
            ("not a url", "not a valid URL"),
            ("https://user:pw@example.com/", "user name or password"),
            ("https://example.com/#frag", "fragment"),
            ("http://localhost.evil.com/", "must use https"),
            (" https://example.com/mcp", "spaces"),
            ("https://example.com/mcp ", "spaces"),
        ] {
            let err = check_server_url(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let lines = issues("[[servers]]\nid = \"a\"\nurl = \"http://example.com\"\n");
        assert!(
            lines[0].starts_with("config.toml:3:1: server \"a\": url: must use https"),
            "{lines:?}"
        );
    }

    #[test]
    fn headers_are_checked() {
        let lines = issues(
            "[[servers]]\nid = \"a\"\nurl = \"https://x\"\nheaders = { \"Bad Name\" = \"1\", Accept = \"x\", Authorization = \"Bearer ${TOKEN\", X-Ok = \"${A}${B}\" }\n",
        );
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("headers.Accept: is set by the MCP transport"))
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("headers.Authorization: `${` at byte 7 is not closed"))
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("\"Bad Name\" is not a valid header name"))
        );
        assert!(
            lines.iter().all(|l| l.starts_with("config.toml:4:")),
            "{lines:?}"
        );
        let lines =
            issues("[[servers]]\nid = \"a\"\nurl = \"https://x\"\nheaders = { X = \"a\\nb\" }\n");
        assert!(lines[0].contains("not allowed in a header"), "{lines:?}");
        let lines = issues(
            "[[servers]]\nid = \"a\"\nurl = \"https://x\"\nheaders = { X = \"1\", x = \"2\" }\n",
        );
        assert!(lines[0].contains("ignore case"), "{lines:?}");
    }

    #[test]
    fn oauth_fields_are_checked() {
        let lines = issues(
            "[[servers]]\nid = \"a\"\nurl = \"https://x\"\n[servers.oauth]\ncallback_port = 80\nscopes = [\"ok\", \"has space\"]\nclient_secret = \"hunter2\"\nclient_metadata_url = \"http://x/\"\nauthorization_timeout = 1\n",
        );
        let text = lines.join("\n");
        assert!(text.contains("oauth.callback_port: must be 0"), "{text}");
        assert!(
            text.contains("oauth.scopes: \"has space\" is not a valid scope"),
            "{text}"
        );
        assert!(
            text.contains("oauth.client_secret: must be a vault reference"),
            "{text}"
        );
        assert!(
            text.contains("oauth.client_secret: needs client_id"),
            "{text}"
        );
        assert!(
            text.contains("oauth.client_metadata_url: must be an https URL"),
            "{text}"
        );
        assert!(
            text.contains("oauth.authorization_timeout: must be between"),
            "{text}"
        );
        assert!(
            !text.contains("hunter2"),
            "a literal secret is never echoed: {text}"
        );
        assert!(text.contains("config.toml:5:1: "), "{text}");
    }

    #[test]
    fn timeout_range() {
        let lines = issues("[[servers]]\nid = \"a\"\nurl = \"https://x\"\ntimeout = 0\n");
        assert!(
            lines[0].contains("timeout: must be between 1 and 3600"),
            "{lines:?}"
        );
    }

    #[test]
    fn literal_secret_heuristic() {
        assert!(looks_like_literal_secret(
            "Authorization",
            "Bearer abcdefgh12345"
        ));
        assert!(looks_like_literal_secret(
            "X-Custom",
            "sk_live_1234567890abcdef"
        ));
        assert!(!looks_like_literal_secret(
            "Authorization",
            "Bearer ${TOKEN}"
        ));
        assert!(!looks_like_literal_secret("X-Tenant", "acme"));
    }

    #[test]
    fn edits_keep_comments_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "# my servers\n\n[[servers]]\n# the first one\nid = \"one\"\nurl = \"https://one.example/mcp\" # main\n",
        )
        .unwrap();
        let file = ConfigFile::new(&path);
        let mut two = ServerConfig::new("two", "http://127.0.0.1:9/mcp");
        two.headers
            .insert("Authorization".into(), "Bearer ${TOKEN}".into());
        file.add_server(two.clone()).unwrap();
        let mut three = ServerConfig::new("three", "https://three.example/mcp");
        three.oauth = Some(OAuthConfig {
            scopes: vec!["a".into()],
            ..OAuthConfig::default()
        });
        file.add_server(three.clone()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# my servers\n"), "{text}");
        assert!(
            text.contains("# the first one") && text.contains("# main"),
            "{text}"
        );
        let loaded = file.load().unwrap();
        assert_eq!(loaded.servers[1], two);
        assert_eq!(loaded.servers[2], three);

        let err = file
            .add_server(ServerConfig::new("TWO", "https://x"))
            .unwrap_err();
        assert!(
            err.to_string().contains("collides with server \"two\""),
            "{err}"
        );

        two.enabled = false;
        file.update_server("two", two.clone()).unwrap();
        assert!(!file.load().unwrap().servers[1].enabled);
        file.remove_server("one").unwrap();
        let loaded = file.load().unwrap();
        assert_eq!(
            loaded
                .servers
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            ["two", "three"]
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# my servers\n"),
            "the file's heading went with the first server:\n{text}"
        );
        assert!(matches!(
            file.remove_server("one"),
            Err(ConfigError::UnknownServer { .. })
        ));
        file.remove_server("two").unwrap();
        file.remove_server("three").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# my servers"), "{text}");
        assert!(file.load().unwrap().servers.is_empty());
    }

    #[test]
    fn an_invalid_file_is_not_overwritten_by_an_edit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let broken = "[[servers]]\nid = \"a\"\nurl = nope\n";
        std::fs::write(&path, broken).unwrap();
        let file = ConfigFile::new(&path);
        assert!(
            file.add_server(ServerConfig::new("b", "https://b"))
                .is_err()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_change_is_neither_read_nor_written() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let text = "[[servers]]\nid = \"a\"\nurl = \"https://a.example/mcp\"\n";
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let file = ConfigFile::new(&path);
        let err = file.load().unwrap_err();
        assert!(matches!(err, ConfigError::Unsafe(_)), "{err}");
        assert!(err.to_string().contains("chmod go-w"), "{err}");
        assert!(matches!(
            file.add_server(ServerConfig::new("b", "https://b.example/mcp")),
            Err(ConfigError::Unsafe(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(file.load().unwrap().servers.len(), 1);
    }

    #[test]
    fn missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::new(dir.path().join("none.toml"));
        assert_eq!(file.load().unwrap(), Config::default());
    }

    #[test]
    fn a_client_metadata_url_carries_no_credentials_or_fragment() {
        for bad in [
            "https://user:pw@app.example/client.json",
            "https://app.example/client.json#x",
            " https://app.example/client.json",
        ] {
            let text = format!(
                "[[servers]]\nid = \"a\"\nurl = \"https://x\"\n[servers.oauth]\nclient_metadata_url = {bad:?}\n"
            );
            let error = Config::parse(&text, Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(error.contains("client_metadata_url"), "{bad}: {error}");
            assert!(!error.contains("pw@"), "{error}");
        }
    }

    #[test]
    fn values_in_type_errors_are_never_echoed() {
        for (field, value) in [
            ("timeout", r#""sk-live-ab\"cdefSECRETPART""#),
            ("enabled", r#""sk-live-SECRETPART""#),
        ] {
            let text = format!("[[servers]]\nid = \"a\"\nurl = \"https://x\"\n{field} = {value}\n");
            let error = Config::parse(&text, Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(!error.contains("SECRETPART"), "{error}");
        }
        let text = "[[servers]]\nid = \"a\"\nurl = \"https://x\"\n[servers.oauth]\nenabled = true\ntoken_storage = \"sk-live-SECRETPART\"\n";
        let error = Config::parse(text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(!error.contains("SECRETPART"), "{error}");
        assert_eq!(
            redact_serde_message("invalid type: string \"a\\\"b\", expected u64"),
            "invalid type: a string, expected u64"
        );
    }
}
