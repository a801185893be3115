//! What the authorization server knows (clients, pending consents, codes,
//! grants and tokens) and what it remembers having been asked, behind one
//! shared [`AuthServer`] that every endpoint and the MCP gate hold.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::options::{ClientAuthMethod, ConsentMode, OAuthOptions, PrmLocation, RegisteredClient};

/// The shared state of one running OAuth fixture.
pub(crate) struct AuthServer {
    pub(crate) options: OAuthOptions,
    /// `http://127.0.0.1:PORT`
    pub(crate) origin: String,
    controls: Mutex<Controls>,
    /// When set, the MCP gate accepts only access tokens these
    /// authorization servers issued (a resource that moved to another one).
    token_issuers: Mutex<Option<Vec<Arc<AuthServer>>>>,
    pub(crate) store: Mutex<Store>,
    pub(crate) log: Mutex<Log>,
    pub(crate) dpop: Mutex<super::dpop::DpopState>,
}

/// The behaviour a test may change while the server runs.
#[derive(Debug, Clone)]
struct Controls {
    consent: ConsentMode,
    access_token_ttl: Duration,
    reject_refresh: bool,
    /// The protected resource metadata's `authorization_servers`, when it
    /// names others than this one.
    authorization_servers: Option<Vec<String>>,
    /// The token and revocation endpoints the metadata names from now on,
    /// when not this server's own (a metadata document that changed, or
    /// was tampered with, after a grant).
    moved_endpoints: Option<(String, String)>,
}

impl AuthServer {
    pub(crate) fn new(options: OAuthOptions, origin: String) -> Self {
        let mut store = Store::default();
        for client in &options.preregistered_clients {
            store.add_client(client.clone());
        }
        Self {
            controls: Mutex::new(Controls {
                consent: options.consent,
                access_token_ttl: options.access_token_ttl,
                reject_refresh: false,
                authorization_servers: options.prm_authorization_servers_override.clone(),
                moved_endpoints: None,
            }),
            token_issuers: Mutex::new(None),
            options,
            origin,
            store: Mutex::new(store),
            log: Mutex::new(Log::default()),
            dpop: Mutex::default(),
        }
    }

    /// The issuer this server really is: the origin plus the optional path.
    pub(crate) fn issuer(&self) -> String {
        match &self.options.issuer_path {
            Some(path) => format!("{}{}", self.origin, path),
            None => self.origin.clone(),
        }
    }

    /// The issuer the metadata and `iss` name (possibly a lie).
    pub(crate) fn advertised_issuer(&self) -> String {
        self.options
            .issuer_override
            .clone()
            .unwrap_or_else(|| self.issuer())
    }

    /// The protected resource: the MCP endpoint.
    pub(crate) fn resource(&self) -> String {
        format!("{}/mcp", self.origin)
    }

    pub(crate) fn prm_url(&self) -> String {
        match self.options.prm_location {
            PrmLocation::Root => format!("{}/.well-known/oauth-protected-resource", self.origin),
            PrmLocation::PathAware | PrmLocation::Both => {
                format!("{}/.well-known/oauth-protected-resource/mcp", self.origin)
            }
        }
    }

    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.origin, path)
    }

    pub(crate) fn consent_mode(&self) -> ConsentMode {
        self.controls.lock().unwrap().consent
    }

    pub(crate) fn set_consent_mode(&self, mode: ConsentMode) {
        self.controls.lock().unwrap().consent = mode;
    }

    pub(crate) fn access_token_ttl(&self) -> Duration {
        self.controls.lock().unwrap().access_token_ttl
    }

    pub(crate) fn set_access_token_ttl(&self, ttl: Duration) {
        self.controls.lock().unwrap().access_token_ttl = ttl;
    }

    pub(crate) fn refresh_rejected(&self) -> bool {
        self.controls.lock().unwrap().reject_refresh
    }

    pub(crate) fn reject_refresh(&self, reject: bool) {
        self.controls.lock().unwrap().reject_refresh = reject;
    }

    /// The authorization servers the protected resource metadata names.
    pub(crate) fn authorization_servers(&self) -> Vec<String> {
        self.controls
            .lock()
            .unwrap()
            .authorization_servers
            .clone()
            .unwrap_or_else(|| vec![self.advertised_issuer()])
    }

    pub(crate) fn set_authorization_servers(&self, issuers: Option<Vec<String>>) {
        self.controls.lock().unwrap().authorization_servers = issuers;
    }

    pub(crate) fn moved_endpoints(&self) -> Option<(String, String)> {
        self.controls.lock().unwrap().moved_endpoints.clone()
    }

    pub(crate) fn set_moved_endpoints(&self, endpoints: Option<(String, String)>) {
        self.controls.lock().unwrap().moved_endpoints = endpoints;
    }

    pub(crate) fn set_token_issuers(&self, issuers: Option<Vec<Arc<AuthServer>>>) {
        *self.token_issuers.lock().unwrap() = issuers;
    }

    /// The scopes of an access token presented to the MCP gate, looked up at
    /// the authorization servers whose tokens it accepts.
    pub(crate) fn presented_token_scopes(
        &self,
        token: &str,
    ) -> Result<Vec<String>, TokenRejection> {
        let issuers = self.token_issuers.lock().unwrap().clone();
        let Some(issuers) = issuers else {
            return self.store.lock().unwrap().access_scopes(token);
        };
        let mut outcome = Err(TokenRejection::Unknown);
        for issuer in issuers {
            outcome = issuer.store.lock().unwrap().access_scopes(token);
            if outcome.is_ok() {
                break;
            }
        }
        outcome
    }
}

/// A validated authorization request, waiting for consent or carried by a
/// code into the token exchange.
#[derive(Debug, Clone)]
pub(crate) struct Authorization {
    pub(crate) client_id: String,
    pub(crate) client_name: String,
    pub(crate) redirect_uri: String,
    /// The request named `redirect_uri` (rather than relying on the only
    /// registered one), so the code exchange must repeat it.
    pub(crate) redirect_uri_sent: bool,
    pub(crate) state: Option<String>,
    pub(crate) code_challenge: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) resource: Option<String>,
}

#[derive(Debug)]
struct IssuedCode {
    authorization: Authorization,
    expires_at: Instant,
    used: bool,
    /// The grant the code was exchanged for, revoked if the code is replayed.
    grant: Option<usize>,
}

/// What one consent (one code) granted; all tokens descend from one grant.
#[derive(Debug)]
struct Grant {
    client_id: String,
    scopes: Vec<String>,
    resource: Option<String>,
    revoked: bool,
}

/// Access or refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug)]
struct TokenRecord {
    kind: TokenKind,
    value: String,
    grant: usize,
    scopes: Vec<String>,
    ttl: Option<Duration>,
    expires_at: Option<Instant>,
    /// Revoked, or a refresh token replaced by rotation.
    invalidated: bool,
}

/// A token the fixture has issued, as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub kind: TokenKind,
    pub token: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub resource: Option<String>,
    /// The lifetime it was issued with (`None` for refresh tokens).
    pub ttl: Option<Duration>,
    /// Usable right now: not expired, revoked or rotated away.
    pub active: bool,
}

/// Why a token cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenRejection {
    Unknown,
    Expired,
    Revoked,
}

impl TokenRejection {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Unknown => "The token is not known",
            Self::Expired => "The token has expired",
            Self::Revoked => "The token has been revoked",
        }
    }
}

/// What the token endpoint hands out for one exchange.
#[derive(Debug)]
pub(crate) struct TokenGrant {
    pub(crate) access_token: String,
    pub(crate) expires_in: Duration,
    pub(crate) scopes: Vec<String>,
    pub(crate) refresh_token: Option<String>,
}

/// Why a code or refresh token exchange failed (all `invalid_grant`).
#[derive(Debug)]
pub(crate) struct GrantRejection(pub(crate) String);

/// Clients, consents, codes, grants and tokens.
#[derive(Debug, Default)]
pub(crate) struct Store {
    clients: HashMap<String, RegisteredClient>,
    /// Requests shown on the consent page, with their authorization log entry.
    consents: HashMap<String, (Authorization, usize)>,
    codes: HashMap<String, IssuedCode>,
    grants: Vec<Grant>,
    tokens: Vec<TokenRecord>,
}

impl Store {
    pub(crate) fn add_client(&mut self, client: RegisteredClient) {
        self.clients.insert(client.client_id.clone(), client);
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<&RegisteredClient> {
        self.clients.get(client_id)
    }

    /// Parks a request on the consent page; the id goes into the form.
    pub(crate) fn await_consent(&mut self, authorization: Authorization, record: usize) -> String {
        let id = random_token("consent_", 16);
        self.consents.insert(id.clone(), (authorization, record));
        id
    }

    /// The request the consent page was shown for (and the index of its
    /// authorization log entry), once.
    pub(crate) fn take_consent(&mut self, id: &str) -> Option<(Authorization, usize)> {
        self.consents.remove(id)
    }

    pub(crate) fn issue_code(&mut self, authorization: Authorization, ttl: Duration) -> String {
        let code = random_token("code_", 32);
        self.codes.insert(
            code.clone(),
            IssuedCode {
                authorization,
                expires_at: Instant::now() + ttl,
                used: false,
                grant: None,
            },
        );
        code
    }

    /// Looks a code up for `client_id` and spends it. A code that was
    /// already spent revokes the grant it produced (RFC 6749 §4.1.2).
    pub(crate) fn spend_code(
        &mut self,
        code: &str,
        client_id: &str,
    ) -> Result<Authorization, GrantRejection> {
        let Some(issued) = self.codes.get_mut(code) else {
            return Err(GrantRejection("The authorization code is not known".into()));
        };
        if issued.authorization.client_id != client_id {
            return Err(GrantRejection(
                "The authorization code was issued to another client".into(),
            ));
        }
        if issued.used {
            let grant = issued.grant;
            if let Some(grant) = grant {
                self.revoke_grant(grant);
            }
            return Err(GrantRejection(
                "The authorization code has already been used".into(),
            ));
        }
        issued.used = true;
        if Instant::now() >= issued.expires_at {
            return Err(GrantRejection("The authorization code has expired".into()));
        }
        Ok(issued.authorization.clone())
    }

    /// Starts a grant from a spent code and issues its first tokens.
    pub(crate) fn grant_from_code(
        &mut self,
        code: &str,
        authorization: &Authorization,
        access_ttl: Duration,
        with_refresh: bool,
    ) -> TokenGrant {
        self.grants.push(Grant {
            client_id: authorization.client_id.clone(),
            scopes: authorization.scopes.clone(),
            resource: authorization.resource.clone(),
            revoked: false,
        });
        let grant = self.grants.len() - 1;
        if let Some(issued) = self.codes.get_mut(code) {
            issued.grant = Some(grant);
        }
        let scopes = authorization.scopes.clone();
        let access_token = self.issue_access_token(grant, scopes.clone(), access_ttl);
        let refresh_token = with_refresh.then(|| self.issue_refresh_token(grant, scopes.clone()));
        TokenGrant {
            access_token,
            expires_in: access_ttl,
            scopes,
            refresh_token,
        }
    }

    /// Tokens for a client on its own (the client credentials grant): no
    /// refresh token.
    pub(crate) fn grant_to_client(
        &mut self,
        client_id: &str,
        scopes: Vec<String>,
        resource: Option<String>,
        access_ttl: Duration,
    ) -> TokenGrant {
        self.grants.push(Grant {
            client_id: client_id.to_owned(),
            scopes: scopes.clone(),
            resource,
            revoked: false,
        });
        let grant = self.grants.len() - 1;
        let access_token = self.issue_access_token(grant, scopes.clone(), access_ttl);
        TokenGrant {
            access_token,
            expires_in: access_ttl,
            scopes,
            refresh_token: None,
        }
    }

    /// Exchanges a refresh token. `scopes` narrows the new access token and
    /// must be within the grant; `rotate` replaces the refresh token.
    pub(crate) fn refresh(
        &mut self,
        refresh_token: &str,
        client_id: &str,
        scopes: Option<Vec<String>>,
        resource: Option<&str>,
        access_ttl: Duration,
        rotate: bool,
    ) -> Result<TokenGrant, RefreshRejection> {
        let grant = match self.token_state(refresh_token, TokenKind::Refresh) {
            Ok(record) => record.grant,
            Err(why) => return Err(RefreshRejection::Grant(why.describe().into())),
        };
        let granted = &self.grants[grant];
        if granted.client_id != client_id {
            return Err(RefreshRejection::Grant(
                "The refresh token was issued to another client".into(),
            ));
        }
        if let (Some(asked), Some(bound)) = (resource, granted.resource.as_deref())
            && asked != bound
        {
            return Err(RefreshRejection::Target(format!(
                "The refresh token is for {bound}, not {asked}"
            )));
        }
        let scopes = match scopes {
            Some(asked) => {
                if let Some(extra) = asked.iter().find(|s| !granted.scopes.contains(s)) {
                    return Err(RefreshRejection::Scope(format!(
                        "{extra} was not part of the original grant"
                    )));
                }
                asked
            }
            None => granted.scopes.clone(),
        };
        let refresh_token = if rotate {
            self.invalidate(refresh_token);
            let all = self.grants[grant].scopes.clone();
            Some(self.issue_refresh_token(grant, all))
        } else {
            None
        };
        let access_token = self.issue_access_token(grant, scopes.clone(), access_ttl);
        Ok(TokenGrant {
            access_token,
            expires_in: access_ttl,
            scopes,
            refresh_token,
        })
    }

    /// The scopes of a usable access token.
    pub(crate) fn access_scopes(&self, token: &str) -> Result<Vec<String>, TokenRejection> {
        self.token_state(token, TokenKind::Access)
            .map(|record| record.scopes.clone())
    }

    /// Revokes `token` (RFC 7009); a refresh token takes its grant's access
    /// tokens with it. `client_id`, when given, must own the token.
    pub(crate) fn revoke(&mut self, token: &str, client_id: Option<&str>) -> Option<TokenKind> {
        let record = self.tokens.iter().find(|record| record.value == token)?;
        let (kind, grant) = (record.kind, record.grant);
        if client_id.is_some_and(|id| id != self.grants[grant].client_id) {
            return None;
        }
        match kind {
            TokenKind::Access => self.invalidate(token),
            TokenKind::Refresh => self.revoke_grant(grant),
        }
        Some(kind)
    }

    pub(crate) fn revoke_all(&mut self) {
        for grant in &mut self.grants {
            grant.revoked = true;
        }
        for record in &mut self.tokens {
            record.invalidated = true;
        }
        for code in self.codes.values_mut() {
            code.used = true;
        }
    }

    pub(crate) fn expire_access_tokens(&mut self) {
        let now = Instant::now();
        for record in &mut self.tokens {
            if record.kind == TokenKind::Access {
                record.expires_at = Some(now);
            }
        }
    }

    pub(crate) fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.tokens
            .iter()
            .map(|record| {
                let grant = &self.grants[record.grant];
                IssuedToken {
                    kind: record.kind,
                    token: record.value.clone(),
                    client_id: grant.client_id.clone(),
                    scopes: record.scopes.clone(),
                    resource: grant.resource.clone(),
                    ttl: record.ttl,
                    active: self.token_state(&record.value, record.kind).is_ok(),
                }
            })
            .collect()
    }

    fn token_state(&self, token: &str, kind: TokenKind) -> Result<&TokenRecord, TokenRejection> {
        let record = self
            .tokens
            .iter()
            .find(|record| record.kind == kind && record.value == token)
            .ok_or(TokenRejection::Unknown)?;
        if record.invalidated || self.grants[record.grant].revoked {
            return Err(TokenRejection::Revoked);
        }
        if record.expires_at.is_some_and(|at| Instant::now() >= at) {
            return Err(TokenRejection::Expired);
        }
        Ok(record)
    }

    fn issue_access_token(&mut self, grant: usize, scopes: Vec<String>, ttl: Duration) -> String {
        let value = random_token("at_", 32);
        self.tokens.push(TokenRecord {
            kind: TokenKind::Access,
            value: value.clone(),
            grant,
            scopes,
            ttl: Some(ttl),
            expires_at: Some(Instant::now() + ttl),
            invalidated: false,
        });
        value
    }

    fn issue_refresh_token(&mut self, grant: usize, scopes: Vec<String>) -> String {
        let value = random_token("rt_", 32);
        self.tokens.push(TokenRecord {
            kind: TokenKind::Refresh,
            value: value.clone(),
            grant,
            scopes,
            ttl: None,
            expires_at: None,
            invalidated: false,
        });
        value
    }

    fn invalidate(&mut self, token: &str) {
        for record in &mut self.tokens {
            if record.value == token {
                record.invalidated = true;
            }
        }
    }

    fn revoke_grant(&mut self, grant: usize) {
        self.grants[grant].revoked = true;
        for record in &mut self.tokens {
            if record.grant == grant {
                record.invalidated = true;
            }
        }
    }
}

/// Why a refresh failed, by RFC 6749 / RFC 8707 error code.
#[derive(Debug)]
pub(crate) enum RefreshRejection {
    Grant(String),
    Scope(String),
    Target(String),
}

/// One call to `/register`.
#[derive(Debug, Clone)]
pub struct RecordedRegistration {
    /// The JSON body as received (`Null` if it was not JSON).
    pub body: serde_json::Value,
    /// The client it created.
    pub client: Option<RegisteredClient>,
    /// The RFC 7591 error code when refused.
    pub error: Option<String>,
    /// Where it was sent on instead (`registration_redirect_to`).
    pub redirected_to: Option<String>,
}

/// One request to `/authorize`.
#[derive(Debug, Clone)]
pub struct RecordedAuthorization {
    /// The query parameters in the order received.
    pub params: Vec<(String, String)>,
    /// The OAuth error code when refused (`access_denied` when the person,
    /// or [`ConsentMode::Deny`], said no).
    pub error: Option<String>,
}

impl RecordedAuthorization {
    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        first_param(&self.params, name)
    }
}

/// One request to `/token`.
#[derive(Debug, Clone)]
pub struct RecordedTokenRequest {
    /// When the request arrived.
    pub received: std::time::Instant,
    pub grant_type: Option<String>,
    /// How the client authenticated (`None` when it did not identify itself).
    pub client_auth: Option<ClientAuthMethod>,
    pub client_id: Option<String>,
    /// The form parameters in the order received, secrets included.
    pub params: Vec<(String, String)>,
    /// [`token_hash`] of the `refresh_token` parameter.
    pub refresh_token_hash: Option<String>,
    /// The thumbprint of the key of the request's valid DPoP proof.
    pub dpop_jkt: Option<String>,
    pub status: u16,
    /// The RFC 6749 error code when refused.
    pub error: Option<String>,
}

impl RecordedTokenRequest {
    /// The first value of a form parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        first_param(&self.params, name)
    }
}

/// One request to `/revoke`.
#[derive(Debug, Clone)]
pub struct RecordedRevocation {
    /// [`token_hash`] of the `token` parameter.
    pub token_hash: Option<String>,
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    /// What was revoked; `None` for an unknown token or another client's.
    pub revoked: Option<TokenKind>,
}

/// Everything the authorization server was asked, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) registrations: Vec<RecordedRegistration>,
    pub(crate) authorizations: Vec<RecordedAuthorization>,
    pub(crate) token_requests: Vec<RecordedTokenRequest>,
    pub(crate) revocations: Vec<RecordedRevocation>,
}

pub(crate) fn first_param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A parameter given more than once (RFC 6749 §3.1, §3.2), `resource`
/// excepted: RFC 8707 allows several.
pub(crate) fn repeated_param(params: &[(String, String)]) -> Option<&str> {
    params.iter().enumerate().find_map(|(i, (name, _))| {
        (name != "resource" && params[..i].iter().any(|(earlier, _)| earlier == name))
            .then_some(name.as_str())
    })
}

/// Lower-case hex SHA-256 of a token: how logs name tokens, so tests can
/// match a token they hold against a log entry.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// An unguessable opaque value: `prefix` + `bytes` random bytes, base64url.
/// Seconds since the Unix epoch (JWT times).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

pub(crate) fn random_token(prefix: &str, bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::fill(&mut buffer[..]);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(buffer))
}

/// RFC 7636 S256: base64url(SHA-256(verifier)).
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}
