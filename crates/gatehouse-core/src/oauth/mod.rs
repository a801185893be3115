//! OAuth 2.1 authorization for remote MCP servers, built on rmcp's `auth`
//! module: rmcp's `AuthorizationManager` does discovery, registration, PKCE
//! and token exchange; around it Gatehouse puts its own pieces — the SSRF
//! policy on every request ([`http`]), refusals the spec demands that rmcp
//! leaves to the caller ([`discovery`]), the loopback listener
//! ([`loopback`]), the vault-backed stores ([`store`]), the flow and the
//! background refresh ([`authorizer`]), revocation ([`revoke`]) and
//! DPoP-bound tokens ([`dpop`]).

mod authorizer;
mod discovery;
pub(crate) mod dpop;
mod http;
pub mod loopback;
mod revoke;
pub(crate) mod store;
mod unattended;

use async_trait::async_trait;
use rmcp::transport::auth::AuthError;

pub(crate) use authorizer::{FlowOrigin, Readiness, Recovery, ServerAuth};

use crate::error_code::ErrorCode;
use crate::ssrf::UnsafeAddress;

/// A `WWW-Authenticate` challenge's parameters, whatever its scheme. The
/// base URL only resolves `resource_metadata`, which callers here do not
/// read.
pub(crate) fn challenge_params(challenge: &str) -> rmcp::transport::auth::WWWAuthenticateParams {
    let base = url::Url::parse("http://localhost/").expect("a valid URL");
    rmcp::transport::auth::WWWAuthenticateParams::parse(challenge, &base)
}

/// The `scope` a challenge asks for, cleaned for showing.
pub(crate) fn challenge_scope(challenge: &str) -> Option<String> {
    challenge_params(challenge)
        .scope
        .map(|s| short(&s))
        .filter(|s| !s.is_empty())
}

/// Whether a `WWW-Authenticate` challenge says the token lacks scopes
/// (RFC 6750 `error="insufficient_scope"`).
pub(crate) fn is_insufficient_scope(challenge: &str) -> bool {
    challenge_params(challenge).is_insufficient_scope()
}

/// A challenge's `error` (RFC 6750 §3), whatever its scheme.
pub(crate) fn challenge_error(challenge: &str) -> Option<String> {
    challenge_params(challenge).error
}

/// Token facts of a server from the vault, without starting anything.
pub(crate) fn stored_view(
    server: &crate::config::ServerConfig,
    vault: &crate::vault::Vault,
) -> Option<crate::api::OAuthView> {
    let settings = server.oauth_settings()?;
    let store = store::GrantStore::new(
        &crate::config::normalize_id(&server.id),
        url::Url::parse(&server.url).ok()?.as_str(),
        settings.token_storage,
        vault.clone(),
    );
    Some(store.reload().ok()??.view())
}

/// Shows the person the authorization server's consent page. The desktop
/// opens the system browser; the CLI prints the URL (and opens a browser
/// when it can); tests and the conformance client follow it over HTTP.
/// `present` should return once the page is on its way; the flow waits for
/// the browser to come back on its own.
#[async_trait]
pub trait ConsentSink: Send + Sync {
    async fn present(&self, server: &str, url: &str) -> Result<(), String>;
}

/// Why an authorization did not complete. Messages are for people and
/// never carry a token, a code or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    #[error(
        "access was declined at the authorization server{}",
        detail(description)
    )]
    AccessDenied { description: Option<String> },
    #[error(
        "the authorization server answered with an error: {error}{}",
        detail(description)
    )]
    Refused {
        error: String,
        description: Option<String>,
    },
    /// The company identity provider refused to exchange the person's ID
    /// token (enterprise-managed authorization).
    #[error(
        "the identity provider refused the ID token: {error}{}",
        detail(description)
    )]
    IdentityProviderRefused {
        error: String,
        description: Option<String>,
    },
    #[error("the browser did not come back within {}", crate::api::human_duration(*.after))]
    TimedOut { after: std::time::Duration },
    #[error("the authorization was cancelled")]
    Cancelled,
    #[error("{0}")]
    UnsafeAddress(UnsafeAddress),
    #[error(
        "the authorization server does not support PKCE with S256, which Gatehouse requires; it will not authorize with it"
    )]
    PkceUnsupported,
    #[error("the server's metadata is for a different resource: {0}")]
    ResourceMismatch(String),
    #[error("the authorization server's identity does not match ({0})")]
    IssuerMismatch(String),
    #[error("the server does not say how to authorize with it: {0}")]
    Discovery(String),
    #[error(
        "the authorization server does not allow dynamic client registration; set a pre-registered oauth.client_id for this server"
    )]
    NeedsClientId,
    #[error("client registration failed: {0}")]
    Registration(String),
    #[error(
        "the callback port {port} is in use; free it or choose another oauth.callback_port (the pre-registered client's redirect URI must match)"
    )]
    PortInUse { port: u16 },
    #[error("cannot listen for the browser on the loopback interface: {0}")]
    Listener(String),
    #[error("exchanging the authorization code failed: {0}")]
    Exchange(String),
    #[error("the authorization server issued no token: {0}")]
    Unattended(String),
    /// Enterprise-managed authorization failed for good: an answer rmcp
    /// refuses (bindings, token types), or settings it cannot use.
    #[error("enterprise-managed authorization failed: {0}")]
    Enterprise(String),
    #[error(
        "the authorization server does not offer the {grant} grant this server is set up for (it offers {offered})"
    )]
    GrantUnsupported { grant: String, offered: String },
    #[error("the server needs a person to authorize it in the browser")]
    NeedsPerson,
    #[error(
        "the server asks for permissions ({0}) that the authorization already covers; it will not grant more"
    )]
    ScopeNotGranted(String),
    #[error("the server needs more permissions{}; authorize it again to grant them", .scopes.as_deref().map(|s| format!(" ({s})")).unwrap_or_default())]
    MorePermissionsNeeded { scopes: Option<String> },
    #[error(
        "the server now sends you to another authorization server ({requested}) instead of the one that authorized it ({current}); Gatehouse does not follow that on its own — authorize the server again if you trust {requested}"
    )]
    AuthorizationServerChanged { current: String, requested: String },
    #[error(
        "the server now sends you to another authorization server ({requested}); the configured oauth.client_id is the client you use with {current}, and Gatehouse will not present it (or its secret) to {requested} — set oauth.client_id and client_secret to a client registered at {requested}, or remove them"
    )]
    ClientOfAnotherServer { current: String, requested: String },
    #[error("an authorization of this server is already in progress")]
    InProgress,
    #[error(
        "another Gatehouse (the app, or another command) is authorizing this server; finish or cancel it there first"
    )]
    InProgressElsewhere,
    #[error("this server does not use OAuth")]
    NotOAuth,
    #[error("{0}")]
    Vault(String),
}

fn detail(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

impl AuthorizationError {
    /// A stable code the UI switches on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::AccessDenied { .. } => ErrorCode::AccessDenied,
            Self::Refused { .. } | Self::IdentityProviderRefused { .. } => {
                ErrorCode::AuthorizationRefused
            }
            Self::TimedOut { .. } => ErrorCode::AuthorizationTimeout,
            Self::Cancelled => ErrorCode::AuthorizationCancelled,
            Self::UnsafeAddress(_) => ErrorCode::UnsafeAddress,
            Self::PkceUnsupported => ErrorCode::PkceUnsupported,
            Self::ResourceMismatch(_) => ErrorCode::ResourceMismatch,
            Self::IssuerMismatch(_) => ErrorCode::IssuerMismatch,
            Self::Discovery(_) => ErrorCode::DiscoveryFailed,
            Self::NeedsClientId => ErrorCode::NeedsClientId,
            Self::Registration(_) => ErrorCode::RegistrationFailed,
            Self::PortInUse { .. } => ErrorCode::PortInUse,
            Self::Listener(_) => ErrorCode::ListenerFailed,
            Self::Exchange(_) | Self::Unattended(_) | Self::Enterprise(_) => {
                ErrorCode::TokenExchangeFailed
            }
            Self::GrantUnsupported { .. } => ErrorCode::GrantUnsupported,
            Self::NeedsPerson => ErrorCode::NeedsConsent,
            Self::ScopeNotGranted(_) | Self::MorePermissionsNeeded { .. } => {
                ErrorCode::InsufficientScope
            }
            Self::AuthorizationServerChanged { .. } => ErrorCode::AuthorizationServerChanged,
            Self::ClientOfAnotherServer { .. } => ErrorCode::ClientOfAnotherServer,
            Self::InProgress | Self::InProgressElsewhere => ErrorCode::AuthorizationInProgress,
            Self::NotOAuth => ErrorCode::NotOAuth,
            Self::Vault(_) => ErrorCode::Vault,
        }
    }

    /// Maps an rmcp error from discovery, registration or exchange.
    pub(crate) fn from_auth(error: AuthError) -> Self {
        if let Some(unsafe_address) = find_unsafe_address(&error) {
            return Self::UnsafeAddress(unsafe_address);
        }
        match error {
            AuthError::PkceUnsupported => Self::PkceUnsupported,
            AuthError::ProtectedResourceMetadataInvalid { reason, .. } => {
                Self::ResourceMismatch(reason.to_string())
            }
            AuthError::AuthorizationServerMismatch {
                expected_issuer,
                received_issuer,
            } => Self::IssuerMismatch(format!(
                "expected {expected_issuer:?}, got {received_issuer:?}"
            )),
            AuthError::AuthorizationServerMissingIssuer { expected_issuer } => {
                Self::IssuerMismatch(format!("no issuer given; expected {expected_issuer:?}"))
            }
            AuthError::RegistrationFailed(detail) => Self::Registration(short(&detail)),
            AuthError::TokenExchangeFailed(detail) => Self::Exchange(short(&detail)),
            AuthError::DiscoveryRequestFailed { url, source } => Self::Discovery(format!(
                "{} could not be fetched: {}",
                http::redacted(&url),
                short(&source.to_string())
            )),
            AuthError::AuthorizationServersUnavailable { .. } => Self::Discovery(
                "none of the authorization servers it names has usable metadata".into(),
            ),
            AuthError::NoAuthorizationSupport => {
                Self::Discovery("it publishes no authorization metadata".into())
            }
            AuthError::CredentialStoreError(detail) => Self::Vault(detail),
            other => Self::Exchange(short(&other.to_string())),
        }
    }
}

/// Finds an SSRF refusal anywhere in an error's chain.
pub(crate) fn find_unsafe_address(
    error: &(dyn std::error::Error + 'static),
) -> Option<UnsafeAddress> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<UnsafeAddress>() {
            return Some(found.clone());
        }
        current = e.source();
    }
    None
}

/// A request of our own that failed on its way: a refusal by the address
/// policy as the refusal it is, anything else as `failed` words its cause.
pub(crate) fn failed_request(
    error: &(dyn std::error::Error + 'static),
    failed: impl FnOnce(String) -> AuthorizationError,
) -> AuthorizationError {
    match find_unsafe_address(error) {
        Some(refusal) => AuthorizationError::UnsafeAddress(refusal),
        None => failed(short(&error.to_string())),
    }
}

/// Error text from servers, kept short and on one line.
pub(crate) fn short(text: &str) -> String {
    crate::text::one_line(text, 300)
}
