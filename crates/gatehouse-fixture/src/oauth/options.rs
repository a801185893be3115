//! How an [`OAuthFixture`](super::OAuthFixture) behaves: the well-behaved
//! defaults of the demo server, and every awkward or hostile variant a test
//! of the client's defences needs, in one plain struct.

use std::collections::HashMap;
use std::time::Duration;

/// What `/authorize` does with a valid request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConsentMode {
    /// Show a consent page with Approve and Deny buttons (the demo).
    #[default]
    Page,
    /// Redirect straight back with a code, as if the person approved.
    AutoApprove,
    /// Redirect straight back with `error=access_denied`.
    Deny,
}

/// The RFC 9207 `iss` parameter on redirects back to the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IssMode {
    /// The issuer the metadata advertises.
    #[default]
    Correct,
    /// No `iss` at all.
    Omit,
    /// [`WRONG_ISSUER`]: a mix-up attack the client must refuse.
    Wrong,
}

/// The `iss` sent with [`IssMode::Wrong`].
pub const WRONG_ISSUER: &str = "https://attacker.example";

/// Where the protected resource metadata (RFC 9728) is served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PrmLocation {
    /// `/.well-known/oauth-protected-resource/mcp` only.
    #[default]
    PathAware,
    /// `/.well-known/oauth-protected-resource` only.
    Root,
    /// Both.
    Both,
}

/// How a client authenticates at the token endpoint (RFC 7591
/// `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ClientAuthMethod {
    /// A public client: `client_id` in the body, no secret.
    #[default]
    None,
    /// `client_id` and `client_secret` in the body.
    ClientSecretPost,
    /// `Authorization: Basic base64(id:secret)`.
    ClientSecretBasic,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::None),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            _ => None,
        }
    }
}

/// A client the authorization server knows: registered through `/register`
/// or given up front in [`OAuthOptions::preregistered_clients`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredClient {
    pub client_id: String,
    /// Set exactly when `auth_method` is not [`ClientAuthMethod::None`].
    pub client_secret: Option<String>,
    pub client_name: Option<String>,
    /// Compared exactly with the `redirect_uri` of every request.
    pub redirect_uris: Vec<String>,
    pub auth_method: ClientAuthMethod,
}

impl RegisteredClient {
    /// A public client (`token_endpoint_auth_method` `none`).
    pub fn public(client_id: impl Into<String>, redirect_uris: Vec<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            client_name: None,
            redirect_uris,
            auth_method: ClientAuthMethod::None,
        }
    }

    /// A confidential client authenticating with `auth_method`
    /// (`ClientSecretBasic` or `ClientSecretPost`).
    pub fn confidential(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        auth_method: ClientAuthMethod,
        redirect_uris: Vec<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
            client_name: None,
            redirect_uris,
            auth_method,
        }
    }

    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }
}

/// How to run an [`OAuthFixture`](super::OAuthFixture). `Default` is the
/// well-behaved demo server with a consent page.
#[derive(Debug, Clone)]
pub struct OAuthOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The MCP server's name at `initialize`.
    pub server_name: String,
    /// How the server is named to a person on the consent page.
    pub display_name: String,

    // --- Authorization -----------------------------------------------------
    /// What `/authorize` does; changeable while running.
    pub consent: ConsentMode,
    /// Lifetime of access tokens issued from now on; changeable while running.
    pub access_token_ttl: Duration,
    /// Lifetime of authorization codes.
    pub authorization_code_ttl: Duration,
    /// Granted when a request asks for no known scope, and named in the
    /// 401 challenge.
    pub default_scopes: Vec<String>,
    /// Advertised in both metadata documents; requested scopes outside this
    /// list are dropped from the grant.
    pub scopes_supported: Vec<String>,
    /// Tool name → scope a `tools/call` of it needs (403 step-up otherwise).
    pub tool_scopes: HashMap<String, String>,
    /// `scope="…"` (the default scopes) in the 401 challenge.
    pub scope_in_challenge: bool,
    /// `resource_metadata="…"` in the 401 and 403 challenges.
    pub resource_metadata_in_challenge: bool,
    /// `resource` (RFC 8707) must be sent, and be the MCP URL, on
    /// `/authorize` and on the code exchange.
    pub require_resource: bool,
    /// `iss` on redirects back to the client.
    pub iss_in_redirect: IssMode,
    /// Whether token responses carry a refresh token.
    pub refresh_tokens_issued: bool,
    /// Every refresh answers a new refresh token and invalidates the old
    /// one; when false a refresh answers no refresh token and the old one
    /// stays valid.
    pub rotate_refresh_tokens: bool,
    /// `/register` exists and is advertised.
    pub dcr_supported: bool,
    /// Registration gives every client this authentication method (and a
    /// secret unless `None`), whatever it asked for: RFC 7591 lets the
    /// server replace requested metadata, and the response says which.
    pub registered_auth_method: Option<ClientAuthMethod>,
    /// The client credentials grant is advertised and a confidential client
    /// gets tokens with it (no person, no refresh token).
    pub client_credentials_grant: bool,
    /// Clients known before any registration.
    pub preregistered_clients: Vec<RegisteredClient>,
    /// An identity provider whose assertions (ID-JAGs) a confidential
    /// client redeems with the JWT bearer grant, which is then advertised
    /// (enterprise-managed authorization).
    pub trusted_idp: Option<crate::idp::Assertions>,
    /// DPoP (RFC 9449): ES256 proofs are advertised, a token request with
    /// one gets tokens bound to its key, and the MCP endpoint takes a bound
    /// token only with a proof by that key.
    pub dpop: bool,
    /// With `dpop`: the nonce both the token endpoint and the MCP endpoint
    /// demand in proofs, handed out when a proof lacks it.
    pub dpop_nonce: Option<String>,

    // --- Discovery -------------------------------------------------------
    /// An issuer with a path (`"/tenant"`): the issuer becomes
    /// `http://127.0.0.1:PORT/tenant` and its metadata moves to the
    /// path-inserted locations of RFC 8414 and OIDC.
    pub issuer_path: Option<String>,
    pub prm_location: PrmLocation,
    /// `code_challenge_methods_supported: ["S256"]` in the metadata; when
    /// false the field is absent (and the client must refuse).
    pub pkce_advertised: bool,

    // --- Hostile metadata ----------------------------------------------------
    pub issuer_override: Option<String>,
    pub authorization_endpoint_override: Option<String>,
    pub token_endpoint_override: Option<String>,
    pub registration_endpoint_override: Option<String>,
    pub revocation_endpoint_override: Option<String>,
    /// The protected resource metadata names another resource.
    pub prm_resource_override: Option<String>,
    pub prm_authorization_servers_override: Option<Vec<String>>,
    /// Pad the authorization server metadata beyond 1 MiB.
    pub oversized_metadata: bool,
    /// Pad the protected resource metadata beyond 1 MiB.
    pub oversized_resource_metadata: bool,
    /// The authorization server metadata answers `302 Location: <this>`.
    pub metadata_redirect_to: Option<String>,
    /// `/register` records the request and answers `307 Location: <this>`,
    /// which keeps the method and body: a client that follows sends its
    /// registration there.
    pub registration_redirect_to: Option<String>,
    /// The authorization server metadata is also served at this path, one
    /// no issuer can be derived from (`/as/.well-known/oauth-authorization-server`):
    /// a protected resource metadata document may name it directly, and
    /// nothing about the URL says which issuer the document must name.
    pub metadata_alias_path: Option<String>,
    /// The authorization server metadata has no `issuer` at all.
    pub issuer_omitted: bool,

    // --- MCP ---------------------------------------------------------------
    /// Offer the tools that talk back to the client (see
    /// `McpOptions::interactive`).
    pub interactive_tools: bool,
}

impl Default for OAuthOptions {
    fn default() -> Self {
        Self {
            port: 0,
            server_name: "gatehouse-demo".into(),
            display_name: "Gatehouse demo server".into(),
            consent: ConsentMode::Page,
            access_token_ttl: Duration::from_secs(3600),
            authorization_code_ttl: Duration::from_secs(60),
            default_scopes: vec!["mcp:read".into()],
            scopes_supported: vec!["mcp:read".into(), "mcp:write".into()],
            tool_scopes: HashMap::new(),
            scope_in_challenge: true,
            resource_metadata_in_challenge: true,
            require_resource: false,
            iss_in_redirect: IssMode::Correct,
            refresh_tokens_issued: true,
            rotate_refresh_tokens: true,
            dcr_supported: true,
            registered_auth_method: None,
            client_credentials_grant: false,
            preregistered_clients: Vec::new(),
            trusted_idp: None,
            dpop: false,
            dpop_nonce: None,
            issuer_path: None,
            prm_location: PrmLocation::PathAware,
            pkce_advertised: true,
            issuer_override: None,
            authorization_endpoint_override: None,
            token_endpoint_override: None,
            registration_endpoint_override: None,
            revocation_endpoint_override: None,
            prm_resource_override: None,
            prm_authorization_servers_override: None,
            oversized_metadata: false,
            oversized_resource_metadata: false,
            metadata_redirect_to: None,
            registration_redirect_to: None,
            metadata_alias_path: None,
            issuer_omitted: false,
            interactive_tools: false,
        }
    }
}
