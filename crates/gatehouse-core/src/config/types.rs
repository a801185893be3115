//! What a configuration says: the servers, their addresses and how each
//! one is authenticated. Plain data with the serde shape of the TOML file;
//! checking it is `validate`'s job, reading and writing it `parse`'s and
//! `file`'s.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use url::Url;

use super::tools::ToolFilter;

/// Connect and request timeout when a server sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an authorization waits for the browser when a server sets none.
pub const DEFAULT_AUTHORIZATION_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest server id accepted.
pub const MAX_ID_LEN: usize = 64;

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub servers: Vec<ServerConfig>,
    /// The local HTTP gateway (`[gateway]`).
    #[serde(default, skip_serializing_if = "GatewayConfig::is_default")]
    pub gateway: GatewayConfig,
}

/// The port the local HTTP gateway listens on when the config names none:
/// fixed, so the URLs given to AI clients stay the same across restarts.
pub const DEFAULT_GATEWAY_PORT: u16 = 47821;

/// Settings of the local HTTP gateway (`gatehouse serve`, the desktop app).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// The loopback port; never 0, so that it is stable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<std::num::NonZeroU16>,
}

impl GatewayConfig {
    /// The port to listen on: the configured one, else the default.
    pub fn port(&self) -> u16 {
        self.port.map_or(DEFAULT_GATEWAY_PORT, |p| p.get())
    }

    fn is_default(&self) -> bool {
        *self == Self::default()
    }
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
    /// Which tools clients see through the proxy and the gateway.
    #[serde(default, skip_serializing_if = "ToolFilter::is_empty")]
    pub tools: ToolFilter,
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
    /// How tokens are obtained; absent, the authorization server's metadata
    /// decides ([`OAuthGrant`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<OAuthGrant>,
    /// The pre-registered client's private key (PEM), as a `${NAME}` vault
    /// reference: the client authenticates with a signed JWT
    /// (`private_key_jwt`, RFC 7523) in the client credentials grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    /// The private key's signing algorithm (default ES256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_algorithm: Option<KeyAlgorithm>,
    /// A file holding the workload's identity token (a JWT its platform
    /// writes and rotates), read at each token request of the JWT bearer
    /// grant (workload identity federation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion_file: Option<String>,
    /// The company identity provider's issuer (enterprise-managed
    /// authorization): its token endpoint, found in its metadata, exchanges
    /// the person's ID token (in `assertion_file`) for an identity
    /// assertion the authorization server redeems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_issuer: Option<String>,
    /// Gatehouse's client id at the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_client_id: Option<String>,
    /// Its secret there, as a `${NAME}` vault reference (a public client
    /// at the identity provider has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_client_secret: Option<String>,
    /// Our Client ID Metadata Document URL, used when the server supports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata_url: Option<String>,
    /// Ask for tokens bound to a key of Gatehouse's (DPoP, RFC 9449) when
    /// the authorization server supports them; turn off for a server that
    /// cannot take the DPoP tokens its authorization server issues.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub dpop: bool,
    /// RFC 8707 `resource`; turn off for servers that reject it (Entra).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub send_resource_parameter: bool,
    /// Seconds to wait for the browser to come back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_timeout: Option<u64>,
}

/// How a server's tokens are obtained.
///
/// Without `grant` in the config: enterprise-managed authorization when an
/// `idp_issuer` is set, the JWT bearer grant when an `assertion_file` is
/// set, the client credentials grant when a `client_key` is set, or when a
/// `client_secret` is set and the authorization server offers client
/// credentials but no authorization code; else the authorization code
/// grant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OAuthGrant {
    /// A person consents in the browser (PKCE, loopback redirect).
    #[default]
    AuthorizationCode,
    /// A machine client: its id with a secret or a signed JWT, no person
    /// (the `io.modelcontextprotocol/oauth-client-credentials` extension).
    ClientCredentials,
    /// A workload's identity token exchanged for an access token (RFC 7523
    /// §2.1), no person.
    JwtBearer,
    /// Enterprise-managed authorization: the person's ID token from the
    /// company identity provider is exchanged there (RFC 8693) for an
    /// identity assertion, which the authorization server redeems (RFC 7523)
    /// — no consent screen (the `io.modelcontextprotocol/enterprise-managed-authorization`
    /// extension).
    EnterpriseManaged,
}

impl OAuthGrant {
    /// Whether tokens come without a person (and so come again on their own
    /// when they expire).
    pub fn is_unattended(self) -> bool {
        self != Self::AuthorizationCode
    }

    /// The grant type's name in authorization server metadata.
    pub fn grant_type(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::JwtBearer | Self::EnterpriseManaged => {
                "urn:ietf:params:oauth:grant-type:jwt-bearer"
            }
        }
    }
}

impl std::str::FromStr for OAuthGrant {
    type Err = String;

    /// The config's names (`client_credentials`, …).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
            "expected authorization_code, client_credentials, jwt_bearer or enterprise_managed"
                .into()
        })
    }
}

/// The algorithm a client's private key signs its JWTs with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum KeyAlgorithm {
    #[default]
    ES256,
    ES384,
    RS256,
    RS384,
    RS512,
}

impl std::str::FromStr for KeyAlgorithm {
    type Err = String;

    /// `ES256`, `rs256`, …: case does not matter.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(text.to_ascii_uppercase()))
            .map_err(|_| "expected ES256, ES384, RS256, RS384 or RS512".into())
    }
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
            grant: None,
            client_key: None,
            client_key_algorithm: None,
            assertion_file: None,
            idp_issuer: None,
            idp_client_id: None,
            idp_client_secret: None,
            client_metadata_url: None,
            dpop: true,
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
            tools: ToolFilter::default(),
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
            .field("tools", &self.tools)
            .finish()
    }
}

impl OAuthConfig {
    /// The grant the settings alone decide, or `None` when the authorization
    /// server's metadata has to (a client secret, which serves the
    /// authorization code grant as well as client credentials).
    pub fn configured_grant(&self) -> Option<OAuthGrant> {
        if let Some(grant) = self.grant {
            Some(grant)
        } else if self.idp_issuer.is_some() {
            Some(OAuthGrant::EnterpriseManaged)
        } else if self.assertion_file.is_some() {
            Some(OAuthGrant::JwtBearer)
        } else if self.client_key.is_some() {
            Some(OAuthGrant::ClientCredentials)
        } else if self.client_secret.is_some() {
            None
        } else {
            Some(OAuthGrant::AuthorizationCode)
        }
    }

    /// The grant to use with an authorization server offering
    /// `grant_types_supported` (`None`: it does not say).
    pub fn grant_for(&self, offered: Option<&[String]>) -> OAuthGrant {
        self.configured_grant().unwrap_or_else(|| {
            let offers = |grant: OAuthGrant| {
                offered.is_some_and(|o| o.iter().any(|g| g == grant.grant_type()))
            };
            if offers(OAuthGrant::ClientCredentials) && !offers(OAuthGrant::AuthorizationCode) {
                OAuthGrant::ClientCredentials
            } else {
                OAuthGrant::AuthorizationCode
            }
        })
    }

    pub fn authorization_timeout(&self) -> Duration {
        self.authorization_timeout
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_AUTHORIZATION_TIMEOUT)
    }
}

impl Config {
    pub fn server(&self, id: &str) -> Option<&ServerConfig> {
        self.servers.iter().find(|s| s.id == id)
    }
}
