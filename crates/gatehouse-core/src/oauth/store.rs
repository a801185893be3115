//! Where OAuth state lives: each server's grant (tokens, the client they
//! were issued to, the authorization server's metadata) per server and
//! issuer, and dynamic client registrations per issuer — in the vault, or in
//! memory only for `token_storage = "memory"`.
//!
//! [`GrantStore`] is the rmcp `CredentialStore` of one server. rmcp calls
//! `load` on every MCP request, so it answers from memory and writes through
//! to the vault. Refreshes are serialized in this process by a mutex and
//! across processes (the CLI beside the app) by a file lock, and a refresh
//! token rotated by another process is picked up before refreshing again.
//!
//! Credentials go only where they were issued. Each grant records the
//! issuer, the client and the authorization server's metadata it was
//! obtained with; the server's rmcp `AuthorizationManager` is configured
//! from exactly that record, and the store remembers which record that was
//! (its [`GrantBinding`]). `load` hands rmcp the tokens only while the grant
//! in memory is the one the manager was configured for, so a grant that
//! changed underneath (another process authorized the server at another
//! authorization server) is never refreshed or revoked with the wrong
//! endpoints or client secret. A new authorization never writes here until
//! it has succeeded ([`GrantStore::commit`]); until then its tokens, client
//! and metadata live with the flow ([`PendingCredentials`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use oauth2::TokenResponse as _;
use rmcp::transport::auth::{
    AuthError, AuthorizationMetadata, CredentialRefreshGuard, CredentialStore, StateStore,
    StoredAuthorizationState, StoredCredentials,
};
use serde::{Deserialize, Serialize};

use crate::config::{OAuthGrant, TokenStorage};
use crate::fsutil::FileLock;
use crate::vault::{Vault, VaultError};

/// How a client came to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClientKind {
    /// Registered by us through RFC 7591 dynamic client registration.
    Dynamic,
    /// Registered by the person ahead of time (config `client_id`).
    Preregistered,
    /// A Client ID Metadata Document URL.
    MetadataDocument,
}

/// The client a grant was issued to.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct ClientRecord {
    pub(crate) client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<String>,
    pub(crate) redirect_uri: String,
    pub(crate) kind: ClientKind,
    #[serde(default)]
    pub(crate) registered_at: u64,
    /// How the client sends its secret to the token endpoint, as the
    /// authorization server said when it registered the client (RFC 7591
    /// `token_endpoint_auth_method`); `None` when it did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auth_method: Option<String>,
}

impl ClientRecord {
    /// How registration said the secret is sent, when it named a way
    /// Gatehouse knows: `client_secret_basic` or `client_secret_post`.
    pub(crate) fn registered_secret_method(&self) -> Option<&str> {
        self.client_secret.as_ref()?;
        self.auth_method
            .as_deref()
            .filter(|m| matches!(*m, "client_secret_basic" | "client_secret_post"))
    }
}

impl std::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("redirect_uri", &self.redirect_uri)
            .field("kind", &self.kind)
            .field("auth_method", &self.auth_method)
            .finish()
    }
}

/// Everything needed to use (and refresh, and revoke) one server's tokens
/// without a browser.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct GrantRecord {
    pub(crate) credentials: StoredCredentials,
    pub(crate) client: ClientRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metadata: Option<AuthorizationMetadata>,
    pub(crate) saved_at: u64,
    /// The MCP server URL the tokens were issued for. A grant is only ever
    /// used for that URL: if the server's address changes, its tokens are
    /// not sent to the new one. (Absent in grants saved before this was
    /// recorded: those are never used.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resource: Option<String>,
    /// The last 403 `insufficient_scope` challenge the server answered these
    /// tokens with: the next authorization asks for what it demands, even
    /// in another process (the CLI's `auth` after its `call` was refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) step_up_challenge: Option<String>,
    /// How the tokens were obtained. A grant without a person has its
    /// tokens obtained again the same way, instead of refreshed.
    #[serde(default, skip_serializing_if = "is_authorization_code")]
    pub(crate) grant: OAuthGrant,
    /// The key the tokens were obtained with a DPoP proof of (RFC 9449):
    /// their refreshes are signed with it, and a bound access token is sent
    /// only with its proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dpop: Option<super::dpop::DpopKey>,
}

fn is_authorization_code(grant: &OAuthGrant) -> bool {
    *grant == OAuthGrant::AuthorizationCode
}

impl GrantRecord {
    pub(crate) fn issuer(&self) -> String {
        self.credentials
            .issuer
            .clone()
            .or_else(|| self.metadata.as_ref().and_then(|m| m.issuer.clone()))
            .unwrap_or_else(|| "unknown".into())
    }

    pub(crate) fn has_token(&self) -> bool {
        self.credentials.token_response.is_some()
    }

    /// The access token's lifetime in seconds, as far as it is known.
    fn lifetime(&self) -> Option<u64> {
        let token = self.credentials.token_response.as_ref()?;
        Some(token.expires_in()?.as_secs().min(MAX_TOKEN_LIFETIME))
    }

    /// When the access token expires, in Unix seconds.
    pub(crate) fn expires_at(&self) -> Option<u64> {
        Some(
            self.credentials
                .token_received_at?
                .saturating_add(self.lifetime()?),
        )
    }

    /// When to refresh: at 80 % of the token's lifetime, or before the
    /// stretch in which rmcp refreshes a token on use if that comes first
    /// (tokens that live under two and a half minutes), and never sooner
    /// than `MIN_REFRESH_AFTER` after the token arrived (a server that hands
    /// out one-second tokens is not refreshed in a tight loop). The
    /// scheduled refresh is the one coordinated across processes
    /// ([`GrantStore::lock_refresh_decision`]); rmcp's on-use refresh is
    /// not, so ours should come first. A grant without a person is due at
    /// the same moment: its tokens are obtained again, refresh token or not.
    pub(crate) fn refresh_at(&self) -> Option<u64> {
        if !self.grant.is_unattended() {
            self.credentials.token_response.as_ref()?.refresh_token()?;
        }
        let lifetime = self.lifetime()?;
        let before_on_use = lifetime.saturating_sub(on_use_refresh_window(lifetime) + 1);
        let after = (lifetime / 5 * 4).min(before_on_use).max(MIN_REFRESH_AFTER);
        Some(self.credentials.token_received_at?.saturating_add(after))
    }

    /// Whether the access token is in the stretch before its expiry where
    /// rmcp refreshes it before use, or one second from it.
    fn near_expiry(&self, now: u64) -> bool {
        let (Some(expires_at), Some(lifetime)) = (self.expires_at(), self.lifetime()) else {
            return false;
        };
        expires_at.saturating_sub(now) <= on_use_refresh_window(lifetime)
    }

    /// The key to prove possession of `access_token` with, when that is the
    /// grant's access token and the authorization server bound it to the
    /// grant's key (`token_type` DPoP).
    fn proof_key_for(&self, access_token: &str) -> Option<&super::dpop::DpopKey> {
        let token = self.credentials.token_response.as_ref()?;
        (token.access_token().secret() == access_token
            && super::dpop::is_bound_type(token.token_type().as_ref()))
        .then_some(self.dpop.as_ref())
        .flatten()
    }

    fn access_token(&self) -> Option<&str> {
        self.credentials
            .token_response
            .as_ref()
            .map(|t| t.access_token().secret().as_str())
    }

    /// What the front ends may show about the grant (never a token).
    pub(crate) fn view(&self) -> crate::api::OAuthView {
        crate::api::OAuthView {
            expires_at: self.has_token().then(|| self.expires_at()).flatten(),
            scopes: self.credentials.granted_scopes.clone(),
            issuer: self.credentials.issuer.clone(),
        }
    }

    fn refresh_token(&self) -> Option<String> {
        self.credentials
            .token_response
            .as_ref()
            .and_then(|t| t.refresh_token().map(|r| r.secret().clone()))
    }
}

/// What a grant's credentials may be sent with: the issuer that issued
/// them, the client they were issued to, and the token endpoint recorded
/// when they were obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantBinding {
    issuer: String,
    client_id: String,
    token_endpoint: Option<String>,
}

impl GrantBinding {
    fn of(grant: &GrantRecord) -> Self {
        Self {
            issuer: grant.issuer(),
            client_id: grant.client.client_id.clone(),
            token_endpoint: grant.metadata.as_ref().map(|m| m.token_endpoint.clone()),
        }
    }
}

/// The credential store of an authorization in progress: the tokens its
/// code exchange obtains stay here, apart from the server's grant, until the
/// flow has succeeded and commits them.
#[derive(Clone, Default)]
pub(crate) struct PendingCredentials {
    obtained: Arc<Mutex<Option<StoredCredentials>>>,
    /// The flow sends DPoP proofs: a DPoP token is what it asked for.
    proved: Arc<std::sync::atomic::AtomicBool>,
}

impl PendingCredentials {
    /// The flow's token requests carry DPoP proofs.
    pub(crate) fn expect_dpop(&self) {
        self.proved
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The tokens the flow obtained, once.
    pub(crate) fn take(&self) -> Option<StoredCredentials> {
        self.obtained
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

#[async_trait]
impl CredentialStore for PendingCredentials {
    async fn load(&self) -> Result<Option<StoredCredentials>, AuthError> {
        Ok(self
            .obtained
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }

    async fn save(&self, credentials: StoredCredentials) -> Result<(), AuthError> {
        let proved = self.proved.load(std::sync::atomic::Ordering::Relaxed);
        let credentials = checked(credentials, proved)?;
        *self.obtained.lock().unwrap_or_else(|e| e.into_inner()) = Some(credentials);
        Ok(())
    }

    async fn clear(&self) -> Result<(), AuthError> {
        self.take();
        Ok(())
    }
}

/// Longest token lifetime believed (ten years); beyond it is nonsense.
const MAX_TOKEN_LIFETIME: u64 = 10 * 365 * 24 * 3600;
/// Soonest background refresh after a token arrived, in seconds.
const MIN_REFRESH_AFTER: u64 = 2;

/// How long before its expiry rmcp refreshes an access token when it is
/// about to be used (`AuthorizationManager::get_access_token`: less than
/// `min(30 s, lifetime / 2)` left, at least one second).
fn on_use_refresh_window(lifetime: u64) -> u64 {
    (lifetime / 2).clamp(1, 30)
}
/// Largest access or refresh token accepted: it has to fit in a header.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Checks tokens from the authorization server before they are kept:
/// Bearer, or DPoP when a proof was sent for them (RFC 6749 §7.1: a client
/// must not use a token type it does not understand), of a size and alphabet that fit an HTTP header, and a
/// lifetime that means something (none is believed above ten years; a
/// lifetime of zero is read as unknown).
fn checked(
    mut credentials: StoredCredentials,
    proved: bool,
) -> Result<StoredCredentials, AuthError> {
    let Some(token) = credentials.token_response.as_mut() else {
        return Ok(credentials);
    };
    let refuse = |why: String| Err(AuthError::TokenExchangeFailed(why));
    let token_type = token.token_type().as_ref().to_owned();
    let bound = proved && super::dpop::is_bound_type(&token_type);
    if !token_type.eq_ignore_ascii_case("bearer") && !bound {
        return refuse(format!(
            "the authorization server issued a {:?} token; Gatehouse can only use Bearer tokens{}",
            crate::oauth::short(&token_type),
            if proved {
                ""
            } else {
                " and DPoP tokens it asked for"
            }
        ));
    }
    let header_safe = |t: &str| {
        !t.is_empty() && t.len() <= MAX_TOKEN_BYTES && t.bytes().all(|b| b.is_ascii_graphic())
    };
    if !header_safe(token.access_token().secret()) {
        return refuse(
            "the authorization server issued an access token that cannot be sent in a header (empty, over 16 KiB, or with spaces or control characters)".into(),
        );
    }
    if token
        .refresh_token()
        .is_some_and(|r| !header_safe(r.secret()))
    {
        return refuse(
            "the authorization server issued an unusable refresh token (empty, over 16 KiB, or with spaces or control characters)".into(),
        );
    }
    match token.expires_in().map(|d| d.as_secs()) {
        Some(0) => token.set_expires_in(None),
        Some(seconds) if seconds > MAX_TOKEN_LIFETIME => {
            token.set_expires_in(Some(&std::time::Duration::from_secs(MAX_TOKEN_LIFETIME)));
        }
        _ => {}
    }
    Ok(credentials)
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn store_error(error: VaultError) -> AuthError {
    AuthError::CredentialStoreError(error.to_string())
}

/// One server's grant, cached in memory and written through to the vault.
#[derive(Clone)]
pub(crate) struct GrantStore {
    inner: Arc<GrantInner>,
}

struct GrantInner {
    server_key: String,
    /// The server URL grants must have been issued for.
    resource: String,
    storage: TokenStorage,
    vault: Vault,
    lock_path: PathBuf,
    /// See [`GrantStore::lock_refresh_decision`].
    decision_path: PathBuf,
    current: Mutex<Option<GrantRecord>>,
    /// The grant the server's `AuthorizationManager` is configured for.
    bound: Mutex<Option<GrantBinding>>,
    refresh: Arc<tokio::sync::Mutex<()>>,
    /// Counts the refresh tokens the authorization server rejected. A watch,
    /// not a `Notify`: a rejection nobody was waiting for must not linger and
    /// end the next session, the one a new authorization started.
    rejections: tokio::sync::watch::Sender<u64>,
}

impl GrantStore {
    pub(crate) fn new(
        server_key: &str,
        resource: &str,
        storage: TokenStorage,
        vault: Vault,
    ) -> Self {
        let lock_path = vault
            .path()
            .with_file_name(format!("oauth-refresh-{server_key}"));
        let decision_path = vault
            .path()
            .with_file_name(format!("oauth-refresh-decision-{server_key}"));
        Self {
            inner: Arc::new(GrantInner {
                server_key: server_key.to_owned(),
                resource: resource.to_owned(),
                storage,
                vault,
                lock_path,
                decision_path,
                current: Mutex::new(None),
                bound: Mutex::new(None),
                refresh: Arc::new(tokio::sync::Mutex::new(())),
                rejections: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<GrantRecord>> {
        self.inner.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The grant in memory.
    pub(crate) fn grant(&self) -> Option<GrantRecord> {
        self.current().clone()
    }

    /// Holds the server's refresh decision across processes, with the
    /// newest grant read from the vault: whoever holds it decides whether
    /// the grant still needs a refresh and does it, so a grant shared by
    /// the app, proxies and the gateway is refreshed once per expiry, not
    /// once per process. Separate from the refresh guard rmcp takes inside
    /// the refresh itself. `None` for grants kept only in memory.
    pub(crate) async fn lock_refresh_decision(&self) -> Result<Option<FileLock>, AuthError> {
        if self.inner.storage == TokenStorage::Memory {
            return Ok(None);
        }
        self.lock_and_reload(self.inner.decision_path.clone())
            .await
            .map(Some)
    }

    /// Takes the file lock at `path` (on the blocking pool), then reads the
    /// newest grant: whatever another process did before it let go is seen.
    async fn lock_and_reload(&self, path: PathBuf) -> Result<FileLock, AuthError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let lock = FileLock::acquire(&path)?;
            store.reload().map_err(std::io::Error::other)?;
            Ok::<_, std::io::Error>(lock)
        })
        .await
        .map_err(|e| AuthError::CredentialStoreError(e.to_string()))?
        .map_err(|e| AuthError::CredentialStoreError(e.to_string()))
    }

    /// The key to prove possession of `access_token` with, when it is the
    /// grant's and bound to the grant's DPoP key.
    pub(crate) fn proof_key_for(&self, access_token: &str) -> Option<super::dpop::DpopKey> {
        self.current()
            .as_ref()
            .and_then(|g| g.proof_key_for(access_token).cloned())
    }

    /// The access token in memory, to tell later whether it was replaced.
    pub(crate) fn access_token_in_memory(&self) -> Option<String> {
        self.current()
            .as_ref()
            .and_then(|g| g.access_token().map(str::to_owned))
    }

    /// Reads the newest grant from the vault into memory (blocking).
    pub(crate) fn reload(&self) -> Result<Option<GrantRecord>, VaultError> {
        if self.inner.storage == TokenStorage::Memory {
            return Ok(self.grant());
        }
        let key = self.inner.server_key.clone();
        let resource = self.inner.resource.as_str();
        let newest = self.inner.vault.read(|doc| {
            doc.oauth_credentials.get(&key).and_then(|by_issuer| {
                by_issuer
                    .values()
                    .filter_map(|v| serde_json::from_value::<GrantRecord>(v.clone()).ok())
                    // Unbound grants (saved before grants recorded their
                    // server) are not trusted with any address.
                    .filter(|g| g.resource.as_deref() == Some(resource))
                    .max_by_key(|g| g.saved_at)
            })
        })?;
        *self.current() = newest.clone();
        Ok(newest)
    }

    fn bound(&self) -> std::sync::MutexGuard<'_, Option<GrantBinding>> {
        self.inner.bound.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that the server's manager is now configured for `grant`.
    pub(crate) fn bind(&self, grant: &GrantRecord) {
        *self.bound() = Some(GrantBinding::of(grant));
    }

    /// Whether the server's manager is configured for `grant`.
    pub(crate) fn is_bound_to(&self, grant: &GrantRecord) -> bool {
        self.bound().as_ref() == Some(&GrantBinding::of(grant))
    }

    /// Makes a grant obtained by a finished authorization the server's grant
    /// (in memory and in the vault), in place of whatever it had. Grants of
    /// other issuers stay in the vault until [`Self::forget_issuer`].
    pub(crate) async fn commit(&self, record: GrantRecord) -> Result<(), AuthError> {
        *self.current() = Some(record.clone());
        self.bind(&record);
        let issuer = record.issuer();
        self.persist_async(Some(record), issuer).await
    }

    /// Deletes the grant kept for one issuer (the one a successful switch
    /// to another authorization server replaced).
    pub(crate) async fn forget_issuer(&self, issuer: String) -> Result<(), AuthError> {
        self.persist_async(None, issuer).await
    }

    /// Watches for refresh tokens being rejected from now on.
    pub(crate) fn rejections(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.rejections.subscribe()
    }

    fn persist(&self, record: Option<&GrantRecord>, issuer: &str) -> Result<(), VaultError> {
        if self.inner.storage == TokenStorage::Memory {
            return Ok(());
        }
        let key = self.inner.server_key.clone();
        let value = record.map(|r| serde_json::to_value(r).expect("grant records serialize"));
        self.inner.vault.update(|doc| match value {
            Some(value) => {
                doc.oauth_credentials
                    .entry(key)
                    .or_default()
                    .insert(issuer.to_owned(), value);
            }
            None => {
                if let Some(by_issuer) = doc.oauth_credentials.get_mut(&key) {
                    by_issuer.remove(issuer);
                    if by_issuer.is_empty() {
                        doc.oauth_credentials.remove(&key);
                    }
                }
            }
        })
    }

    async fn persist_async(
        &self,
        record: Option<GrantRecord>,
        issuer: String,
    ) -> Result<(), AuthError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.persist(record.as_ref(), &issuer))
            .await
            .map_err(|e| AuthError::CredentialStoreError(e.to_string()))?
            .map_err(store_error)
    }

    /// Holds this server's authorization lock (across processes) for as
    /// long as the guard lives; refuses when another process holds it.
    pub(crate) fn try_lock_authorization(
        &self,
    ) -> Result<Option<FileLock>, crate::oauth::AuthorizationError> {
        let path = self
            .inner
            .vault
            .path()
            .with_file_name(format!("oauth-authorize-{}", self.inner.server_key));
        match FileLock::try_acquire(&path) {
            Ok(Some(lock)) => Ok(Some(lock)),
            Ok(None) => Err(crate::oauth::AuthorizationError::InProgressElsewhere),
            // A data directory that cannot hold a lock file does not stop
            // the person from authorizing.
            Err(error) => {
                tracing::info!(%error, "no cross-process authorization lock");
                Ok(None)
            }
        }
    }

    /// Keeps the server's demand for more permissions with its grant.
    pub(crate) async fn remember_step_up(&self, challenge: String) -> Result<(), AuthError> {
        let record = {
            let mut current = self.current();
            let Some(grant) = current.as_mut() else {
                return Ok(());
            };
            grant.step_up_challenge = Some(challenge);
            grant.clone()
        };
        let issuer = record.issuer();
        self.persist_async(Some(record), issuer).await
    }

    /// The authorization server the pre-registered client `client_id` was
    /// first used with by this server, if it was (blocking).
    pub(crate) fn client_issuer(&self, client_id: &str) -> Result<Option<String>, VaultError> {
        if !self.inner.vault.path().exists() {
            return Ok(None);
        }
        let key = self.inner.server_key.clone();
        self.inner.vault.read(|doc| {
            doc.client_issuers
                .get(&key)
                .and_then(|by_client| by_client.get(client_id).cloned())
        })
    }

    /// Records that the pre-registered client `client_id` belongs to
    /// `issuer` (blocking). A client already recorded keeps its issuer.
    pub(crate) fn pin_client(&self, client_id: &str, issuer: &str) -> Result<(), VaultError> {
        if self.client_issuer(client_id)?.is_some() {
            return Ok(());
        }
        let key = self.inner.server_key.clone();
        self.inner.vault.update(|doc| {
            doc.client_issuers
                .entry(key)
                .or_default()
                .entry(client_id.to_owned())
                .or_insert_with(|| issuer.to_owned());
        })
    }

    /// Deletes every grant of this server (sign-out, removal).
    pub(crate) fn forget_all(&self) -> Result<(), VaultError> {
        *self.current() = None;
        if self.inner.storage == TokenStorage::Memory {
            return Ok(());
        }
        forget_grants(&self.inner.vault, &self.inner.server_key)
    }
}

#[async_trait]
impl CredentialStore for GrantStore {
    async fn load(&self) -> Result<Option<StoredCredentials>, AuthError> {
        // rmcp refreshes a token near its expiry before using it. Another
        // process sharing the vault may have refreshed it already: read
        // the newest grant first (cheap when the vault file is unchanged),
        // so that process's refresh is used rather than repeated.
        let stale = self.inner.storage != TokenStorage::Memory
            && self
                .current()
                .as_ref()
                .is_some_and(|g| g.near_expiry(now()));
        if stale {
            let store = self.clone();
            let read = tokio::task::spawn_blocking(move || store.reload().map(drop))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            if let Err(error) = read {
                tracing::debug!(server = %self.inner.server_key, %error, "could not read the newest grant");
            }
        }
        let current = self.current();
        let Some(grant) = current.as_ref() else {
            return Ok(None);
        };
        // Only the grant the manager was configured for: any other would be
        // sent with another grant's client and endpoints.
        if !self.is_bound_to(grant) {
            tracing::info!(
                server = %self.inner.server_key,
                "the stored grant is not the one this connection was set up for; not using it"
            );
            return Ok(None);
        }
        Ok(Some(grant.credentials.clone()))
    }

    async fn save(&self, credentials: StoredCredentials) -> Result<(), AuthError> {
        let proved = self.current().as_ref().is_some_and(|g| g.dpop.is_some());
        let credentials = checked(credentials, proved)?;
        let record = {
            let mut current = self.current();
            // Only refreshes arrive here (a new authorization commits its
            // grant itself): they keep the grant's client, metadata and the
            // permissions it was found to lack.
            let Some(grant) = current
                .as_ref()
                .filter(|grant| grant.client.client_id == credentials.client_id)
                .filter(|grant| self.is_bound_to(grant))
            else {
                return Err(AuthError::CredentialStoreError(
                    "tokens arrived for an unknown client".into(),
                ));
            };
            let record = GrantRecord {
                credentials,
                client: grant.client.clone(),
                metadata: grant.metadata.clone(),
                saved_at: now(),
                resource: Some(self.inner.resource.clone()),
                step_up_challenge: grant.step_up_challenge.clone(),
                grant: grant.grant,
                dpop: grant.dpop.clone(),
            };
            *current = Some(record.clone());
            record
        };
        let issuer = record.issuer();
        // A rotated refresh token is written before anything else happens.
        self.persist_async(Some(record), issuer).await
    }

    async fn clear(&self) -> Result<(), AuthError> {
        let previous = self.current().take();
        if let Some(previous) = previous {
            self.persist_async(None, previous.issuer()).await?;
        }
        Ok(())
    }

    async fn on_refresh_token_rejected(
        &self,
        rejected: &StoredCredentials,
    ) -> Result<(), AuthError> {
        let rejected_token = rejected
            .token_response
            .as_ref()
            .and_then(|t| t.refresh_token().map(|r| r.secret().clone()));
        let cleared = {
            let mut current = self.current();
            match current.as_mut() {
                Some(grant) if grant.refresh_token() == rejected_token => {
                    // Keep the client and metadata; the tokens are dead.
                    grant.credentials.token_response = None;
                    grant.credentials.token_received_at = None;
                    grant.saved_at = now();
                    Some(grant.clone())
                }
                _ => None,
            }
        };
        if let Some(grant) = cleared {
            let issuer = grant.issuer();
            self.persist_async(Some(grant), issuer).await?;
            self.inner.rejections.send_modify(|count| *count += 1);
        }
        Ok(())
    }

    async fn acquire_refresh_guard(&self) -> Result<Option<CredentialRefreshGuard>, AuthError> {
        let in_process = self.inner.refresh.clone().lock_owned().await;
        if self.inner.storage == TokenStorage::Memory {
            return Ok(Some(CredentialRefreshGuard::new(in_process)));
        }
        // Another process may have refreshed (and rotated) meanwhile.
        let file_lock = self.lock_and_reload(self.inner.lock_path.clone()).await?;
        Ok(Some(CredentialRefreshGuard::new((in_process, file_lock))))
    }
}

/// Deletes everything kept for a server id: its grants, whatever they were
/// issued for, and the authorization servers its pre-registered clients
/// belong to (removal, a changed address, OAuth switched off).
pub(crate) fn forget_server(vault: &Vault, key: &str) -> Result<(), VaultError> {
    forget_grants(vault, key)?;
    if !vault.path().exists() {
        return Ok(());
    }
    let present = vault.read(|doc| doc.client_issuers.contains_key(key))?;
    if !present {
        return Ok(());
    }
    vault.update(|doc| {
        doc.client_issuers.remove(key);
    })
}

/// Deletes every grant stored for a server id, whatever it was issued for
/// (sign-out; and, through [`forget_server`], removal).
pub(crate) fn forget_grants(vault: &Vault, key: &str) -> Result<(), VaultError> {
    if !vault.path().exists() {
        return Ok(());
    }
    let present = vault.read(|doc| doc.oauth_credentials.contains_key(key))?;
    if !present {
        return Ok(());
    }
    vault.update(|doc| {
        doc.oauth_credentials.remove(key);
    })
}

/// Moves a server's grants to its new id (a rename in the editor), so the
/// person does not have to authorize again. Grants already stored under
/// the new id are kept.
pub(crate) fn rename_grants(vault: &Vault, old_key: &str, new_key: &str) -> Result<(), VaultError> {
    if old_key == new_key {
        return Ok(());
    }
    let present = vault.read(|doc| {
        doc.oauth_credentials.contains_key(old_key) || doc.client_issuers.contains_key(old_key)
    })?;
    if !present {
        return Ok(());
    }
    vault.update(|doc| {
        if let Some(grants) = doc.oauth_credentials.remove(old_key) {
            doc.oauth_credentials
                .entry(new_key.to_owned())
                .or_insert(grants);
        }
        if let Some(pins) = doc.client_issuers.remove(old_key) {
            doc.client_issuers.entry(new_key.to_owned()).or_insert(pins);
        }
    })
}

/// Dynamic client registrations, per issuer, shared by all servers.
pub(crate) struct Registrations;

impl Registrations {
    /// Stored registrations for `issuer`, newest first.
    pub(crate) fn for_issuer(vault: &Vault, issuer: &str) -> Result<Vec<ClientRecord>, VaultError> {
        let mut records: Vec<ClientRecord> = vault.read(|doc| {
            doc.client_registrations
                .get(issuer)
                .map(|by_id| {
                    by_id
                        .values()
                        .filter_map(|v| serde_json::from_value(v.clone()).ok())
                        .collect()
                })
                .unwrap_or_default()
        })?;
        records.sort_by_key(|r| std::cmp::Reverse(r.registered_at));
        Ok(records)
    }

    pub(crate) fn save(
        vault: &Vault,
        issuer: &str,
        record: &ClientRecord,
    ) -> Result<(), VaultError> {
        let value = serde_json::to_value(record).expect("client records serialize");
        vault.update(|doc| {
            doc.client_registrations
                .entry(issuer.to_owned())
                .or_default()
                .insert(record.client_id.clone(), value);
        })
    }

    /// Removes a registration no server's grant uses any more.
    pub(crate) fn remove_if_unused(
        vault: &Vault,
        issuer: &str,
        client_id: &str,
    ) -> Result<(), VaultError> {
        vault.update(|doc| {
            let in_use = doc.oauth_credentials.values().any(|by_issuer| {
                by_issuer.values().any(|grant| {
                    grant.pointer("/client/client_id").and_then(|v| v.as_str()) == Some(client_id)
                })
            });
            if !in_use && let Some(by_id) = doc.client_registrations.get_mut(issuer) {
                by_id.remove(client_id);
                if by_id.is_empty() {
                    doc.client_registrations.remove(issuer);
                }
            }
        })
    }
}

/// PKCE verifiers and CSRF states of authorizations in progress, in memory;
/// abandoned ones expire after ten minutes.
#[derive(Clone, Default)]
pub(crate) struct PendingStates {
    states: Arc<Mutex<BTreeMap<String, StoredAuthorizationState>>>,
}

const STATE_LIFETIME_SECS: u64 = 600;

#[async_trait]
impl StateStore for PendingStates {
    async fn save(
        &self,
        csrf_token: &str,
        state: StoredAuthorizationState,
    ) -> Result<(), AuthError> {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let now = now();
        states.retain(|_, s| now.saturating_sub(s.created_at) < STATE_LIFETIME_SECS);
        states.insert(csrf_token.to_owned(), state);
        Ok(())
    }

    async fn load(&self, csrf_token: &str) -> Result<Option<StoredAuthorizationState>, AuthError> {
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        Ok(states
            .get(csrf_token)
            .filter(|s| now().saturating_sub(s.created_at) < STATE_LIFETIME_SECS)
            .cloned())
    }

    async fn delete(&self, csrf_token: &str) -> Result<(), AuthError> {
        self.states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(csrf_token);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(token: serde_json::Value) -> StoredCredentials {
        let response = serde_json::from_value(token).unwrap();
        StoredCredentials::new("client".into(), Some(response), vec![], Some(1_000))
    }

    fn grant(credentials: StoredCredentials) -> GrantRecord {
        GrantRecord {
            credentials,
            client: ClientRecord {
                client_id: "client".into(),
                client_secret: None,
                redirect_uri: "http://127.0.0.1:1/callback".into(),
                kind: ClientKind::Dynamic,
                registered_at: 0,
                auth_method: None,
            },
            metadata: None,
            saved_at: 0,
            resource: None,
            step_up_challenge: None,
            grant: OAuthGrant::AuthorizationCode,
            dpop: None,
        }
    }

    #[test]
    fn absurd_lifetimes_neither_overflow_nor_loop() {
        for expires_in in [u64::MAX, 1 << 62] {
            let kept = checked_bearer(credentials(serde_json::json!({
                "access_token": "at", "token_type": "Bearer",
                "refresh_token": "rt", "expires_in": expires_in,
            })))
            .unwrap();
            let record = grant(kept);
            assert_eq!(record.expires_at(), Some(1_000 + MAX_TOKEN_LIFETIME));
            assert!(record.refresh_at().unwrap() > 1_000 + MAX_TOKEN_LIFETIME / 2);
        }
        // Zero means unknown: no background refresh at all.
        let zero = grant(
            checked_bearer(credentials(serde_json::json!({
                "access_token": "at", "token_type": "bearer",
                "refresh_token": "rt", "expires_in": 0,
            })))
            .unwrap(),
        );
        assert_eq!(zero.refresh_at(), None);
        // One second: refreshed no sooner than two seconds after arrival.
        let short = grant(credentials(serde_json::json!({
            "access_token": "at", "token_type": "Bearer",
            "refresh_token": "rt", "expires_in": 1,
        })));
        assert_eq!(short.refresh_at(), Some(1_000 + MIN_REFRESH_AFTER));
    }

    #[test]
    fn the_scheduled_refresh_comes_before_rmcps_on_use_refresh() {
        let refresh_after = |expires_in: u64| {
            grant(credentials(serde_json::json!({
                "access_token": "at", "token_type": "Bearer",
                "refresh_token": "rt", "expires_in": expires_in,
            })))
            .refresh_at()
            .unwrap()
                - 1_000
        };
        // An hour: at 80 %, well before the last 30 seconds.
        assert_eq!(refresh_after(3600), 2880);
        // A minute: before the last 30 seconds, not at 48 s.
        assert_eq!(refresh_after(60), 29);
        // Six seconds: before the last three.
        assert_eq!(refresh_after(6), 2);
        // rmcp refreshes on use once less than the window is left.
        for lifetime in 3..=600 {
            let at = refresh_after(lifetime);
            assert!(
                at + on_use_refresh_window(lifetime) <= lifetime,
                "a {lifetime}-second token refreshed at {at} s"
            );
        }
    }

    #[tokio::test]
    async fn a_grant_is_handed_out_only_to_the_manager_set_up_for_it() {
        let vault = Vault::new(
            std::env::temp_dir().join("gatehouse-unused-vault.age"),
            Arc::new(crate::vault::MemoryKeyStore::default()),
            None,
        );
        let store = GrantStore::new("demo", "https://mcp.example/", TokenStorage::Memory, vault);
        let token = serde_json::json!({"access_token": "at", "token_type": "Bearer", "refresh_token": "rt"});
        let mut from_a = grant(credentials(token.clone()));
        from_a.credentials.issuer = Some("https://a.example".into());
        let mut from_b = grant(credentials(token));
        from_b.credentials.issuer = Some("https://b.example".into());

        *store.current() = Some(from_a.clone());
        assert!(store.load().await.unwrap().is_none(), "not bound yet");
        store.bind(&from_a);
        assert!(store.load().await.unwrap().is_some());
        // Another process replaced the grant with one from another issuer:
        // the manager set up for A must not send it anywhere.
        *store.current() = Some(from_b.clone());
        assert!(store.load().await.unwrap().is_none());
        let refreshed = from_b.credentials.clone();
        assert!(
            store.save(refreshed).await.is_err(),
            "no refresh of B's grant through A's manager"
        );
        store.bind(&from_b);
        assert!(store.load().await.unwrap().is_some());
    }

    #[test]
    fn tokens_gatehouse_cannot_send_are_refused() {
        let refused = |token: serde_json::Value| checked_bearer(credentials(token)).is_err();
        assert!(refused(
            serde_json::json!({"access_token": "at", "token_type": "mac"})
        ));
        assert!(refused(
            serde_json::json!({"access_token": "a".repeat(MAX_TOKEN_BYTES + 1), "token_type": "Bearer"})
        ));
        assert!(refused(
            serde_json::json!({"access_token": "a\r\nX-Evil: 1", "token_type": "Bearer"})
        ));
        assert!(refused(
            serde_json::json!({"access_token": "at", "token_type": "Bearer", "refresh_token": "r t"})
        ));
        assert!(!refused(
            serde_json::json!({"access_token": "a.b-c_d~e+f/g=", "token_type": "Bearer"})
        ));
        // A DPoP token only when a proof was sent for it.
        let dpop = serde_json::json!({"access_token": "at", "token_type": "DPoP"});
        assert!(refused(dpop.clone()));
        assert!(checked(credentials(dpop), true).is_ok());
    }

    fn checked_bearer(credentials: StoredCredentials) -> Result<StoredCredentials, AuthError> {
        checked(credentials, false)
    }
}
