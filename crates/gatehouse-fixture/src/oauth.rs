//! An OAuth 2.1 authorization server and the MCP server it protects, on one
//! loopback origin, so Gatehouse's tests control every step of the MCP
//! authorization flow (discovery, registration, consent, code exchange,
//! refresh, expiry, revocation, step-up) and every way a server can get it
//! wrong; the desktop app runs the same thing as its demo server.
//!
//! `http://127.0.0.1:PORT` serves:
//! - `/mcp`: the [`FixtureMcp`](crate::mcp::FixtureMcp) server behind a
//!   bearer-token gate ([`resource`]);
//! - `/.well-known/oauth-protected-resource/mcp` and
//!   `/.well-known/oauth-authorization-server` (+ OIDC discovery)
//!   ([`metadata`]);
//! - `/register` ([`registration`]), `/authorize` and `/authorize/decision`
//!   ([`authorize`], [`consent_page`]), `/token` and `/revoke` ([`token`]).

mod authorize;
mod browser;
mod consent_page;
mod dpop;
mod metadata;
mod options;
mod registration;
mod resource;
mod state;
mod token;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use browser::{ConsentAnswer, answer_consent, follow_consent};
pub use options::{
    ClientAuthMethod, ConsentMode, IssMode, OAuthOptions, PrmLocation, RegisteredClient,
    WRONG_ISSUER,
};
pub use state::{
    IssuedToken, RecordedAuthorization, RecordedRegistration, RecordedRevocation,
    RecordedTokenRequest, TokenKind, token_hash,
};

use crate::mcp::{McpFixture, McpOptions, RecordedRequest};
use state::AuthServer;
pub(crate) use state::{first_param, random_token, unix_now};
pub(crate) use token::{basic_credentials, form_params};

/// A running OAuth-protected MCP server and its authorization server.
pub struct OAuthFixture {
    mcp: McpFixture,
    server: Arc<AuthServer>,
}

impl OAuthFixture {
    /// Binds 127.0.0.1 on `options.port` (0 = a free port) and serves.
    pub async fn start(options: OAuthOptions) -> std::io::Result<Self> {
        let options = normalize(options)?;
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], options.port))).await?;
        let origin = format!("http://{}", listener.local_addr()?);
        let server = Arc::new(AuthServer::new(options, origin));
        let mcp_options = McpOptions {
            name: server.options.server_name.clone(),
            access: resource::bearer_gate(server.clone()),
            interactive: server.options.interactive_tools,
            ..McpOptions::default()
        };
        let mcp = McpFixture::start_on(mcp_options, Some(routes(&server)), listener)?;
        Ok(Self { mcp, server })
    }

    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp` (also the `resource`).
    pub fn url(&self) -> String {
        self.server.resource()
    }

    /// The issuer this server is, `http://127.0.0.1:PORT` (plus
    /// `issuer_path`); the metadata may advertise `issuer_override` instead.
    pub fn issuer(&self) -> String {
        self.server.issuer()
    }

    /// The protected resource metadata URL named in challenges.
    pub fn prm_url(&self) -> String {
        self.server.prm_url()
    }

    /// The URL of the extra metadata location (`metadata_alias_path`).
    pub fn metadata_alias_url(&self) -> Option<String> {
        let path = self.server.options.metadata_alias_path.as_deref()?;
        Some(self.server.endpoint(path))
    }

    /// The authorization server metadata URL (RFC 8414, path-inserted when
    /// there is an `issuer_path`).
    pub fn metadata_url(&self) -> String {
        let path = self.server.options.issuer_path.as_deref().unwrap_or("");
        self.server
            .endpoint(&format!("/.well-known/oauth-authorization-server{path}"))
    }

    pub fn addr(&self) -> SocketAddr {
        self.mcp.addr()
    }

    /// The options it runs with (the port resolved).
    pub fn options(&self) -> &OAuthOptions {
        &self.server.options
    }

    /// Stops serving and releases the port.
    pub async fn stop(&mut self) {
        self.mcp.stop().await;
    }

    /// Restarts on the same port: MCP sessions are lost, clients and tokens
    /// are kept (a redeployed server with a persistent token store).
    pub async fn restart(&mut self) -> std::io::Result<()> {
        self.mcp.restart().await
    }

    // --- Runtime controls --------------------------------------------------

    /// While true, every refresh is answered `invalid_grant`.
    pub fn reject_refresh(&self, reject: bool) {
        self.server.reject_refresh(reject);
    }

    /// Revokes every grant: all access and refresh tokens and unused codes.
    pub fn revoke_all(&self) {
        self.server.store.lock().unwrap().revoke_all();
    }

    /// Makes every access token issued so far expired (refresh tokens stay).
    pub fn expire_access_tokens(&self) {
        self.server.store.lock().unwrap().expire_access_tokens();
    }

    /// Lifetime of access tokens issued from now on.
    pub fn set_access_token_ttl(&self, ttl: Duration) {
        self.server.set_access_token_ttl(ttl);
    }

    pub fn set_consent_mode(&self, mode: ConsentMode) {
        self.server.set_consent_mode(mode);
    }

    /// The protected resource metadata names these authorization servers
    /// from now on (`None`: this fixture's own), as a resource that moves to
    /// another authorization server does — or a hostile one.
    pub fn name_authorization_servers(&self, issuers: Option<Vec<String>>) {
        self.server.set_authorization_servers(issuers);
    }

    /// The MCP endpoint accepts only access tokens issued by `fixtures`'
    /// authorization servers from now on (`None`: its own again).
    pub fn accept_tokens_from(&self, fixtures: Option<&[&OAuthFixture]>) {
        self.server.set_token_issuers(
            fixtures.map(|fixtures| fixtures.iter().map(|f| f.server.clone()).collect()),
        );
    }

    /// The authorization server metadata names `to`'s token and revocation
    /// endpoints from now on (`None`: its own again) — a metadata document
    /// changed or tampered with after a grant; the issuer stays this one.
    pub fn move_endpoints_to(&self, to: Option<&OAuthFixture>) {
        self.server.set_moved_endpoints(
            to.map(|to| (to.server.endpoint("/token"), to.server.endpoint("/revoke"))),
        );
    }

    /// The authorization server metadata names `to`'s revocation endpoint
    /// (its own token endpoint stays) from now on.
    pub fn move_revocation_endpoint_to(&self, to: &OAuthFixture) {
        self.server.set_moved_endpoints(Some((
            self.server.endpoint("/token"),
            to.server.endpoint("/revoke"),
        )));
    }

    /// Registers a client as if it had been pre-registered.
    pub fn add_client(&self, client: RegisteredClient) {
        self.server.store.lock().unwrap().add_client(client);
    }

    // --- What it was asked ---------------------------------------------------

    pub fn registrations(&self) -> Vec<RecordedRegistration> {
        self.server.log.lock().unwrap().registrations.clone()
    }

    pub fn authorization_requests(&self) -> Vec<RecordedAuthorization> {
        self.server.log.lock().unwrap().authorizations.clone()
    }

    pub fn token_requests(&self) -> Vec<RecordedTokenRequest> {
        self.server.log.lock().unwrap().token_requests.clone()
    }

    pub fn revocations(&self) -> Vec<RecordedRevocation> {
        self.server.log.lock().unwrap().revocations.clone()
    }

    /// How many `wait_for_cancel` calls were cancelled by their client.
    pub fn cancelled_calls(&self) -> usize {
        self.mcp.cancelled_calls()
    }

    /// Every request to `/mcp`, with headers and JSON-RPC calls.
    pub fn mcp_requests(&self) -> Vec<RecordedRequest> {
        self.mcp.requests()
    }

    /// Every token issued, with whether it is usable now.
    /// The tokens bound to a DPoP key, each with its key's thumbprint.
    pub fn dpop_bound_tokens(&self) -> std::collections::HashMap<String, String> {
        self.server.dpop.lock().unwrap().bound.clone()
    }

    /// How often a DPoP proof was presented to the MCP endpoint again.
    pub fn dpop_replays(&self) -> usize {
        self.server.dpop.lock().unwrap().replays
    }

    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.server.store.lock().unwrap().issued_tokens()
    }
}

/// An `issuer_path` starts with `/` and has no trailing `/`.
fn normalize(mut options: OAuthOptions) -> std::io::Result<OAuthOptions> {
    if let Some(path) = options.issuer_path.take() {
        let trimmed = path.trim_end_matches('/');
        if !trimmed.is_empty() {
            if !trimmed.starts_with('/') || trimmed.contains(['?', '#']) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("issuer_path {path} must be a path starting with /"),
                ));
            }
            options.issuer_path = Some(trimmed.to_owned());
        }
    }
    Ok(options)
}

fn routes(server: &Arc<AuthServer>) -> Router {
    let options = &server.options;
    let mut router = Router::new()
        .route("/", get(consent_page::landing))
        .route("/authorize", get(authorize::authorize))
        .route("/authorize/decision", post(authorize::decide))
        .route("/token", post(token::token))
        .route("/register", post(registration::register))
        .route("/revoke", post(token::revoke));
    if options.prm_location != PrmLocation::Root {
        router = router.route(
            "/.well-known/oauth-protected-resource/mcp",
            get(metadata::protected_resource),
        );
    }
    if options.prm_location != PrmLocation::PathAware {
        router = router.route(
            "/.well-known/oauth-protected-resource",
            get(metadata::protected_resource),
        );
    }
    let as_metadata = match options.issuer_path.as_deref() {
        None => vec![
            "/.well-known/oauth-authorization-server".to_owned(),
            "/.well-known/openid-configuration".to_owned(),
        ],
        Some(path) => vec![
            format!("/.well-known/oauth-authorization-server{path}"),
            format!("/.well-known/openid-configuration{path}"),
            format!("{path}/.well-known/openid-configuration"),
        ],
    };
    let as_metadata = as_metadata
        .into_iter()
        .chain(options.metadata_alias_path.clone());
    for path in as_metadata {
        router = router.route(&path, get(metadata::authorization_server));
    }
    router.with_state(server.clone())
}
