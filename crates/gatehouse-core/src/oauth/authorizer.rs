//! One OAuth server's authorization state and the flow that obtains it.
//!
//! [`ServerAuth`] owns the server's rmcp `AuthClient` (whose shared
//! `AuthorizationManager` every MCP request of the server goes through), its
//! grant store and its pending states. It knows whether the server is ready
//! to connect, runs the browser flow — loopback listener bound before client
//! registration, PKCE, `state`, `resource`, scopes, `iss` — refreshes tokens
//! ahead of expiry, and signs out.
//!
//! The live manager is only ever configured from the server's grant: the
//! metadata and client recorded when its tokens were obtained. A new
//! authorization runs on a manager of its own, with its own discovery,
//! registration and tokens; only when it succeeds does it become the live
//! one (and a grant from an authorization server it replaced is revoked
//! there). A flow that fails or is cancelled leaves everything as it was,
//! so whatever a server's challenge names, the grant's tokens, refresh
//! token and client secret go to the authorization server that issued them
//! and nowhere else. A step-up that names another authorization server is
//! not followed without the person.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::transport::auth::{
    AuthClient, AuthError, AuthorizationManager, AuthorizationMetadata, OAuthClientConfig,
    WWWAuthenticateParams,
};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::discovery::{Discovery, discover};
use super::dpop::DpopKey;
use super::dpop::transport::BoundHttp;
use super::http::{SafeOAuthHttp, strip_resource_param};
use super::loopback::{Callback, CallbackListener, Delivery, ListenerError, Outcome, PasteHandle};
use super::store::{
    ClientKind, ClientRecord, GrantRecord, GrantStore, PendingCredentials, PendingStates,
    Registrations, now,
};
use super::unattended::{self, Credential};
use super::{AuthorizationError, ConsentSink};
use crate::config::{OAuthConfig, OAuthGrant, ServerConfig, TokenStorage, normalize_id};
use crate::connection::transport::SessionAware;
use crate::ssrf::ServerPolicy;
use crate::template::Template;
use crate::vault::Vault;

/// The name Gatehouse registers its clients under.
const CLIENT_NAME: &str = "Gatehouse";
/// Step-up re-authorizations allowed before a success resets the count.
pub(crate) const MAX_STEP_UPS: u32 = 3;
/// The longest one wait between refresh checks: short, so that a machine
/// waking from sleep notices a due refresh promptly (sleep timers do not
/// advance while it is suspended; the wall clock does).
const REFRESH_CHECK: Duration = Duration::from_secs(15);

/// Whether a server can connect without the person.
#[derive(Debug)]
pub(crate) enum Readiness {
    Ready,
    /// No usable tokens: the person has to authorize.
    NeedsConsent(String),
    /// Something failed that may pass (the network).
    Unavailable(String),
    /// The vault cannot be read (locked, no keyring): wait for the person.
    VaultUnavailable(String),
    /// Tokens without a person were refused (wrong credentials, a grant the
    /// authorization server does not offer): trying again will not help
    /// until the settings change or the person authorizes.
    Refused(String),
}

/// See the module documentation.
pub(crate) struct ServerAuth {
    server_id: String,
    url: Url,
    settings: OAuthConfig,
    vault: Vault,
    http: SafeOAuthHttp,
    store: GrantStore,
    client: AuthClient<BoundHttp>,
    /// The last `WWW-Authenticate` challenge the server sent.
    challenge: Mutex<Option<String>>,
    step_ups: AtomicU32,
    flow: tokio::sync::Mutex<()>,
    current_flow: Mutex<Option<(CancellationToken, PasteHandle, String)>>,
}

/// What to do after the server refused an access token
/// ([`ServerAuth::recover_from_rejection`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// A newer or refreshed token is in place: send the request again.
    Retry,
    /// Another process authorized again: connect afresh with its grant.
    Reconnect,
    /// Nothing to retry with: the person has to authorize.
    NeedsAuthorization,
}

impl ServerAuth {
    /// Prepares the server's OAuth state. Performs no network I/O.
    pub(crate) async fn new(
        server: &ServerConfig,
        vault: Vault,
        mcp_http: reqwest::Client,
    ) -> Result<Self, AuthorizationError> {
        let settings = server
            .oauth_settings()
            .cloned()
            .ok_or(AuthorizationError::NotOAuth)?;
        let url =
            Url::parse(&server.url).map_err(|e| AuthorizationError::Discovery(e.to_string()))?;
        // The server's class is learned from what its host resolves to
        // when the first OAuth request is made, not here.
        let http = SafeOAuthHttp::new(
            ServerPolicy::new(url.clone()),
            settings.send_resource_parameter,
        );
        let store = GrantStore::new(
            &normalize_id(&server.id),
            url.as_str(),
            settings.token_storage,
            vault.clone(),
        );
        http.prove_for_grants_of(store.clone());
        let mut manager = new_manager(&url, &http).await?;
        manager.set_credential_store(store.clone());
        Ok(Self {
            server_id: server.id.clone(),
            url,
            settings,
            vault,
            http,
            client: AuthClient::new(BoundHttp::new(mcp_http, store.clone()), manager),
            store,
            challenge: Mutex::new(None),
            step_ups: AtomicU32::new(0),
            flow: tokio::sync::Mutex::new(()),
            current_flow: Mutex::new(None),
        })
    }

    /// A transport whose every request carries this server's token.
    pub(crate) fn transport(
        &self,
        config: StreamableHttpClientTransportConfig,
    ) -> rmcp::transport::StreamableHttpClientTransport<SessionAware<AuthClient<BoundHttp>>> {
        rmcp::transport::StreamableHttpClientTransport::with_client(
            SessionAware(self.client.clone()),
            config,
        )
    }

    pub(crate) fn store(&self) -> &GrantStore {
        &self.store
    }

    /// Remembers the server's latest 401/403 challenge for the next flow.
    pub(crate) fn note_challenge(&self, challenge: Option<String>) {
        if challenge.is_some() {
            *self.challenge.lock().unwrap_or_else(|e| e.into_inner()) = challenge;
        }
    }

    /// Remembers (in the vault, with the grant) that the server wants more
    /// permissions, for an authorization started later or elsewhere.
    pub(crate) async fn remember_step_up(&self, challenge: &str) {
        if let Err(error) = self.store.remember_step_up(challenge.to_owned()).await {
            tracing::info!(server = %self.server_id, %error, "could not keep the step-up challenge");
        }
    }

    fn challenge(&self) -> Option<String> {
        self.challenge
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the server can connect with stored tokens; configures the
    /// live manager for them (their recorded metadata and client) when it can.
    pub(crate) async fn ensure_ready(&self) -> Readiness {
        let store = self.store.clone();
        let grant = match tokio::task::spawn_blocking(move || store.reload()).await {
            Ok(Ok(grant)) => grant,
            Ok(Err(e)) => return Readiness::VaultUnavailable(e.to_string()),
            Err(e) => return Readiness::Unavailable(e.to_string()),
        };
        let Some(grant) = grant.filter(GrantRecord::has_token) else {
            if self.settings.configured_grant() == Some(OAuthGrant::AuthorizationCode) {
                return Readiness::NeedsConsent("not authorized yet".into());
            }
            // Perhaps no person is needed: the authorization server decides.
            return match self.flow(None, FlowOrigin::Automatic, |_| {}, || {}).await {
                Ok(()) => Readiness::Ready,
                Err(error) => unattended_readiness(error),
            };
        };
        let mut manager = self.client.auth_manager.lock().await;
        if self.store.is_bound_to(&grant) {
            return Readiness::Ready;
        }
        // Discovery tells whether the server still uses the grant's
        // authorization server, and the resource indicator its refreshes
        // name. What it finds is never where the grant's credentials go:
        // they go to the endpoints recorded with the grant.
        let discovered = match discover(&manager, &self.http, &self.url, None).await {
            Ok(found) => {
                let found_issuer = found.metadata.issuer.as_deref();
                if let Some(stored) = grant.credentials.issuer.as_deref()
                    && found_issuer != Some(stored)
                {
                    return Readiness::NeedsConsent(format!(
                        "the server now uses a different authorization server ({}); authorize again to use it",
                        found_issuer
                            .map(super::short)
                            .unwrap_or_else(|| "unnamed".into())
                    ));
                }
                Some(found.metadata)
            }
            Err(AuthorizationError::Discovery(detail)) if grant.metadata.is_some() => {
                // The metadata cannot be fetched now: the copy kept with the
                // grant is enough for stored tokens to work offline.
                tracing::info!(server = %self.server_id, %detail, "discovery failed; using stored metadata");
                None
            }
            Err(AuthorizationError::Discovery(detail)) => return Readiness::Unavailable(detail),
            Err(other) => return Readiness::NeedsConsent(other.to_string()),
        };
        let Some(metadata) = grant.metadata.clone().or(discovered) else {
            return Readiness::Unavailable("no authorization server metadata".into());
        };
        match configure(&mut manager, &metadata, &grant.client) {
            Ok(()) => {
                self.store.bind(&grant);
                Readiness::Ready
            }
            Err(e) => Readiness::Unavailable(e.to_string()),
        }
    }

    /// The URL of the authorization in progress, if any.
    pub(crate) fn pending_url(&self) -> Option<String> {
        self.current_flow
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(_, _, url)| url.clone())
    }

    pub(crate) fn cancel_flow(&self) -> bool {
        match self
            .current_flow
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some((cancel, _, _)) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Hands the flow the URL the browser ended on (paste-back).
    pub(crate) async fn deliver_callback(&self, url: String) -> Delivery {
        let paste = self
            .current_flow
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(_, paste, _)| paste.clone());
        match paste {
            Some(paste) => paste.deliver(url).await,
            None => Delivery::NotWaiting,
        }
    }

    /// Runs the whole browser flow. `on_url` hears the authorization URL as
    /// soon as it is known, `on_exchange` when the browser came back.
    ///
    /// The flow has a manager of its own: nothing it discovers, registers or
    /// obtains touches the server's grant or its live manager until it has
    /// succeeded. `origin` says whether the person asked for it; a flow
    /// Gatehouse starts on its own (a step-up) refuses to move the server to
    /// another authorization server.
    ///
    /// A server whose tokens come without a person (client credentials, a
    /// workload's identity token) gets them here too, with no browser.
    pub(crate) async fn authorize(
        &self,
        sink: Arc<dyn ConsentSink>,
        origin: FlowOrigin,
        on_url: impl FnOnce(&str),
        on_exchange: impl FnOnce(),
    ) -> Result<(), AuthorizationError> {
        self.flow(Some(sink), origin, on_url, on_exchange).await
    }

    /// [`Self::authorize`]; without a `sink`, only a grant that needs no
    /// person is obtained ([`AuthorizationError::NeedsPerson`] otherwise).
    async fn flow(
        &self,
        sink: Option<Arc<dyn ConsentSink>>,
        origin: FlowOrigin,
        on_url: impl FnOnce(&str),
        on_exchange: impl FnOnce(),
    ) -> Result<(), AuthorizationError> {
        let _one_at_a_time = self
            .flow
            .try_lock()
            .map_err(|_| AuthorizationError::InProgress)?;
        // One at a time across processes too: two flows would each register
        // and the second's tokens would silently replace the first's.
        let _only_process = self.store.try_lock_authorization()?;
        let stored = match self.store.grant() {
            Some(grant) => Some(grant),
            // Not loaded in this process yet (`gatehouse auth` at once).
            None => {
                let store = self.store.clone();
                on_vault(move || store.reload()).await.ok().flatten()
            }
        };
        let usable = stored.as_ref().filter(|g| g.has_token());
        let challenge = self
            .challenge()
            .or_else(|| usable.and_then(|g| g.step_up_challenge.clone()));

        // The flow's own log: discovery reads it to tell where its documents
        // came from.
        let http = self.http.with_own_log();
        let mut manager = new_manager(&self.url, &http).await?;
        let obtained = PendingCredentials::default();
        manager.set_credential_store(obtained.clone());
        let found = discover(&manager, &http, &self.url, challenge.as_deref()).await?;
        manager.set_metadata(found.metadata.clone());
        let issuer = found
            .metadata
            .issuer
            .clone()
            .unwrap_or_else(|| self.url.origin().ascii_serialization());
        let same_issuer = stored.as_ref().is_some_and(|g| g.issuer() == issuer);
        if origin == FlowOrigin::Automatic
            && let Some(grant) = usable
        {
            if !same_issuer {
                return Err(AuthorizationError::AuthorizationServerChanged {
                    current: super::short(&grant.issuer()),
                    requested: super::short(&issuer),
                });
            }
            // The same issuer, whose metadata now names another token or
            // revocation endpoint than the grant recorded: the code and the
            // client's secret would go there, and the new grant's tokens on
            // sign-out. Not without the person.
            if let Some((was, now)) = grant
                .metadata
                .as_ref()
                .and_then(|recorded| moved_endpoint(recorded, &found.metadata))
            {
                return Err(AuthorizationError::AuthorizationServerChanged {
                    current: super::short(&was),
                    requested: super::short(&now),
                });
            }
        }
        // More scopes from the same authorization server are a step-up;
        // another authorization server starts from nothing.
        let step_up = same_issuer
            && challenge
                .as_deref()
                .is_some_and(super::is_insufficient_scope);

        let scopes = self
            .scopes(&manager, &found, challenge.as_deref(), step_up)
            .await?;
        let grant = self
            .settings
            .grant_for(super::discovery::grant_types(&found.metadata).as_deref());
        // A new grant, a new key: its tokens are bound to nothing older.
        // Not for enterprise-managed authorization: rmcp's exchange takes
        // only Bearer tokens back.
        if self.settings.dpop
            && super::dpop::supported(&found.metadata)
            && grant != OAuthGrant::EnterpriseManaged
        {
            let key = DpopKey::generate().map_err(AuthorizationError::Exchange)?;
            http.prove_with(key, &found.metadata.token_endpoint);
            obtained.expect_dpop();
        }
        if grant.is_unattended() {
            let (manager, record) = self
                .unattended(
                    manager,
                    &http,
                    found,
                    &issuer,
                    grant,
                    &scopes,
                    stored.as_ref(),
                )
                .await?;
            self.adopt(&http, manager, record)
                .await
                .map_err(|e| AuthorizationError::Vault(e.to_string()))?;
            self.challenge
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            return Ok(());
        }
        let Some(sink) = sink else {
            return Err(AuthorizationError::NeedsPerson);
        };
        let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let (listener, client) = self
            .choose_client(&mut manager, &found, &issuer, &scope_refs, stored.as_ref())
            .await?;
        let mut url = manager
            .get_authorization_url(&scope_refs)
            .await
            .map_err(AuthorizationError::from_auth)?;
        if !self.settings.send_resource_parameter {
            url = strip_resource_param(&url);
        }
        let state = Url::parse(&url)
            .ok()
            .and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "state")
                    .map(|(_, v)| v.into_owned())
            })
            .ok_or_else(|| {
                AuthorizationError::Exchange("the authorization URL has no state".into())
            })?;

        let cancel = CancellationToken::new();
        *self.current_flow.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((cancel.clone(), listener.paste_handle(), url.clone()));
        let _clear = ClearOnDrop(&self.current_flow);
        on_url(&url);
        let present = {
            let (sink, server, url) = (sink.clone(), self.server_id.clone(), url.clone());
            tokio::spawn(async move {
                if let Err(error) = sink.present(&server, &url).await {
                    tracing::info!(%error, "the consent page could not be opened; the URL is shown instead");
                }
            })
        };
        let waited = listener
            .wait(&state, self.settings.authorization_timeout(), &cancel)
            .await;
        present.abort();
        let (callback, responder) = waited.map_err(|e| match e {
            ListenerError::TimedOut(after) => AuthorizationError::TimedOut { after },
            ListenerError::Cancelled => AuthorizationError::Cancelled,
            ListenerError::PortInUse { port, .. } => AuthorizationError::PortInUse { port },
            ListenerError::Bind(detail) => AuthorizationError::Listener(detail),
        })?;
        let answer = async |outcome: Outcome| {
            if let Some(responder) = responder {
                responder.finish(outcome).await;
            }
        };
        let (code, issuer_param) = match callback {
            Callback::Denied {
                error,
                description,
                issuer,
            } => {
                // RFC 9207 §2.4: error responses are checked for `iss` too.
                let failure = match issuer_mismatch(&found.metadata, issuer.as_deref()) {
                    Some(mismatch) => mismatch,
                    None if error == "access_denied" => {
                        AuthorizationError::AccessDenied { description }
                    }
                    None => AuthorizationError::Refused { error, description },
                };
                answer(Outcome::Failure(capitalized(&failure.to_string()))).await;
                return Err(failure);
            }
            Callback::Code { code, issuer, .. } => (code, issuer),
        };
        on_exchange();
        self.http.take_last_failure();
        let exchanged = manager
            .exchange_code_for_token_with_issuer(&code, &state, issuer_param.as_deref())
            .await
            .map_err(|error| match AuthorizationError::from_auth(error) {
                // rmcp says only "Request failed": say what failed.
                AuthorizationError::Exchange(detail) => {
                    AuthorizationError::Exchange(match self.http.take_last_failure() {
                        Some(cause) => format!("{detail} ({cause})"),
                        None => detail,
                    })
                }
                other => other,
            })
            .and_then(|_| {
                obtained.take().ok_or_else(|| {
                    AuthorizationError::Exchange("no tokens came with the answer".into())
                })
            });
        let credentials = match exchanged {
            Ok(credentials) => credentials,
            Err(failure) => {
                answer(Outcome::Failure(capitalized(&failure.to_string()))).await;
                return Err(failure);
            }
        };
        let record = GrantRecord {
            credentials,
            client,
            metadata: Some(found.metadata),
            saved_at: now(),
            resource: Some(self.url.to_string()),
            step_up_challenge: None,
            grant: OAuthGrant::AuthorizationCode,
            dpop: http.proof_key(),
        };
        if let Err(error) = self.adopt(&http, manager, record).await {
            let failure = AuthorizationError::Vault(error.to_string());
            answer(Outcome::Failure(capitalized(&failure.to_string()))).await;
            return Err(failure);
        }
        answer(Outcome::Success).await;
        self.challenge
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        Ok(())
    }

    /// Makes a successful flow's grant and manager the server's own. A grant
    /// it replaces from another authorization server is revoked there (and
    /// only there) and forgotten — the grant as it is now, not as it was
    /// when the flow started: its refresh token may have been rotated since.
    async fn adopt(
        &self,
        http: &SafeOAuthHttp,
        mut manager: AuthorizationManager,
        record: GrantRecord,
    ) -> Result<(), AuthError> {
        manager.set_credential_store(self.store.clone());
        let issuer = record.issuer();
        if record.client.kind == ClientKind::Preregistered {
            // The configured client belongs to this authorization server from
            // now on, sign-outs included.
            let (store, client_id, pinned) = (
                self.store.clone(),
                record.client.client_id.clone(),
                issuer.clone(),
            );
            let kept = on_vault(move || store.pin_client(&client_id, &pinned)).await;
            if let Err(error) = kept {
                tracing::info!(server = %self.server_id, %error, "could not record the client's authorization server");
            }
        }
        let previous = {
            // Under the live manager's lock: no request or refresh sees the
            // new grant with the old manager, or the old grant with the new,
            // and no refresh of this process is under way.
            let mut live = self.client.auth_manager.lock().await;
            let store = self.store.clone();
            let previous = match tokio::task::spawn_blocking(move || store.reload()).await {
                Ok(Ok(grant)) => grant,
                // The vault cannot be read now: the grant in memory.
                _ => self.store.grant(),
            };
            self.store.commit(record).await?;
            // Its refreshes prove with the key of the grant the server holds
            // (another process may authorize again, with a new key).
            http.prove_for_grants_of(self.store.clone());
            *live = manager;
            previous
        };
        if let Some(previous) = previous.filter(|p| p.issuer() != issuer) {
            self.retire(previous).await;
        }
        Ok(())
    }

    /// Revokes a replaced grant at the authorization server that issued it,
    /// with the endpoints recorded when it was obtained, and forgets it.
    async fn retire(&self, grant: GrantRecord) {
        if let Some(metadata) = &grant.metadata
            && let Err(error) = super::revoke::revoke(&self.http, metadata, &grant).await
        {
            tracing::info!(server = %self.server_id, %error, "the replaced authorization could not be revoked");
        }
        if let Err(error) = self.store.forget_issuer(grant.issuer()).await {
            tracing::info!(server = %self.server_id, %error, "the replaced authorization could not be forgotten");
        }
        if grant.client.kind == ClientKind::Dynamic
            && self.settings.token_storage == TokenStorage::Vault
        {
            let (vault, issuer, client_id) =
                (self.vault.clone(), grant.issuer(), grant.client.client_id);
            let removed =
                on_vault(move || Registrations::remove_if_unused(&vault, &issuer, &client_id))
                    .await;
            if let Err(error) = removed {
                tracing::info!(server = %self.server_id, %error, "the replaced registration could not be removed");
            }
        }
    }

    /// The scopes to ask for: the configured ones, else the challenge's, else
    /// the resource's (`offline_access` added when the server offers it);
    /// when stepping up, together with everything granted before.
    async fn scopes(
        &self,
        manager: &AuthorizationManager,
        found: &Discovery,
        challenge: Option<&str>,
        step_up: bool,
    ) -> Result<Vec<String>, AuthorizationError> {
        let mut scopes: Vec<String> = if self.settings.scopes.is_empty() {
            manager.select_initial_scopes(&[]).await
        } else {
            let mut scopes = self.settings.scopes.clone();
            let offered = found
                .metadata
                .scopes_supported
                .as_ref()
                .is_some_and(|s| s.iter().any(|s| s == "offline_access"));
            if offered && !scopes.iter().any(|s| s == "offline_access") {
                scopes.push("offline_access".into());
            }
            scopes
        };
        if step_up {
            let granted: BTreeSet<String> = self
                .store
                .grant()
                .map(|g| g.credentials.granted_scopes.into_iter().collect())
                .unwrap_or_default();
            let demanded: Vec<String> = challenge
                .and_then(|c| WWWAuthenticateParams::parse(c, &self.url).scope)
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default();
            if !demanded.is_empty() && demanded.iter().all(|s| granted.contains(s)) {
                // Asking again cannot help: it was all granted already.
                return Err(AuthorizationError::ScopeNotGranted(demanded.join(" ")));
            }
            for scope in granted.into_iter().chain(demanded) {
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
        }
        Ok(scopes)
    }

    /// Binds the listener and settles which client to use: pre-registered,
    /// a Client ID Metadata Document, a stored registration whose port is
    /// free, or a new dynamic registration for the listener's port.
    async fn choose_client(
        &self,
        manager: &mut AuthorizationManager,
        found: &Discovery,
        issuer: &str,
        scopes: &[&str],
        stored: Option<&GrantRecord>,
    ) -> Result<(CallbackListener, ClientRecord), AuthorizationError> {
        let configured_port = self.settings.callback_port;
        let bind = |port: u16| async move {
            CallbackListener::bind(port).await.map_err(|e| match e {
                ListenerError::PortInUse { port, .. } => AuthorizationError::PortInUse { port },
                other => AuthorizationError::Listener(other.to_string()),
            })
        };
        if let Some(client_id) = &self.settings.client_id {
            self.check_client_home(client_id, issuer, stored).await?;
            let listener = bind(configured_port).await?;
            let secret = self.client_secret().await?;
            let record = ClientRecord {
                client_id: client_id.clone(),
                client_secret: secret,
                redirect_uri: listener.redirect_uri(),
                kind: ClientKind::Preregistered,
                registered_at: 0,
                auth_method: None,
            };
            manager
                .configure_client(client_config(&record))
                .map_err(AuthorizationError::from_auth)?;
            return Ok((listener, record));
        }
        if let Some(document) = &self.settings.client_metadata_url
            && found.supports_client_metadata_documents()
        {
            let listener = bind(configured_port).await?;
            let record = ClientRecord {
                client_id: document.clone(),
                client_secret: None,
                redirect_uri: listener.redirect_uri(),
                kind: ClientKind::MetadataDocument,
                registered_at: 0,
                auth_method: None,
            };
            manager
                .configure_client(client_config(&record))
                .map_err(AuthorizationError::from_auth)?;
            return Ok((listener, record));
        }
        if found.metadata.registration_endpoint.is_none() {
            return Err(AuthorizationError::NeedsClientId);
        }
        let persist = self.settings.token_storage == TokenStorage::Vault;
        if persist {
            let vault = self.vault.clone();
            let issuer_key = issuer.to_owned();
            let stored = on_vault(move || Registrations::for_issuer(&vault, &issuer_key)).await?;
            for record in stored {
                let Some(port) = loopback_port(&record.redirect_uri) else {
                    continue;
                };
                if configured_port != 0 && configured_port != port {
                    continue;
                }
                // The registration's redirect URI is exact: reuse it only
                // if its port can be bound again.
                if let Ok(listener) = CallbackListener::bind(port).await {
                    configure(manager, &found.metadata, &record)
                        .map_err(AuthorizationError::from_auth)?;
                    return Ok((listener, record));
                }
            }
        }
        let listener = bind(configured_port).await?;
        self.http.take_last_refusal();
        if let Some(endpoint) = &found.metadata.registration_endpoint {
            self.http.watch_registration(endpoint);
        }
        let registered = manager
            .register_client(CLIENT_NAME, &listener.redirect_uri(), scopes)
            .await
            .map_err(|error| match self.http.take_last_refusal() {
                // rmcp keeps only the text of why registration failed;
                // a refused redirect is reported as the refusal it is.
                Some(refusal) => AuthorizationError::UnsafeAddress(refusal),
                None => AuthorizationError::from_auth(error),
            })?;
        let record = ClientRecord {
            client_id: registered.client_id,
            client_secret: registered.client_secret,
            redirect_uri: registered.redirect_uri,
            kind: ClientKind::Dynamic,
            registered_at: now(),
            auth_method: self.http.take_registered_auth_method(),
        };
        if record.auth_method.is_some() {
            configure(manager, &found.metadata, &record).map_err(AuthorizationError::from_auth)?;
        }
        if persist {
            let (vault, issuer_key, saved) =
                (self.vault.clone(), issuer.to_owned(), record.clone());
            on_vault(move || Registrations::save(&vault, &issuer_key, &saved)).await?;
        }
        Ok((listener, record))
    }

    /// Refuses to present the configured client to any authorization server
    /// but the one it was first used with: the grant records it, and the
    /// vault remembers it after a sign-out. Its id and secret (or key, or
    /// the workload's token) go to that one only.
    async fn check_client_home(
        &self,
        client_id: &str,
        issuer: &str,
        stored: Option<&GrantRecord>,
    ) -> Result<(), AuthorizationError> {
        let in_grant = stored
            .filter(|g| g.client.kind == ClientKind::Preregistered)
            .filter(|g| g.client.client_id == client_id)
            .map(|g| self.issuer_of(g));
        let pinned = {
            let (store, client_id) = (self.store.clone(), client_id.to_owned());
            on_vault(move || store.client_issuer(&client_id)).await?
        };
        match in_grant
            .into_iter()
            .chain(pinned)
            .find(|home| home != issuer)
        {
            Some(home) => Err(AuthorizationError::ClientOfAnotherServer {
                current: super::short(&home),
                requested: super::short(issuer),
            }),
            None => Ok(()),
        }
    }

    /// Obtains tokens without a person, with the configured client's
    /// credential; the grant to adopt.
    #[allow(clippy::too_many_arguments)]
    async fn unattended(
        &self,
        mut manager: AuthorizationManager,
        http: &SafeOAuthHttp,
        found: Discovery,
        issuer: &str,
        grant: OAuthGrant,
        scopes: &[String],
        stored: Option<&GrantRecord>,
    ) -> Result<(AuthorizationManager, GrantRecord), AuthorizationError> {
        let client_id = self
            .settings
            .client_id
            .clone()
            .ok_or(AuthorizationError::NeedsClientId)?;
        self.check_client_home(&client_id, issuer, stored).await?;
        let settings = &self.settings;
        let credential = match (grant, &settings.client_key, &settings.assertion_file) {
            (OAuthGrant::EnterpriseManaged, _, Some(file)) => {
                let (Some(idp_issuer), Some(idp_client_id)) =
                    (&settings.idp_issuer, &settings.idp_client_id)
                else {
                    return Err(AuthorizationError::Unattended(
                        "enterprise-managed authorization needs oauth.idp_issuer and oauth.idp_client_id".into(),
                    ));
                };
                Credential::Enterprise(Box::new(unattended::Enterprise {
                    id_token: read_assertion(file, "the ID token").await?,
                    idp_issuer: idp_issuer.clone(),
                    idp_client_id: idp_client_id.clone(),
                    idp_client_secret: self
                        .resolve_optional("idp_client_secret", &settings.idp_client_secret)
                        .await?,
                    client_secret: self
                        .resolve_optional("client_secret", &settings.client_secret)
                        .await?,
                }))
            }
            (OAuthGrant::JwtBearer, _, Some(file)) => {
                Credential::Assertion(read_assertion(file, "the workload's identity token").await?)
            }
            // Validation refuses these; never fall back to another grant.
            (OAuthGrant::JwtBearer | OAuthGrant::EnterpriseManaged, _, None) => {
                return Err(AuthorizationError::Unattended(format!(
                    "the {} grant needs oauth.assertion_file",
                    grant.grant_type()
                )));
            }
            (_, Some(key), _) => Credential::Key(
                self.resolve("client_key", key).await?,
                settings.client_key_algorithm.unwrap_or_default(),
            ),
            _ => match &settings.client_secret {
                Some(secret) => Credential::Secret(self.resolve("client_secret", secret).await?),
                None => {
                    return Err(AuthorizationError::Unattended(format!(
                        "the {} grant needs oauth.client_secret or oauth.client_key",
                        grant.grant_type()
                    )));
                }
            },
        };
        // Kept with the grant: signing out revokes with it.
        let client_secret = match &credential {
            Credential::Secret(secret) => Some(secret.expose_secret().to_owned()),
            Credential::Enterprise(enterprise) => enterprise
                .client_secret
                .as_ref()
                .map(|secret| secret.expose_secret().to_owned()),
            _ => None,
        };
        let obtained = PendingCredentials::default();
        if http.proof_key().is_some() {
            obtained.expect_dpop();
        }
        manager.set_credential_store(obtained.clone());
        let request = unattended::Request {
            grant,
            client_id: &client_id,
            credential,
            scopes,
            resource: &self.url,
        };
        let mut manager =
            unattended::obtain(manager, http, &found.metadata, &obtained, request).await?;
        let credentials = obtained.take().ok_or_else(|| {
            AuthorizationError::Unattended("no tokens came with the answer".into())
        })?;
        let client = ClientRecord {
            client_id,
            client_secret,
            redirect_uri: String::new(),
            kind: ClientKind::Preregistered,
            registered_at: 0,
            auth_method: None,
        };
        // The live manager refreshes with it, should the server hand out a
        // refresh token after all.
        manager
            .configure_client(client_config(&client))
            .map_err(AuthorizationError::from_auth)?;
        let record = GrantRecord {
            credentials,
            client,
            metadata: Some(found.metadata),
            saved_at: now(),
            resource: Some(self.url.to_string()),
            step_up_challenge: None,
            grant,
            dpop: http.proof_key(),
        };
        Ok((manager, record))
    }

    /// The authorization server a grant came from, named as `authorize`
    /// names the one it discovers (a server without metadata is its origin).
    fn issuer_of(&self, grant: &GrantRecord) -> String {
        grant
            .credentials
            .issuer
            .clone()
            .or_else(|| grant.metadata.as_ref().and_then(|m| m.issuer.clone()))
            .unwrap_or_else(|| self.url.origin().ascii_serialization())
    }

    /// The pre-registered client's secret, resolved from the vault.
    async fn client_secret(&self) -> Result<Option<String>, AuthorizationError> {
        let secret = self
            .resolve_optional("client_secret", &self.settings.client_secret)
            .await?;
        Ok(secret.map(|secret| secret.expose_secret().to_owned()))
    }

    /// [`ServerAuth::resolve`] for a setting that may be absent.
    async fn resolve_optional(
        &self,
        field: &str,
        reference: &Option<String>,
    ) -> Result<Option<SecretString>, AuthorizationError> {
        match reference {
            Some(reference) => Ok(Some(self.resolve(field, reference).await?)),
            None => Ok(None),
        }
    }

    /// The setting `field`'s `${NAME}` reference, resolved from the vault.
    async fn resolve(
        &self,
        field: &str,
        reference: &str,
    ) -> Result<SecretString, AuthorizationError> {
        let template =
            Template::parse(reference).map_err(|e| AuthorizationError::Vault(e.to_string()))?;
        let vault = self.vault.clone();
        let field_name = field.to_owned();
        let resolved = tokio::task::spawn_blocking(move || vault.resolve([&template]))
            .await
            .map_err(|e| AuthorizationError::Vault(e.to_string()))?
            .map_err(|e| AuthorizationError::Vault(format!("{field_name}: {e}")))?;
        resolved
            .into_iter()
            .next()
            .ok_or_else(|| AuthorizationError::Vault(format!("{field}: no secret")))
    }

    /// Counts a step-up re-authorization; `false` once the limit is reached.
    pub(crate) fn try_step_up(&self) -> bool {
        self.step_ups.fetch_add(1, Ordering::SeqCst) < MAX_STEP_UPS
    }

    pub(crate) fn reset_step_ups(&self) {
        self.step_ups.store(0, Ordering::SeqCst);
    }

    /// Waits until the token should be refreshed (80 % of its lifetime).
    /// Never resolves for tokens without expiry or refresh token.
    pub(crate) async fn refresh_due(&self) {
        loop {
            let due = self.store.grant().and_then(|g| g.refresh_at());
            let wait = match due {
                None => REFRESH_CHECK,
                Some(at) => {
                    let now = now();
                    if at <= now {
                        return;
                    }
                    Duration::from_secs(at - now).min(REFRESH_CHECK)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Refreshes the access token if it is still due once this process
    /// holds the server's refresh decision (every process sharing the
    /// vault wakes at the same moment for the same grant: the first
    /// refreshes, the others find its tokens).
    pub(crate) async fn refresh(&self) -> Result<(), AuthError> {
        if self.has_unattended_grant() {
            return self.renew_unattended().await;
        }
        let manager = self.client.auth_manager.lock().await;
        let _decision = self.store.lock_refresh_decision().await?;
        // Another process (or rmcp's own lazy refresh) may have done it.
        let due = self.store.grant().and_then(|g| g.refresh_at());
        if due.is_some_and(|at| at > now()) {
            return Ok(());
        }
        manager.refresh_token().await.map(|_| ())
    }

    /// The server refused the access token (401 `invalid_token`): it may
    /// have expired on the way, or another process may have replaced it —
    /// by a refresh, or by authorizing again (perhaps with another
    /// authorization server, which this connection is not set up for).
    pub(crate) async fn recover_from_rejection(&self) -> Recovery {
        if self.has_unattended_grant() {
            return match self.renew_unattended().await {
                Ok(()) => Recovery::Retry,
                Err(error) => {
                    tracing::info!(server = %self.server_id, %error, "the server refused the access token and no new one was issued");
                    Recovery::NeedsAuthorization
                }
            };
        }
        let manager = self.client.auth_manager.lock().await;
        let sent = self.store.access_token_in_memory();
        let Ok(_decision) = self.store.lock_refresh_decision().await else {
            return Recovery::NeedsAuthorization;
        };
        if let Some(newest) = self.store.grant()
            && newest.has_token()
            && !self.store.is_bound_to(&newest)
        {
            tracing::info!(server = %self.server_id, "the server refused the access token; another process authorized again");
            return Recovery::Reconnect;
        }
        if sent.is_some() && self.store.access_token_in_memory() != sent {
            return Recovery::Retry;
        }
        match manager.refresh_token().await {
            Ok(_) => {
                tracing::info!(server = %self.server_id, "the server refused the access token; refreshed it");
                Recovery::Retry
            }
            Err(error) => {
                tracing::info!(server = %self.server_id, %error, "the server refused the access token and it could not be refreshed");
                Recovery::NeedsAuthorization
            }
        }
    }

    /// Whether the server's grant was obtained without a person (and is
    /// renewed the same way rather than refreshed).
    fn has_unattended_grant(&self) -> bool {
        self.store.grant().is_some_and(|g| g.grant.is_unattended())
    }

    /// Obtains a grant without a person again, as it was obtained: at the
    /// authorization server that issued it, for the same client. A refusal
    /// ends the grant (the person is told); anything else is tried again.
    async fn renew_unattended(&self) -> Result<(), AuthError> {
        match self.flow(None, FlowOrigin::Automatic, |_| {}, || {}).await {
            Ok(()) => Ok(()),
            Err(error) => match unattended_readiness(error) {
                Readiness::Refused(reason) | Readiness::NeedsConsent(reason) => {
                    Err(AuthError::TokenRefreshRejected(reason))
                }
                Readiness::Unavailable(detail) | Readiness::VaultUnavailable(detail) => {
                    Err(AuthError::InternalError(detail))
                }
                Readiness::Ready => Ok(()),
            },
        }
    }

    /// Revokes the tokens where the server supports it and forgets the
    /// grant and its dynamic registration.
    pub(crate) async fn sign_out(&self) -> Result<Option<String>, AuthorizationError> {
        // A flow in progress ends first: otherwise one past the point where
        // cancelling stops it (its code exchange under way) could commit a
        // grant after this sign-out (or the removal that follows it) forgot
        // them. Cancelled again while waiting: a flow still discovering has
        // nothing to cancel yet, and would go on to wait for the browser.
        let _no_flow = loop {
            self.cancel_flow();
            if let Ok(guard) =
                tokio::time::timeout(Duration::from_millis(100), self.flow.lock()).await
            {
                break guard;
            }
        };
        let grant = match self.store.grant() {
            Some(grant) => Some(grant),
            // Not loaded in this process yet (the CLI signs out at once).
            None => {
                let store = self.store.clone();
                on_vault(move || store.reload()).await?
            }
        };
        let mut warning = None;
        // Revoked where they were issued: at the endpoints recorded with the
        // grant, whatever the server has named since.
        if let Some(grant) = &grant
            && let Some(metadata) = &grant.metadata
            && let Err(e) = super::revoke::revoke(&self.http, metadata, grant).await
        {
            warning = Some(format!("the server could not revoke the tokens: {e}"));
        }
        let (store, vault) = (self.store.clone(), self.vault.clone());
        let storage = self.settings.token_storage;
        on_vault(move || {
            store.forget_all()?;
            if let Some(grant) = grant
                && grant.client.kind == ClientKind::Dynamic
                && storage == TokenStorage::Vault
            {
                Registrations::remove_if_unused(&vault, &grant.issuer(), &grant.client.client_id)?;
            }
            Ok::<_, crate::vault::VaultError>(())
        })
        .await?;
        Ok(warning)
    }
}

/// The endpoint `found` names differently from `recorded`, as `(was, now)`:
/// the token endpoint if it moved, else the revocation endpoint (a missing
/// one shown as the token endpoint).
fn moved_endpoint(
    recorded: &AuthorizationMetadata,
    found: &AuthorizationMetadata,
) -> Option<(String, String)> {
    if recorded.token_endpoint != found.token_endpoint {
        return Some((
            recorded.token_endpoint.clone(),
            found.token_endpoint.clone(),
        ));
    }
    let revocation = |m: &AuthorizationMetadata| super::discovery::revocation_endpoint(m);
    let (was, now) = (revocation(recorded), revocation(found));
    (was != now).then(|| {
        let named =
            |endpoint: Option<String>| endpoint.unwrap_or_else(|| found.token_endpoint.clone());
        (named(was), named(now))
    })
}

/// Who started an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlowOrigin {
    /// The person (Authorize in the app, `gatehouse auth`).
    Person,
    /// Gatehouse, on a server's demand (a step-up after 403).
    Automatic,
}

/// A manager for this server over the policy-checked HTTP client, with
/// in-memory PKCE states; its credential store is the caller's to set.
async fn new_manager(
    url: &Url,
    http: &SafeOAuthHttp,
) -> Result<AuthorizationManager, AuthorizationError> {
    let mut manager =
        AuthorizationManager::new_with_oauth_http_client(url.as_str(), Arc::new(http.clone()))
            .await
            .map_err(AuthorizationError::from_auth)?;
    manager.set_state_store(PendingStates::default());
    Ok(manager)
}

/// Runs a blocking vault call off the async runtime.
async fn on_vault<T, E>(
    call: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, AuthorizationError>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| AuthorizationError::Vault(e.to_string()))?
        .map_err(|e| AuthorizationError::Vault(e.to_string()))
}

struct ClearOnDrop<'a>(&'a Mutex<Option<(CancellationToken, PasteHandle, String)>>);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// What a failed attempt to obtain tokens without a person means for
/// connecting.
fn unattended_readiness(error: AuthorizationError) -> Readiness {
    match error {
        AuthorizationError::NeedsPerson => Readiness::NeedsConsent("not authorized yet".into()),
        AuthorizationError::Vault(detail) => Readiness::VaultUnavailable(detail),
        error @ (AuthorizationError::Discovery(_)
        | AuthorizationError::Unattended(_)
        | AuthorizationError::InProgress
        | AuthorizationError::InProgressElsewhere) => Readiness::Unavailable(error.to_string()),
        other => Readiness::Refused(other.to_string()),
    }
}

/// An identity token (`what`: the workload's, or the person's ID token),
/// read afresh from its file (whoever writes it renews it).
async fn read_assertion(file: &str, what: &str) -> Result<SecretString, AuthorizationError> {
    let text = tokio::fs::read_to_string(file).await.map_err(|e| {
        AuthorizationError::Unattended(format!("{what} could not be read from {file}: {e}"))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(AuthorizationError::Unattended(format!(
            "{what} file {file} is empty"
        )));
    }
    Ok(SecretString::from(token.to_owned()))
}

/// rmcp's client type needs a redirect URI; a grant without a person has
/// none and never sends this one.
const NO_REDIRECT: &str = "urn:ietf:wg:oauth:2.0:oob";

fn client_config(record: &ClientRecord) -> OAuthClientConfig {
    let redirect = match record.redirect_uri.as_str() {
        "" => NO_REDIRECT,
        uri => uri,
    };
    let config = OAuthClientConfig::new(record.client_id.clone(), redirect.to_owned());
    match &record.client_secret {
        Some(secret) => config.with_client_secret(secret.clone()),
        None => config,
    }
}

/// Sets up rmcp's client for `record` at the authorization server that
/// `metadata` describes. rmcp chooses how to send a client secret from the
/// metadata alone (HTTP Basic unless only `client_secret_post` is listed);
/// when registration named the method, it is the one used.
fn configure(
    manager: &mut AuthorizationManager,
    metadata: &AuthorizationMetadata,
    record: &ClientRecord,
) -> Result<(), AuthError> {
    let Some(method) = record.registered_secret_method() else {
        manager.set_metadata(metadata.clone());
        return manager.configure_client(client_config(record));
    };
    let mut only_that = metadata.clone();
    only_that.additional_fields.insert(
        "token_endpoint_auth_methods_supported".into(),
        serde_json::json!([method]),
    );
    manager.set_metadata(only_that);
    let configured = manager.configure_client(client_config(record));
    manager.set_metadata(metadata.clone());
    configured
}

fn loopback_port(redirect_uri: &str) -> Option<u16> {
    let url = Url::parse(redirect_uri).ok()?;
    (url.host_str() == Some("127.0.0.1"))
        .then(|| url.port())
        .flatten()
}

/// RFC 9207 for an error response: when the authorization server names
/// itself (or promises to), it must be the one we sent the person to.
fn issuer_mismatch(
    metadata: &AuthorizationMetadata,
    received: Option<&str>,
) -> Option<AuthorizationError> {
    let expected = metadata.issuer.as_deref()?;
    let promised = metadata
        .additional_fields
        .get("authorization_response_iss_parameter_supported")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    match received {
        Some(received) if received != expected => Some(AuthorizationError::IssuerMismatch(
            format!("expected {expected:?}, got {received:?}"),
        )),
        None if promised => Some(AuthorizationError::IssuerMismatch(format!(
            "no issuer given; expected {expected:?}"
        ))),
        _ => None,
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => {
            let mut out: String = first.to_uppercase().collect();
            out.push_str(chars.as_str());
            if !out.ends_with('.') {
                out.push('.');
            }
            out
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_workload_token_file_is_read_trimmed_and_its_problems_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        let path = file.to_string_lossy().into_owned();
        let missing = read_assertion(&path, "the workload's identity token")
            .await
            .unwrap_err()
            .to_string();
        assert!(missing.contains("could not be read from"), "{missing}");
        std::fs::write(&file, "  \n").unwrap();
        let empty = read_assertion(&path, "the workload's identity token")
            .await
            .unwrap_err()
            .to_string();
        assert!(empty.contains("is empty"), "{empty}");
        std::fs::write(&file, "eyJhbGciOiJFUzI1NiJ9.e30.sig\n").unwrap();
        let token = read_assertion(&path, "the workload's identity token")
            .await
            .unwrap();
        assert_eq!(token.expose_secret(), "eyJhbGciOiJFUzI1NiJ9.e30.sig");
    }

    #[test]
    fn a_refusal_waits_for_the_person_and_a_network_failure_is_retried() {
        let refused = unattended_readiness(AuthorizationError::Refused {
            error: "invalid_client".into(),
            description: None,
        });
        assert!(matches!(refused, Readiness::Refused(_)), "{refused:?}");
        let offline = unattended_readiness(AuthorizationError::Discovery("down".into()));
        assert!(matches!(offline, Readiness::Unavailable(_)), "{offline:?}");
        let browser = unattended_readiness(AuthorizationError::NeedsPerson);
        assert!(matches!(browser, Readiness::NeedsConsent(_)), "{browser:?}");
    }

    fn metadata(iss_promised: bool) -> AuthorizationMetadata {
        serde_json::from_value(serde_json::json!({
            "issuer": "https://as.example",
            "authorization_endpoint": "https://as.example/authorize",
            "token_endpoint": "https://as.example/token",
            "authorization_response_iss_parameter_supported": iss_promised,
        }))
        .unwrap()
    }

    #[test]
    fn error_responses_are_checked_for_their_issuer() {
        let plain = metadata(false);
        assert!(issuer_mismatch(&plain, None).is_none());
        assert!(issuer_mismatch(&plain, Some("https://as.example")).is_none());
        assert!(matches!(
            issuer_mismatch(&plain, Some("https://evil.example")),
            Some(AuthorizationError::IssuerMismatch(_))
        ));
        let promised = metadata(true);
        assert!(matches!(
            issuer_mismatch(&promised, None),
            Some(AuthorizationError::IssuerMismatch(_))
        ));
        assert!(issuer_mismatch(&promised, Some("https://as.example")).is_none());
    }
}
