//! The import plan: which of the clients' entries become Gatehouse servers,
//! with which ids, headers and OAuth settings, which literal secrets move
//! to the vault (and under which names), and which entries are left where
//! they are and why. Pure: it reads entries and the current config, and
//! returns a plan that `service.rs` carries out (or a dry run prints).
//!
//! Secret rules are the core's (`looks_like_literal_secret`, the same rule
//! behind the editor's warning); a secret moves to the vault and its header
//! keeps a `${NAME}` reference, with a scheme word (`Bearer`) left in the
//! header as the editor's "Move to vault" does. A value the entry took from
//! its `env` (`"Authorization:${AUTH_HEADER}"`) is a secret whatever it
//! looks like.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Serialize;

use super::ClientKind;
use super::entry::{ClientEntry, Transport};
use super::wrappers::{RemoteWrapper, parse_wrapper};
use crate::config::{
    Config, MAX_ID_LEN, OAuthConfig, ServerConfig, ToolFilter, check_server_url,
    looks_like_literal_secret, normalize_id,
};

/// One client's entries, as read from its file.
#[derive(Debug, Clone)]
pub struct ImportSource {
    pub client: ClientKind,
    pub path: PathBuf,
    pub entries: Vec<ClientEntry>,
}

/// Where a planned server came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct EntrySource {
    pub client: ClientKind,
    pub entry: String,
}

/// A server the import adds. Its headers hold `${NAME}` references only.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedServer {
    pub server: ServerConfig,
    pub from: Vec<EntrySource>,
    pub notes: Vec<String>,
}

/// A secret the import stores, or one the person must store.
#[derive(Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct PlannedSecret {
    pub name: String,
    pub server: String,
    /// The header (or `oauth.client_secret`) that refers to it.
    pub field: String,
    /// Found in the client's file and moved to the vault (`true`), or only
    /// referred to there (`${VAR}` of the environment, `${input:…}`): the
    /// person stores it with `gatehouse secrets set`.
    pub found: bool,
    #[serde(skip)]
    #[ts(skip)]
    pub(crate) value: Option<SecretString>,
}

impl std::fmt::Debug for PlannedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlannedSecret")
            .field("name", &self.name)
            .field("server", &self.server)
            .field("field", &self.field)
            .field("found", &self.found)
            .finish_non_exhaustive()
    }
}

/// An entry the import leaves alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct SkippedEntry {
    pub client: ClientKind,
    pub entry: String,
    pub reason: String,
}

/// Everything an import would do.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportPlan {
    pub servers: Vec<PlannedServer>,
    pub secrets: Vec<PlannedSecret>,
    pub skipped: Vec<SkippedEntry>,
}

/// The remote server an entry reaches, whatever its shape.
struct Remote {
    url: String,
    headers: Vec<(String, String)>,
    env: BTreeMap<String, String>,
    sse: bool,
    wrapper: Option<RemoteWrapper>,
}

/// What an entry is, for import and connect alike.
pub(crate) enum Reach {
    Remote(Box<RemoteReach>),
    /// Already `gatehouse proxy <id>` or the gateway's URL.
    Gatehouse(Option<String>),
    Local(String),
    Unknown,
}

pub(crate) struct RemoteReach {
    remote: Remote,
}

impl RemoteReach {
    pub(crate) fn url(&self) -> &str {
        &self.remote.url
    }
}

/// What `entry` reaches.
pub(crate) fn reach(entry: &ClientEntry) -> Reach {
    match &entry.transport {
        Transport::Remote { url, headers, sse } => {
            if let Some(id) = gateway_id(url) {
                return Reach::Gatehouse(Some(id));
            }
            Reach::Remote(Box::new(RemoteReach {
                remote: Remote {
                    url: url.clone(),
                    headers: headers
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    env: BTreeMap::new(),
                    sse: *sse,
                    wrapper: None,
                },
            }))
        }
        Transport::Stdio { command, args, env } => {
            let program = command.rsplit(['/', '\\']).next().unwrap_or(command);
            let program = program.trim_end_matches(".exe").to_ascii_lowercase();
            if program == "gatehouse" && args.first().is_some_and(|a| a == "proxy") {
                return Reach::Gatehouse(args.get(1).cloned());
            }
            match parse_wrapper(command, args, env) {
                Some(wrapper) => Reach::Remote(Box::new(RemoteReach {
                    remote: Remote {
                        url: wrapper.url.clone(),
                        headers: wrapper.headers.clone(),
                        env: env.clone(),
                        sse: wrapper.sse,
                        wrapper: Some(wrapper),
                    },
                })),
                None => Reach::Local(program),
            }
        }
        Transport::Unknown => Reach::Unknown,
    }
}

/// The server id in a gateway URL `http://127.0.0.1:<port>/servers/<id>/mcp`.
fn gateway_id(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.host_str(), Some("127.0.0.1" | "localhost")) {
        return None;
    }
    let mut segments = parsed.path_segments()?;
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some("servers"), Some(id), Some("mcp"), None) => Some(id.to_owned()),
        _ => None,
    }
}

/// The form two URLs are compared in: parsed, without a trailing slash.
pub(crate) fn same_url_key(url: &str) -> String {
    match url::Url::parse(url.trim()) {
        Ok(parsed) => parsed.as_str().trim_end_matches('/').to_owned(),
        Err(_) => url.trim().to_owned(),
    }
}

/// The configured server whose URL is `url`.
pub(crate) fn server_for_url<'c>(config: &'c Config, url: &str) -> Option<&'c ServerConfig> {
    let key = same_url_key(url);
    config.servers.iter().find(|s| same_url_key(&s.url) == key)
}

/// Plans the import of every entry of `sources` into `config`, given the
/// names the vault already holds.
pub fn plan_import(
    sources: &[ImportSource],
    config: &Config,
    secret_names: &[String],
) -> ImportPlan {
    let mut planner = Planner {
        plan: ImportPlan::default(),
        ids: config.servers.iter().map(|s| normalize_id(&s.id)).collect(),
        secret_names: secret_names
            .iter()
            .map(|n| n.to_ascii_uppercase())
            .collect(),
        existing_secrets: secret_names.iter().cloned().collect(),
    };
    for source in sources {
        for entry in &source.entries {
            planner.entry(config, source.client, entry);
        }
    }
    planner.plan
}

struct Planner {
    plan: ImportPlan,
    /// Server ids taken, normalized.
    ids: BTreeSet<String>,
    /// Secret names taken, upper-cased.
    secret_names: BTreeSet<String>,
    existing_secrets: BTreeSet<String>,
}

impl Planner {
    fn skip(&mut self, client: ClientKind, entry: &ClientEntry, reason: impl Into<String>) {
        self.plan.skipped.push(SkippedEntry {
            client,
            entry: entry.name.clone(),
            reason: reason.into(),
        });
    }

    fn entry(&mut self, config: &Config, client: ClientKind, entry: &ClientEntry) {
        let remote = match reach(entry) {
            Reach::Remote(reach) => reach.remote,
            Reach::Gatehouse(_) => {
                return self.skip(client, entry, "already goes through Gatehouse");
            }
            Reach::Local(program) => {
                return self.skip(
                    client,
                    entry,
                    format!(
                        "a local program ({program}), not a remote server: it stays in {}",
                        client.display_name()
                    ),
                );
            }
            Reach::Unknown => return self.skip(client, entry, "neither a command nor a URL"),
        };
        if let Err(problem) = check_server_url(&remote.url) {
            return self.skip(client, entry, format!("its URL {problem}"));
        }
        if let Some(existing) = server_for_url(config, &remote.url) {
            return self.skip(
                client,
                entry,
                format!("already in Gatehouse as {:?}", existing.id),
            );
        }
        let source = EntrySource {
            client,
            entry: entry.name.clone(),
        };
        let key = same_url_key(&remote.url);
        if let Some(planned) = self
            .plan
            .servers
            .iter_mut()
            .find(|p| same_url_key(&p.server.url) == key)
        {
            planned.notes.push(format!(
                "also in {} as {:?}; the settings from {} were kept",
                client.display_name(),
                entry.name,
                planned.from[0].client.display_name()
            ));
            planned.from.push(source);
            return;
        }
        let id = self.new_id(&entry.name);
        let planned = self.server(id, remote, source);
        self.plan.servers.push(planned);
    }

    fn new_id(&mut self, name: &str) -> String {
        let base = id_from_name(name);
        let mut id = base.clone();
        let mut n = 2;
        while self.ids.contains(&normalize_id(&id)) {
            let suffix = format!("-{n}");
            let room = MAX_ID_LEN - suffix.len();
            id = format!("{}{suffix}", &base[..base.len().min(room)]);
            n += 1;
        }
        self.ids.insert(normalize_id(&id));
        id
    }

    fn server(&mut self, id: String, remote: Remote, source: EntrySource) -> PlannedServer {
        let mut notes = Vec::new();
        let mut server = ServerConfig::new(id.clone(), remote.url.clone());
        if remote.sse {
            notes.push(
                "the client used the older SSE transport; Gatehouse speaks Streamable HTTP, which most servers offer at the same or a sibling URL"
                    .into(),
            );
        }
        for (name, raw) in &remote.headers {
            let value = self.header_value(&id, name, raw, &remote.env);
            server.headers.insert(name.clone(), value);
        }
        if let Some(wrapper) = &remote.wrapper {
            notes.extend(wrapper.notes.iter().cloned());
            server.tools = ToolFilter {
                allow: Vec::new(),
                deny: wrapper.deny_tools.clone(),
            };
            let oauth_flags = wrapper.client_id.is_some()
                || wrapper.callback_port.is_some()
                || !wrapper.scopes.is_empty()
                || wrapper.no_resource;
            if wrapper.tool == "mcp-remote" && server.headers.is_empty() {
                let client_secret = wrapper.client_secret.as_ref().map(|secret| {
                    let name = self.secret_name(&id, "CLIENT_SECRET");
                    self.plan.secrets.push(PlannedSecret {
                        name: name.clone(),
                        server: id.clone(),
                        field: "oauth.client_secret".into(),
                        found: true,
                        value: Some(SecretString::from(secret.clone())),
                    });
                    format!("${{{name}}}")
                });
                server.oauth = Some(OAuthConfig {
                    callback_port: wrapper.callback_port.unwrap_or(0),
                    scopes: wrapper.scopes.clone(),
                    client_id: wrapper.client_id.clone(),
                    client_secret,
                    send_resource_parameter: !wrapper.no_resource,
                    authorization_timeout: wrapper.authorization_timeout,
                    ..OAuthConfig::default()
                });
            } else if oauth_flags {
                notes.push(
                    "its OAuth flags were left out: the server authenticates with headers".into(),
                );
            }
        }
        PlannedServer {
            server,
            from: vec![source],
            notes,
        }
    }

    /// The header value Gatehouse keeps: literal text, with every secret
    /// moved to the vault and referred to as `${NAME}`.
    fn header_value(
        &mut self,
        id: &str,
        header: &str,
        raw: &str,
        env: &BTreeMap<String, String>,
    ) -> String {
        let parts = substitute(raw, env);
        let single_literal = parts.len() == 1 && matches!(parts[0], Part::Text { .. });
        let mut value = String::new();
        for part in parts {
            match part {
                Part::Text { text, from_env } => {
                    if !(from_env || looks_like_literal_secret(header, &text))
                        || text.trim().is_empty()
                    {
                        value.push_str(&escape(&text));
                        continue;
                    }
                    let (scheme, secret) = if single_literal || value.is_empty() {
                        split_credential(&text)
                    } else {
                        (None, text.trim().to_owned())
                    };
                    let name = self.secret_name(id, header);
                    self.plan.secrets.push(PlannedSecret {
                        name: name.clone(),
                        server: id.to_owned(),
                        field: format!("headers.{header}"),
                        found: true,
                        value: Some(SecretString::from(secret)),
                    });
                    if let Some(scheme) = scheme {
                        value.push_str(&escape(&scheme));
                        value.push(' ');
                    }
                    value.push_str(&format!("${{{name}}}"));
                }
                Part::Missing(name) => {
                    if !self.existing_secrets.contains(&name)
                        && !self.plan.secrets.iter().any(|s| s.name == name)
                    {
                        self.secret_names.insert(name.to_ascii_uppercase());
                        self.plan.secrets.push(PlannedSecret {
                            name: name.clone(),
                            server: id.to_owned(),
                            field: format!("headers.{header}"),
                            found: false,
                            value: None,
                        });
                    }
                    value.push_str(&format!("${{{name}}}"));
                }
            }
        }
        value
    }

    /// `<ID>_<HEADER>_TOKEN`-style names, free in the vault and the plan:
    /// the scoped form of the editor's `secretNameForHeader`
    /// (ui/src/lib/secrets.ts), since an import names many servers' secrets
    /// at once.
    fn secret_name(&mut self, id: &str, header: &str) -> String {
        let mut base = upper_snake(header);
        if base.is_empty() {
            base = "SECRET".into();
        }
        if !["TOKEN", "KEY", "SECRET", "PASSWORD"]
            .iter()
            .any(|end| base.ends_with(end))
        {
            base.push_str("_TOKEN");
        }
        let mut scoped = format!("{}_{base}", upper_snake(id));
        if scoped.starts_with(|c: char| c.is_ascii_digit()) {
            scoped.insert_str(0, "S_");
        }
        let mut name = scoped.clone();
        let mut n = 2;
        while self.secret_names.contains(&name) {
            name = format!("{scoped}_{n}");
            n += 1;
        }
        self.secret_names.insert(name.clone());
        name
    }
}

/// Scheme words kept in the header when its credential moves to the vault
/// (the editor's list, ui/src/lib/secrets.ts).
const SCHEMES: &[&str] = &[
    "Bearer", "Basic", "Token", "Bot", "Digest", "ApiKey", "Api-Key", "DPoP", "MAC",
];

/// `Bearer abc` → (`Bearer`, `abc`); anything else is all secret.
fn split_credential(value: &str) -> (Option<String>, String) {
    let trimmed = value.trim();
    if let Some((word, rest)) = trimmed.split_once(char::is_whitespace) {
        let rest = rest.trim();
        if !rest.is_empty() && SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(word)) {
            return (Some(word.to_owned()), rest.to_owned());
        }
    }
    (None, trimmed.to_owned())
}

fn upper_snake(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// A Gatehouse header template writes a literal `${` as `$${`.
fn escape(text: &str) -> String {
    text.replace("${", "$${")
}

enum Part {
    Text {
        text: String,
        from_env: bool,
    },
    /// A variable the file does not define: stays a `${NAME}` reference.
    Missing(String),
}

/// Splits `raw` at its `${VAR}`, `${env:VAR}`, `${VAR:-default}` and
/// `${input:id}` references, putting in the entry's `env` values.
fn substitute(raw: &str, env: &BTreeMap<String, String>) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let push_text = |parts: &mut Vec<Part>, text: &str, from_env: bool| {
        if text.is_empty() {
            return;
        }
        match parts.last_mut() {
            Some(Part::Text {
                text: last,
                from_env: last_env,
            }) => {
                last.push_str(text);
                *last_env |= from_env;
            }
            _ => parts.push(Part::Text {
                text: text.to_owned(),
                from_env,
            }),
        }
    };
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        push_text(&mut parts, &rest[..start], false);
        let inner = &rest[start + 2..start + len];
        rest = &rest[start + len + 1..];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        let (is_input, name) = match name.split_once(':') {
            Some(("input", id)) => (true, id),
            Some(("env", name)) => (false, name),
            _ => (false, name),
        };
        match env.get(name).filter(|_| !is_input) {
            Some(value) => push_text(&mut parts, value, true),
            None => match default {
                Some(default) => push_text(&mut parts, default, false),
                None => {
                    let mut secret = upper_snake(name);
                    if secret.is_empty() || secret.starts_with(|c: char| c.is_ascii_digit()) {
                        secret.insert_str(0, "S_");
                    }
                    if crate::template::validate_secret_name(name).is_ok() && !is_input {
                        secret = name.to_owned();
                    }
                    parts.push(Part::Missing(secret));
                }
            },
        }
    }
    push_text(&mut parts, rest, false);
    parts
}

/// An id made from a client's entry name: letters, digits, `-`, `_`, `.`,
/// starting with a letter or digit.
fn id_from_name(name: &str) -> String {
    let mut id = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    let id = id.trim_end_matches('-');
    let id: String = id.chars().take(MAX_ID_LEN - 4).collect();
    if id.is_empty() { "server".into() } else { id }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    fn stdio(name: &str, command: &str, args: &[&str], env: &[(&str, &str)]) -> ClientEntry {
        ClientEntry {
            name: name.into(),
            table: vec!["mcpServers".into()],
            transport: Transport::Stdio {
                command: command.into(),
                args: args.iter().map(|s| (*s).to_owned()).collect(),
                env: env
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            },
        }
    }

    fn remote(name: &str, url: &str, headers: &[(&str, &str)]) -> ClientEntry {
        ClientEntry {
            name: name.into(),
            table: vec!["mcpServers".into()],
            transport: Transport::Remote {
                url: url.into(),
                headers: headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                sse: false,
            },
        }
    }

    fn source(client: ClientKind, entries: Vec<ClientEntry>) -> ImportSource {
        ImportSource {
            client,
            path: "/x".into(),
            entries,
        }
    }

    #[test]
    fn a_bearer_token_moves_to_the_vault_and_the_scheme_stays() {
        let plan = plan_import(
            &[source(
                ClientKind::ClaudeDesktop,
                vec![stdio(
                    "Linear API",
                    "npx",
                    &[
                        "-y",
                        "mcp-remote",
                        "https://mcp.linear.app/mcp",
                        "--header",
                        "Authorization: Bearer sk-live-0123456789",
                    ],
                    &[],
                )],
            )],
            &Config::default(),
            &[],
        );
        assert_eq!(plan.servers.len(), 1);
        let server = &plan.servers[0].server;
        assert_eq!(server.id, "Linear-API");
        assert_eq!(
            server.headers["Authorization"],
            "Bearer ${LINEAR_API_AUTHORIZATION_TOKEN}"
        );
        assert!(server.oauth.is_none());
        assert_eq!(plan.secrets.len(), 1);
        assert_eq!(
            plan.secrets[0].value.as_ref().unwrap().expose_secret(),
            "sk-live-0123456789"
        );
        let json = serde_json::to_string(&plan).unwrap();
        assert!(!json.contains("sk-live"), "{json}");
        assert!(!format!("{plan:?}").contains("sk-live"));
    }

    #[test]
    fn an_env_value_used_in_a_header_is_a_secret() {
        let plan = plan_import(
            &[source(
                ClientKind::Cursor,
                vec![stdio(
                    "api",
                    "npx",
                    &[
                        "mcp-remote",
                        "https://api.example.com/mcp",
                        "--header",
                        "Authorization:${AUTH_HEADER}",
                    ],
                    &[("AUTH_HEADER", "Bearer short")],
                )],
            )],
            &Config::default(),
            &[],
        );
        assert_eq!(
            plan.servers[0].server.headers["Authorization"],
            "Bearer ${API_AUTHORIZATION_TOKEN}"
        );
        assert_eq!(
            plan.secrets[0].value.as_ref().unwrap().expose_secret(),
            "short"
        );
    }

    #[test]
    fn unresolved_references_become_secrets_to_store() {
        let plan = plan_import(
            &[source(
                ClientKind::VsCode,
                vec![
                    remote(
                        "gh",
                        "https://api.githubcopilot.com/mcp/",
                        &[("Authorization", "Bearer ${input:github_token}")],
                    ),
                    remote(
                        "sentry",
                        "https://mcp.sentry.dev/mcp",
                        &[("X-Key", "${env:SENTRY_KEY}")],
                    ),
                ],
            )],
            &Config::default(),
            &["SENTRY_KEY".to_owned()],
        );
        assert_eq!(
            plan.servers[0].server.headers["Authorization"],
            "Bearer ${GITHUB_TOKEN}"
        );
        assert_eq!(plan.servers[1].server.headers["X-Key"], "${SENTRY_KEY}");
        assert_eq!(plan.secrets.len(), 1);
        assert!(!plan.secrets[0].found);
        assert_eq!(plan.secrets[0].name, "GITHUB_TOKEN");
    }

    #[test]
    fn the_same_url_twice_is_one_server_and_known_urls_are_skipped() {
        let mut config = Config::default();
        config
            .servers
            .push(ServerConfig::new("known", "https://known.example/mcp"));
        let plan = plan_import(
            &[
                source(
                    ClientKind::ClaudeDesktop,
                    vec![stdio(
                        "linear",
                        "npx",
                        &["mcp-remote", "https://mcp.linear.app/mcp"],
                        &[],
                    )],
                ),
                source(
                    ClientKind::Cursor,
                    vec![
                        remote("Linear", "https://mcp.linear.app/mcp/", &[]),
                        remote("known", "https://known.example/mcp", &[]),
                        stdio(
                            "fs",
                            "npx",
                            &["-y", "@modelcontextprotocol/server-filesystem", "/"],
                            &[],
                        ),
                        remote("plain", "http://example.com/mcp", &[]),
                        remote("via", "http://127.0.0.1:47821/servers/known/mcp", &[]),
                    ],
                ),
            ],
            &config,
            &[],
        );
        assert_eq!(plan.servers.len(), 1);
        assert_eq!(plan.servers[0].from.len(), 2);
        assert!(
            plan.servers[0].server.oauth.is_some(),
            "mcp-remote without headers does OAuth"
        );
        let reasons: Vec<_> = plan
            .skipped
            .iter()
            .map(|s| (s.entry.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].1.contains("already in Gatehouse"));
        assert!(reasons[1].1.contains("local program"));
        assert!(reasons[2].1.contains("https"));
        assert!(reasons[3].1.contains("already goes through Gatehouse"));
    }

    #[test]
    fn ids_are_valid_and_unique() {
        let plan = plan_import(
            &[source(
                ClientKind::Cursor,
                vec![
                    remote("my server!", "https://a.example/mcp", &[]),
                    remote("my_server", "https://b.example/mcp", &[]),
                    remote("@@", "https://c.example/mcp", &[]),
                ],
            )],
            &Config::default(),
            &[],
        );
        let ids: Vec<_> = plan.servers.iter().map(|p| p.server.id.as_str()).collect();
        assert_eq!(ids, ["my-server", "my_server-2", "server"]);
        for planned in &plan.servers {
            let issues = planned.server.validate();
            assert!(issues.is_empty(), "{issues:?}");
        }
        let normalized: BTreeSet<_> = ids.iter().map(|id| normalize_id(id)).collect();
        assert_eq!(normalized.len(), ids.len());
    }

    #[test]
    fn oauth_flags_are_translated() {
        let plan = plan_import(
            &[source(
                ClientKind::ClaudeDesktop,
                vec![stdio(
                    "entra",
                    "npx",
                    &[
                        "mcp-remote",
                        "https://e.example/mcp",
                        "3334",
                        "--static-oauth-client-info",
                        r#"{"client_id":"abc","client_secret":"s3cr3t-value"}"#,
                        "--no-resource",
                    ],
                    &[],
                )],
            )],
            &Config::default(),
            &[],
        );
        let oauth = plan.servers[0].server.oauth.clone().unwrap();
        assert_eq!(oauth.callback_port, 3334);
        assert_eq!(oauth.client_id.as_deref(), Some("abc"));
        assert_eq!(
            oauth.client_secret.as_deref(),
            Some("${ENTRA_CLIENT_SECRET}")
        );
        assert!(!oauth.send_resource_parameter);
        assert!(!serde_json::to_string(&plan).unwrap().contains("s3cr3t"));
    }
}
