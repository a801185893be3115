//! The rules a configuration must follow, each failure a [`ConfigIssue`]
//! naming the server and the field (never a secret). Loading a file and
//! the desktop editor run the same checks, so a mistake reads the same in
//! both.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use serde::Serialize;
use url::Url;

use super::{
    Config, MAX_ID_LEN, MAX_TOOL_PATTERNS, OAuthConfig, OAuthGrant, ServerConfig, ToolFilter,
};
use crate::template::Template;

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

impl ServerConfig {
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
        for (list, patterns) in [("allow", &self.tools.allow), ("deny", &self.tools.deny)] {
            let field = format!("tools.{list}");
            if patterns.len() > MAX_TOOL_PATTERNS {
                issue(
                    &field,
                    format!("has more than {MAX_TOOL_PATTERNS} patterns"),
                );
            }
            if let Some(message) = patterns.iter().find_map(|p| ToolFilter::pattern_problem(p)) {
                issue(&field, message);
            }
        }
        issues
    }
}

/// A client id's problem, if it has one: it must be one non-empty line.
fn client_id_issue(field: &'static str, value: Option<&String>) -> Option<(&'static str, String)> {
    value
        .filter(|id| id.trim().is_empty() || id.chars().any(char::is_control))
        .map(|_| (field, "must be a non-empty single line".to_owned()))
}

/// A client secret's problem, if it has one: it must be a vault reference
/// (`example` names one in the message), never the secret itself.
fn secret_issue(
    field: &'static str,
    value: Option<&String>,
    example: &str,
) -> Option<(&'static str, String)> {
    value.filter(|secret| !is_vault_reference(secret)).map(|_| {
        let message = format!(
            "must be a vault reference such as \"${{{example}}}\", never the secret itself"
        );
        (field, message)
    })
}

/// Whether `value` is exactly one `${NAME}` vault reference.
fn is_vault_reference(value: &str) -> bool {
    Template::parse(value)
        .map(|t| t.references().count() == 1 && t.literal_parts().next().is_none())
        .unwrap_or(false)
}

impl OAuthConfig {
    /// The settings of the grants without a person: a key or a token file,
    /// each for the grant that uses it, with the client it belongs to.
    fn validate_grant(&self, issues: &mut Vec<(&'static str, String)>) {
        if let Some(key) = &self.client_key {
            if !is_vault_reference(key) {
                issues.push((
                    "client_key",
                    "must be a vault reference such as \"${MY_CLIENT_KEY}\" holding the PEM private key, never the key itself"
                        .into(),
                ));
            }
            if self.client_secret.is_some() {
                issues.push((
                    "client_key",
                    "a client authenticates with a secret or a key, not both: remove client_secret or client_key"
                        .into(),
                ));
            }
        }
        if self.client_key_algorithm.is_some() && self.client_key.is_none() {
            issues.push((
                "client_key_algorithm",
                "is the algorithm of client_key, which is not set".into(),
            ));
        }
        if let Some(file) = &self.assertion_file {
            let absolute = std::path::Path::new(file).is_absolute();
            if !absolute || file.chars().any(char::is_control) {
                issues.push((
                    "assertion_file",
                    "must be the absolute path of the file holding the workload's identity token"
                        .into(),
                ));
            }
            if self.configured_grant() != Some(OAuthGrant::EnterpriseManaged)
                && (self.client_key.is_some() || self.client_secret.is_some())
            {
                issues.push((
                    "assertion_file",
                    "the workload's token is its credential: remove client_secret and client_key"
                        .into(),
                ));
            }
        }
        self.validate_idp(issues);
        let Some(grant) = self.configured_grant() else {
            return;
        };
        if grant.is_unattended() && self.client_id.is_none() {
            issues.push((
                "grant",
                "needs client_id: tokens without a person are issued to a pre-registered client"
                    .into(),
            ));
        }
        match grant {
            OAuthGrant::AuthorizationCode => {
                for (field, set) in [
                    ("client_key", self.client_key.is_some()),
                    ("assertion_file", self.assertion_file.is_some()),
                ] {
                    if set {
                        issues.push((
                            field,
                            "is not used by the authorization code grant (set grant to client_credentials or jwt_bearer)".into(),
                        ));
                    }
                }
            }
            OAuthGrant::ClientCredentials => {
                if self.client_secret.is_none() && self.client_key.is_none() {
                    issues.push((
                        "grant",
                        "client_credentials needs client_secret or client_key".into(),
                    ));
                }
                if self.assertion_file.is_some() {
                    issues.push((
                        "assertion_file",
                        "is used by the jwt_bearer grant only".into(),
                    ));
                }
            }
            OAuthGrant::JwtBearer => {
                if self.assertion_file.is_none() {
                    issues.push((
                        "grant",
                        "jwt_bearer needs assertion_file: the file holding the workload's identity token".into(),
                    ));
                }
            }
            OAuthGrant::EnterpriseManaged => {
                for (field, set) in [
                    ("idp_issuer", self.idp_issuer.is_some()),
                    ("idp_client_id", self.idp_client_id.is_some()),
                    ("assertion_file", self.assertion_file.is_some()),
                ] {
                    if !set {
                        issues.push(("grant", format!("enterprise_managed needs {field}")));
                    }
                }
                if self.client_key.is_some() {
                    issues.push((
                        "client_key",
                        "is used by the client_credentials grant only".into(),
                    ));
                }
            }
        }
    }

    /// The identity provider of enterprise-managed authorization: used by
    /// that grant only, an https issuer (http on loopback), a client id, a
    /// secret kept in the vault.
    fn validate_idp(&self, issues: &mut Vec<(&'static str, String)>) {
        let enterprise = self.configured_grant() == Some(OAuthGrant::EnterpriseManaged);
        for (field, set) in [
            ("idp_issuer", self.idp_issuer.is_some()),
            ("idp_client_id", self.idp_client_id.is_some()),
            ("idp_client_secret", self.idp_client_secret.is_some()),
        ] {
            if set && !enterprise {
                issues.push((field, "is used by the enterprise_managed grant only".into()));
            }
        }
        if let Some(issuer) = &self.idp_issuer {
            let usable = url::Url::parse(issuer).ok().is_some_and(|url| {
                let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
                (url.scheme() == "https" || (url.scheme() == "http" && loopback))
                    && url.username().is_empty()
                    && url.password().is_none()
                    && url.query().is_none()
                    && url.fragment().is_none()
            });
            if !usable {
                issues.push((
                    "idp_issuer",
                    "must be the identity provider's issuer: an https URL (http only on this machine) without credentials, query or fragment".into(),
                ));
            }
        }
        issues.extend(client_id_issue(
            "idp_client_id",
            self.idp_client_id.as_ref(),
        ));
        issues.extend(secret_issue(
            "idp_client_secret",
            self.idp_client_secret.as_ref(),
            "MY_IDP_SECRET",
        ));
    }

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
        issues.extend(client_id_issue("client_id", self.client_id.as_ref()));
        issues.extend(secret_issue(
            "client_secret",
            self.client_secret.as_ref(),
            "MY_CLIENT_SECRET",
        ));
        if self.client_secret.is_some() && self.client_id.is_none() {
            issues.push((
                "client_secret",
                "needs client_id: a secret belongs to a pre-registered client".into(),
            ));
        }
        self.validate_grant(&mut issues);
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
}

impl Config {
    /// Checks every server and the uniqueness of ids.
    pub(super) fn validate(&self) -> Vec<ConfigIssue> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{issues, parse};
    use std::path::Path;

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
    fn unattended_grants_are_checked() {
        let server = "[[servers]]\nid = \"a\"\nurl = \"https://x\"\n[servers.oauth]\n";
        let cases: [(&str, &[&str]); 11] = [
            // A key is a vault reference, never the PEM itself, and belongs
            // to a client.
            (
                "client_key = \"-----BEGIN PRIVATE KEY-----\"\n",
                &[
                    "oauth.client_key: must be a vault reference",
                    "oauth.grant: needs client_id",
                ],
            ),
            (
                "client_id = \"c\"\nclient_secret = \"${S}\"\nclient_key = \"${K}\"\n",
                &["oauth.client_key: a client authenticates with a secret or a key, not both"],
            ),
            (
                "client_id = \"c\"\nclient_key_algorithm = \"RS256\"\n",
                &["oauth.client_key_algorithm: is the algorithm of client_key"],
            ),
            (
                "client_id = \"c\"\ngrant = \"client_credentials\"\n",
                &["oauth.grant: client_credentials needs client_secret or client_key"],
            ),
            (
                "client_id = \"c\"\ngrant = \"jwt_bearer\"\n",
                &["oauth.grant: jwt_bearer needs assertion_file"],
            ),
            (
                "client_id = \"c\"\nassertion_file = \"token.jwt\"\n",
                &["oauth.assertion_file: must be the absolute path"],
            ),
            (
                "client_id = \"c\"\ngrant = \"authorization_code\"\nclient_key = \"${K}\"\n",
                &["oauth.client_key: is not used by the authorization code grant"],
            ),
            // Enterprise-managed authorization: the identity provider, its
            // client and the person's ID token, all three.
            (
                "client_id = \"c\"\ngrant = \"enterprise_managed\"\n",
                &[
                    "oauth.grant: enterprise_managed needs idp_issuer",
                    "oauth.grant: enterprise_managed needs idp_client_id",
                    "oauth.grant: enterprise_managed needs assertion_file",
                ],
            ),
            (
                "client_id = \"c\"\nidp_issuer = \"http://idp.example.com\"\nidp_client_id = \" \"\nidp_client_secret = \"hunter2\"\nassertion_file = \"/run/id-token\"\n",
                &[
                    "oauth.idp_issuer: must be the identity provider's issuer",
                    "oauth.idp_client_id: must be a non-empty single line",
                    "oauth.idp_client_secret: must be a vault reference",
                ],
            ),
            (
                "client_id = \"c\"\ngrant = \"jwt_bearer\"\nassertion_file = \"/t\"\nidp_client_id = \"i\"\n",
                &["oauth.idp_client_id: is used by the enterprise_managed grant only"],
            ),
            (
                "client_id = \"c\"\nidp_issuer = \"https://idp.example.com\"\nidp_client_id = \"i\"\nassertion_file = \"/t\"\nclient_key = \"${K}\"\n",
                &["oauth.client_key: is used by the client_credentials grant only"],
            ),
        ];
        for (settings, expected) in cases {
            let text = issues(&format!("{server}{settings}")).join("\n");
            for line in expected {
                assert!(text.contains(line), "{settings}: {text}");
            }
            assert!(!text.contains("BEGIN PRIVATE KEY"), "{text}");
        }
        for valid in [
            "client_id = \"c\"\nclient_secret = \"${S}\"\n",
            "client_id = \"c\"\nclient_key = \"${K}\"\nclient_key_algorithm = \"ES384\"\n",
            "client_id = \"c\"\ngrant = \"client_credentials\"\nclient_secret = \"${S}\"\n",
            "client_id = \"c\"\nassertion_file = \"/var/run/secrets/token\"\n",
            "client_id = \"c\"\nclient_secret = \"${S}\"\nidp_issuer = \"https://idp.example.com/oauth2\"\nidp_client_id = \"i\"\nidp_client_secret = \"${IDP}\"\nassertion_file = \"/run/id-token\"\n",
            "client_id = \"c\"\ngrant = \"enterprise_managed\"\nidp_issuer = \"http://127.0.0.1:8080\"\nidp_client_id = \"i\"\nassertion_file = \"/run/id-token\"\n",
        ] {
            let parsed = crate::config::test_support::parse(&format!("{server}{valid}"));
            assert!(parsed.is_ok(), "{valid}: {parsed:?}");
        }
    }

    #[test]
    fn the_grant_follows_the_settings_then_the_metadata() {
        use crate::config::{OAuthConfig, OAuthGrant};
        let offered = |grants: &[&str]| grants.iter().map(|g| g.to_string()).collect::<Vec<_>>();
        let secret = OAuthConfig {
            client_id: Some("c".into()),
            client_secret: Some("${S}".into()),
            ..OAuthConfig::default()
        };
        // A secret serves both grants: the server's metadata decides.
        assert_eq!(secret.configured_grant(), None);
        let machine = offered(&["client_credentials"]);
        assert_eq!(
            secret.grant_for(Some(&machine)),
            OAuthGrant::ClientCredentials
        );
        let both = offered(&["authorization_code", "client_credentials"]);
        assert_eq!(secret.grant_for(Some(&both)), OAuthGrant::AuthorizationCode);
        assert_eq!(secret.grant_for(None), OAuthGrant::AuthorizationCode);
        // Without a secret there is no client to send: the browser.
        let public = OAuthConfig::default();
        assert_eq!(
            public.grant_for(Some(&machine)),
            OAuthGrant::AuthorizationCode
        );
        let key = OAuthConfig {
            client_key: Some("${K}".into()),
            ..secret.clone()
        };
        assert_eq!(key.grant_for(Some(&both)), OAuthGrant::ClientCredentials);
        let token = OAuthConfig {
            assertion_file: Some("/t".into()),
            ..OAuthConfig::default()
        };
        assert_eq!(token.grant_for(None), OAuthGrant::JwtBearer);
        // An identity provider makes the token file the person's ID token.
        let enterprise = OAuthConfig {
            idp_issuer: Some("https://idp.example.com".into()),
            ..token.clone()
        };
        assert_eq!(enterprise.grant_for(None), OAuthGrant::EnterpriseManaged);
        let explicit = OAuthConfig {
            grant: Some(OAuthGrant::AuthorizationCode),
            ..secret
        };
        assert_eq!(
            explicit.grant_for(Some(&machine)),
            OAuthGrant::AuthorizationCode
        );
    }

    #[test]
    fn tool_patterns_are_checked() {
        let issues = issues(
            "[[servers]]\nid = \"a\"\nurl = \"https://a.example/mcp\"\n[servers.tools]\nallow = [\"read_*\", \"[oops\"]\ndeny = [\"\"]\n",
        );
        assert!(
            issues
                .iter()
                .any(|i| i.contains("tools.allow") && i.contains("not a valid glob")),
            "{issues:?}"
        );
        assert!(
            issues
                .iter()
                .any(|i| i.contains("tools.deny") && i.contains("empty")),
            "{issues:?}"
        );
        let config = parse(
            "[[servers]]\nid = \"a\"\nurl = \"https://a.example/mcp\"\n[servers.tools]\ndeny = [\"delete_*\"]\n",
        )
        .unwrap();
        assert!(!config.servers[0].tools.offers("delete_all"));
        assert!(config.servers[0].tools.offers("read"));
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
}
