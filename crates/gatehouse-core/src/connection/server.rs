//! One server's connection: a task that owns its rmcp client and its status,
//! connects (with resolved headers, or through the server's OAuth state),
//! watches the session, refreshes tokens ahead of expiry, and reconnects with
//! backoff when the session drops. Servers that need the person (a missing
//! secret, rejected credentials, an authorization) wait for a change instead
//! of retrying.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue};
use rmcp::model::{
    ClientCapabilities, ClientConfig, ClientRequest, Implementation, PingRequest, Tool,
};
use rmcp::service::{NotificationContext, Peer, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::AuthError;
use rmcp::transport::common::client_side_sse::SseRetryPolicy;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceError, ServiceExt};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Notify, OnceCell, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::backoff::Backoff;
use super::downstream::Relay;
use super::failure::Failure;
use crate::config::{AuthMode, ServerConfig};
use crate::events::{AuthorizationStep, ErrorKind, Event, ServerStatus};
use crate::oauth::{AuthorizationError, ConsentSink, FlowOrigin, Readiness, ServerAuth};
use crate::template::Template;
use crate::vault::ResolveError;

/// How often an idle session is pinged to notice a dead server.
pub(crate) const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(60);
/// A session that lasted this long resets the reconnect backoff.
const STABLE_SESSION: Duration = Duration::from_secs(30);
/// Pause after a failed background refresh before trying again.
const REFRESH_RETRY: Duration = Duration::from_secs(30);

/// Largest single answer (JSON body or SSE event) taken from a server.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// An authorization that is waiting for the browser.
pub struct AuthorizationTicket {
    /// Where the browser was (or should be) sent.
    pub url: String,
    /// Resolves when the authorization ends.
    pub done: oneshot::Receiver<Result<(), AuthorizationError>>,
}

/// What the front ends share with a server's task.
pub(crate) struct ServerRuntime {
    pub(crate) config: ServerConfig,
    shared: Arc<Shared>,
    status: watch::Sender<ServerStatus>,
    peer: watch::Sender<Option<Peer<RoleClient>>>,
    /// The live session's tools, as listed when it connected (or when the
    /// server last announced a change); `tools` answers from here.
    tools: Mutex<Option<Arc<Vec<Tool>>>>,
    /// The vault secrets the session's headers carry, to keep out of what
    /// the server says back.
    secrets_in_use: Mutex<Vec<SecretString>>,
    auth: OnceCell<Arc<ServerAuth>>,
    /// Try to connect now (after a secret was stored, say).
    retry: Notify,
    /// The session is broken (a request failed at the transport).
    broken: Notify,
    /// Bumped when the session's token stops being accepted (a 401 in the
    /// middle of a session, a sign-out); the live session watches it.
    unauthorized: watch::Sender<u64>,
    /// Why, for the status that follows.
    unauthorized_reason: Mutex<Option<String>>,
    /// An authorization finished: connect with the new tokens.
    authorized: Notify,
    /// The server announced a changed tool list.
    tools_changed: Notify,
    /// The server held usable tokens, so losing them is news.
    had_grant: AtomicBool,
    /// Announce `connected` to the authorization's listeners on connect.
    announce_connected: AtomicBool,
    last_connected: Mutex<Option<ServerStatus>>,
}

/// How a live session ended.
enum Held {
    Cancelled,
    Dropped(String),
    NeedsAuthorization(String),
}

impl ServerRuntime {
    pub(crate) fn new(config: ServerConfig, shared: Arc<Shared>) -> Arc<Self> {
        let initial = if config.enabled {
            ServerStatus::Connecting
        } else {
            ServerStatus::Disabled
        };
        Arc::new(Self {
            config,
            shared,
            status: watch::Sender::new(initial),
            peer: watch::Sender::new(None),
            tools: Mutex::new(None),
            secrets_in_use: Mutex::new(Vec::new()),
            auth: OnceCell::new(),
            retry: Notify::new(),
            broken: Notify::new(),
            unauthorized: watch::Sender::new(0),
            unauthorized_reason: Mutex::new(None),
            authorized: Notify::new(),
            tools_changed: Notify::new(),
            had_grant: AtomicBool::new(false),
            announce_connected: AtomicBool::new(false),
            last_connected: Mutex::new(None),
        })
    }

    pub(crate) fn status(&self) -> ServerStatus {
        self.status.borrow().clone()
    }

    pub(crate) fn watch_status(&self) -> watch::Receiver<ServerStatus> {
        self.status.subscribe()
    }

    /// The live session's peer, if connected.
    pub(crate) fn peer(&self) -> Option<Peer<RoleClient>> {
        self.peer.borrow().clone()
    }

    /// The live session's tools, when they were listed.
    pub(crate) fn cached_tools(&self) -> Option<Arc<Vec<Tool>>> {
        self.tools.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn cache_tools(&self, tools: Option<Vec<Tool>>) {
        *self.tools.lock().unwrap_or_else(|e| e.into_inner()) = tools.map(Arc::new);
    }

    pub(crate) fn retry_now(&self) {
        self.retry.notify_one();
    }

    pub(crate) fn report_broken(&self) {
        self.broken.notify_one();
    }

    /// The server's OAuth state, created on first use.
    pub(crate) async fn auth(&self) -> Result<Arc<ServerAuth>, AuthorizationError> {
        self.auth
            .get_or_try_init(|| async {
                ServerAuth::new(
                    &self.config,
                    self.shared.vault.clone(),
                    self.shared.http.clone(),
                )
                .await
                .map(Arc::new)
            })
            .await
            .cloned()
    }

    /// The OAuth state if it exists already (never creates it).
    pub(crate) fn existing_auth(&self) -> Option<Arc<ServerAuth>> {
        self.auth.get().cloned()
    }

    fn emit(&self, event: Event) {
        let _ = self.shared.events.send(event);
    }

    fn emit_step(&self, step: AuthorizationStep) {
        self.emit(Event::Authorization {
            server: self.config.id.clone(),
            step,
        });
    }

    /// `text` from the server with the secrets its headers carried cut out.
    pub(crate) fn redacted(&self, text: String) -> String {
        let secrets = self
            .secrets_in_use
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        without_secrets(text, &secrets)
    }

    fn set_status(&self, status: ServerStatus) {
        let status = match status {
            ServerStatus::Error { kind, message } => ServerStatus::Error {
                kind,
                message: self.redacted(message),
            },
            other => other,
        };
        if matches!(status, ServerStatus::Connected { .. }) {
            *self
                .last_connected
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(status.clone());
        }
        let changed = self.status.send_if_modified(|current| {
            if *current == status {
                false
            } else {
                *current = status.clone();
                true
            }
        });
        if changed {
            tracing::debug!(server = %self.config.id, state = status.label(), "status changed");
            self.emit(Event::Status {
                server: self.config.id.clone(),
                status,
            });
        }
    }

    /// Moves to "needs authorization"; tells the person once when a server
    /// that had working tokens lost them.
    fn needs_authorization(&self, reason: String, lost_grant: bool) {
        if lost_grant && self.had_grant.swap(false, Ordering::SeqCst) {
            self.emit(Event::ReauthorizationNeeded {
                server: self.config.id.clone(),
            });
        }
        self.set_status(ServerStatus::NeedsAuthorization { reason });
    }

    /// The task body: runs until `cancel` fires.
    pub(crate) async fn run(self: Arc<Self>, cancel: CancellationToken) {
        if !self.config.enabled {
            self.set_status(ServerStatus::Disabled);
            return;
        }
        let oauth = self.config.auth_mode() == AuthMode::OAuth;
        if oauth {
            // Startup phase two: OAuth servers go after the others.
            let mut phase_one = self.shared.phase_one.subscribe();
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = phase_one.wait_for(|done| *done) => {}
            }
        }
        let mut backoff = Backoff::default();
        loop {
            // Why an OAuth server has no usable grant, if it has none: it is
            // then tried without a token, to learn what its 401 challenge
            // asks for (or to find it needs none yet).
            let mut without_grant = None;
            if oauth {
                match self.oauth_readiness().await {
                    Ok(reason) => without_grant = reason,
                    Err(delay) => {
                        if !self.pause(&cancel, delay, &mut backoff).await {
                            return;
                        }
                        continue;
                    }
                }
            }
            // A retry after a failure keeps showing the failure until it
            // succeeds: the list (and the tray) would flicker otherwise.
            if !matches!(self.status(), ServerStatus::Error { .. }) {
                self.set_status(ServerStatus::Connecting);
            }
            let attempt = tokio::select! {
                () = cancel.cancelled() => return,
                attempt = self.connect() => attempt,
            };
            let delay = match attempt {
                Ok(running) => {
                    let started = Instant::now();
                    match self.hold(running, &cancel).await {
                        Held::Cancelled => return,
                        Held::Dropped(why) => {
                            tracing::info!(server = %self.config.id, %why, "session ended; reconnecting");
                            if started.elapsed() >= STABLE_SESSION {
                                backoff.reset();
                                self.set_status(ServerStatus::Connecting);
                            } else {
                                // It ended soon after it started (and may keep
                                // doing so): say why, rather than "connecting"
                                // for ever.
                                self.set_status(ServerStatus::error(
                                    ErrorKind::Protocol,
                                    format!("the session ended ({why}); trying again"),
                                ));
                            }
                            Some(backoff.next())
                        }
                        Held::NeedsAuthorization(reason) => {
                            self.needs_authorization(reason, true);
                            None
                        }
                    }
                }
                Err(failure) if oauth && failure.kind == ErrorKind::Unauthorized => {
                    if let Some(auth) = self.existing_auth() {
                        auth.note_challenge(failure.challenge.clone());
                    }
                    match without_grant {
                        Some(reason) => self.needs_authorization(reason, false),
                        None if failure.insufficient_scope => self.needs_authorization(
                            "the server requires more permissions; authorize again".into(),
                            false,
                        ),
                        None => self.needs_authorization(
                            "the server did not accept the authorization; authorize again".into(),
                            true,
                        ),
                    }
                    None
                }
                Err(failure) => {
                    tracing::info!(server = %self.config.id, kind = ?failure.kind, "connection failed");
                    let delay = failure.retry.then(|| backoff.next());
                    self.set_status(failure.into_status());
                    delay
                }
            };
            if !self.pause(&cancel, delay, &mut backoff).await {
                return;
            }
        }
    }

    /// Waits before the next attempt (forever without `delay`); a retry
    /// request or a finished authorization cuts it short. `false` when
    /// cancelled.
    async fn pause(
        &self,
        cancel: &CancellationToken,
        delay: Option<Duration>,
        backoff: &mut Backoff,
    ) -> bool {
        tokio::select! {
            () = cancel.cancelled() => false,
            () = self.retry.notified() => { backoff.reset(); true }
            () = self.authorized.notified() => { backoff.reset(); true }
            () = sleep_or_forever(delay) => true,
        }
    }

    /// Prepares an OAuth server's tokens. `Ok(Some(reason))`: there are none
    /// (connect without). `Err(Some(delay))` retries later; `Err(None)`
    /// waits for the person.
    async fn oauth_readiness(&self) -> Result<Option<String>, Option<Duration>> {
        let auth = match self.auth().await {
            Ok(auth) => auth,
            Err(e) => {
                self.set_status(ServerStatus::error(ErrorKind::Authorization, e.to_string()));
                return Err(None);
            }
        };
        match auth.ensure_ready().await {
            Readiness::Ready => Ok(None),
            Readiness::NeedsConsent(reason) => Ok(Some(reason)),
            Readiness::Unavailable(detail) => {
                self.set_status(ServerStatus::error(ErrorKind::Unreachable, detail));
                Err(Some(Duration::from_secs(15)))
            }
            Readiness::VaultUnavailable(detail) => {
                // Unlocking the vault retries waiting servers.
                self.set_status(ServerStatus::error(ErrorKind::Vault, detail));
                Err(None)
            }
        }
    }

    async fn connect(
        self: &Arc<Self>,
    ) -> Result<RunningService<RoleClient, Relay<GatehouseClient>>, Failure> {
        let timeout = self.config.timeout();
        let mut transport_config =
            StreamableHttpClientTransportConfig::with_uri(self.config.url.as_str())
                .custom_headers(self.resolve_headers().await?);
        transport_config.retry_config = Arc::new(StreamRetry);
        // rmcp's 16 MiB is too tight for tools that return a large document
        // twice over (as text and as structured content).
        transport_config.max_json_response_size = MAX_RESPONSE_BYTES;
        transport_config.max_sse_event_size = MAX_RESPONSE_BYTES;
        let handler = Relay::new(
            GatehouseClient::new(self),
            self.shared.downstream(&self.config.id),
        );
        let mode = self.config.auth_mode();
        let serving = async {
            match self.existing_auth().filter(|_| mode == AuthMode::OAuth) {
                Some(auth) => handler.serve(auth.transport(transport_config)).await,
                None => {
                    let transport = StreamableHttpClientTransport::with_client(
                        super::transport::SessionAware(self.shared.http.clone()),
                        transport_config,
                    );
                    handler.serve(transport).await
                }
            }
        };
        tokio::time::timeout(timeout, serving)
            .await
            .map_err(|_| Failure::timeout(timeout))?
            .map_err(|e| Failure::from_initialize(&e, mode))
    }

    /// The configured headers with `${NAME}` references resolved.
    async fn resolve_headers(&self) -> Result<HashMap<HeaderName, HeaderValue>, Failure> {
        if self.config.auth_mode() != AuthMode::Headers {
            return Ok(HashMap::new());
        }
        let names: Vec<String> = self.config.headers.keys().cloned().collect();
        let templates: Vec<Template> = self
            .config
            .headers
            .values()
            .map(|v| Template::parse(v))
            .collect::<Result<_, _>>()
            .map_err(|e| Failure::fatal(ErrorKind::Protocol, format!("invalid header: {e}")))?;
        // Each referenced secret once, from one read of the vault; the
        // values are kept to cut them out of what the server says back (an
        // error that echoes the request's headers).
        let mut secret_names: Vec<String> = templates
            .iter()
            .flat_map(|t| t.references().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        secret_names.sort();
        secret_names.dedup();
        let singles: Vec<Template> = secret_names
            .iter()
            .filter_map(|name| Template::parse(&format!("${{{name}}}")).ok())
            .collect();
        let vault = self.shared.vault.clone();
        let secrets = match tokio::task::spawn_blocking(move || vault.resolve(singles.iter()))
            .await
            .map_err(|e| Failure::fatal(ErrorKind::Vault, e.to_string()))?
        {
            Ok(secrets) => secrets,
            Err(ResolveError::Missing(missing)) => {
                return Err(Failure::fatal(
                    ErrorKind::MissingSecret,
                    missing.to_string(),
                ));
            }
            Err(ResolveError::Vault(e)) => {
                return Err(Failure::fatal(ErrorKind::Vault, e.to_string()));
            }
        };
        let by_name: HashMap<&str, &SecretString> = secret_names
            .iter()
            .map(String::as_str)
            .zip(secrets.iter())
            .collect();
        let values = templates
            .iter()
            .map(|t| t.resolve(|name| by_name.get(name).copied()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|missing| Failure::fatal(ErrorKind::MissingSecret, missing.to_string()))?;
        drop(by_name);
        *self
            .secrets_in_use
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = secrets;
        let mut headers = HashMap::with_capacity(names.len());
        for (name, value) in names.into_iter().zip(values) {
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Failure::fatal(ErrorKind::Protocol, format!("invalid header name {name:?}"))
            })?;
            let mut header_value = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                Failure::fatal(
                    ErrorKind::Protocol,
                    format!(
                        "header {name:?} has a character not allowed in a header after its secrets were filled in"
                    ),
                )
            })?;
            header_value.set_sensitive(true);
            headers.insert(header_name, header_value);
        }
        Ok(headers)
    }

    /// Serves a live session until it drops, needs authorization, or
    /// `cancel` fires.
    async fn hold(
        &self,
        running: RunningService<RoleClient, Relay<GatehouseClient>>,
        cancel: &CancellationToken,
    ) -> Held {
        let peer = running.peer().clone();
        let session = running.cancellation_token();
        let (server_name, server_version) = peer
            .peer_info()
            .and_then(|info| info.server_info.clone())
            .map(|server| (server.name, server.version))
            .unwrap_or_default();
        let has_tools = peer
            .peer_info()
            .is_some_and(|info| info.capabilities.tools.is_some());
        let timeout = self.config.timeout();
        let mode = self.config.auth_mode();
        let auth = self.existing_auth().filter(|_| mode == AuthMode::OAuth);

        let tool_count = if has_tools {
            match tokio::time::timeout(timeout, super::listing::tools(&peer)).await {
                Ok(Ok(tools)) => {
                    let count = tools.len();
                    self.cache_tools(Some(tools));
                    count
                }
                Ok(Err(ServiceError::McpError(error))) => {
                    // The server is up and answering; only its tool list is
                    // broken. Stay connected: `tools` will say what is wrong.
                    tracing::warn!(server = %self.config.id, message = %error.message, "the server could not list its tools");
                    self.cache_tools(None);
                    0
                }
                Ok(Err(e)) => {
                    session.cancel();
                    let failure = Failure::from_service(&e, mode);
                    if auth.is_some() && failure.kind == ErrorKind::Unauthorized {
                        if let Some(auth) = &auth {
                            auth.note_challenge(failure.challenge);
                        }
                        return Held::NeedsAuthorization(
                            "the server asks for authorization to list its tools".into(),
                        );
                    }
                    return Held::Dropped(format!("listing tools failed: {}", failure.message));
                }
                Err(_) => {
                    session.cancel();
                    return Held::Dropped("listing tools timed out".into());
                }
            }
        } else {
            0
        };
        self.peer.send_replace(Some(peer.clone()));
        let connected = |tool_count| ServerStatus::Connected {
            server_name: server_name.clone(),
            server_version: server_version.clone(),
            tool_count,
        };
        self.set_status(connected(tool_count));
        if let Some(auth) = &auth
            && auth.store().grant().is_some_and(|g| g.has_token())
        {
            self.had_grant.store(true, Ordering::SeqCst);
        }
        if self.announce_connected.swap(false, Ordering::SeqCst) {
            self.emit_step(AuthorizationStep::Connected);
        }

        let mut unauthorized = self.unauthorized.subscribe();
        unauthorized.mark_unchanged();
        let mut rejections = auth.as_ref().map(|auth| auth.store().rejections());
        let health_interval = self.shared.health_interval();
        let mut waiting = std::pin::pin!(running.waiting());
        let mut ping = tokio::time::interval_at(
            tokio::time::Instant::now() + health_interval,
            health_interval,
        );
        let mut refresh_retry_at: Option<tokio::time::Instant> = None;
        let outcome = loop {
            let refresh_due = async {
                match &auth {
                    Some(auth) => {
                        if let Some(at) = refresh_retry_at {
                            tokio::time::sleep_until(at).await;
                        }
                        auth.refresh_due().await
                    }
                    None => std::future::pending().await,
                }
            };
            let rejected = async {
                match rejections.as_mut() {
                    Some(rejections) => {
                        if rejections.changed().await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = cancel.cancelled() => {
                    session.cancel();
                    let _ = tokio::time::timeout(Duration::from_secs(2), &mut waiting).await;
                    break Held::Cancelled;
                }
                quit = &mut waiting => {
                    break Held::Dropped(format!("session closed ({quit:?})"));
                }
                () = rejected => {
                    session.cancel();
                    break Held::NeedsAuthorization(
                        "the authorization server no longer accepts the saved authorization; authorize again".into(),
                    );
                }
                _ = unauthorized.changed() => {
                    session.cancel();
                    let reason = self
                        .unauthorized_reason
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .take()
                        .unwrap_or_else(|| "the server no longer accepts the authorization; authorize again".into());
                    break Held::NeedsAuthorization(reason);
                }
                () = refresh_due => {
                    let Some(auth) = &auth else { continue };
                    match auth.refresh().await {
                        Ok(()) => refresh_retry_at = None,
                        Err(AuthError::TokenRefreshRejected(_) | AuthError::AuthorizationRequired) => {
                            session.cancel();
                            break Held::NeedsAuthorization(
                                "the authorization server no longer accepts the saved authorization; authorize again".into(),
                            );
                        }
                        Err(error) => {
                            tracing::info!(server = %self.config.id, %error, "token refresh failed; will retry");
                            refresh_retry_at = Some(tokio::time::Instant::now() + REFRESH_RETRY);
                        }
                    }
                }
                () = self.broken.notified() => {
                    // One failed request does not prove the session dead:
                    // ask the server before starting over.
                    if let Err(ended) = self.check_alive(&peer, auth.is_some()).await {
                        session.cancel();
                        break ended;
                    }
                }
                () = self.tools_changed.notified() => {
                    self.cache_tools(None);
                    if let Ok(Ok(tools)) = tokio::time::timeout(timeout, super::listing::tools(&peer)).await {
                        let count = tools.len();
                        self.cache_tools(Some(tools));
                        self.set_status(connected(count));
                    }
                }
                _ = ping.tick() => {
                    if let Err(ended) = self.check_alive(&peer, auth.is_some()).await {
                        session.cancel();
                        break ended;
                    }
                }
            }
        };
        self.peer.send_replace(None);
        self.cache_tools(None);
        outcome
    }

    /// Pings the server; says how the session ended when it does not answer.
    async fn check_alive(&self, peer: &Peer<RoleClient>, oauth: bool) -> Result<(), Held> {
        let timeout = self.config.timeout();
        let ping = peer.send_request(ClientRequest::PingRequest(PingRequest::default()));
        match tokio::time::timeout(timeout, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                let failure = Failure::from_service(&e, self.config.auth_mode());
                if oauth && failure.kind == ErrorKind::Unauthorized {
                    Err(Held::NeedsAuthorization(
                        "the server no longer accepts the authorization; authorize again".into(),
                    ))
                } else {
                    Err(Held::Dropped(format!(
                        "the server stopped answering: {}",
                        failure.message
                    )))
                }
            }
            Err(_) => Err(Held::Dropped(
                "the server stopped answering (ping timed out)".into(),
            )),
        }
    }

    /// A request was refused for want of authorization: reconnect through
    /// "needs authorization".
    pub(crate) fn report_unauthorized(&self, challenge: Option<String>) {
        if let Some(auth) = self.existing_auth() {
            auth.note_challenge(challenge);
        }
        self.unauthorized.send_modify(|generation| *generation += 1);
    }

    /// Starts an authorization; returns once the browser has somewhere to
    /// go (or the flow failed before that).
    pub(crate) async fn start_authorization(
        self: &Arc<Self>,
        sink: Arc<dyn ConsentSink>,
        origin: FlowOrigin,
    ) -> Result<AuthorizationTicket, AuthorizationError> {
        if self.config.auth_mode() != AuthMode::OAuth {
            return Err(AuthorizationError::NotOAuth);
        }
        let auth = self.auth().await?;
        let (url_tx, url_rx) = oneshot::channel::<String>();
        let (done_tx, mut done_rx) = oneshot::channel();
        self.set_status(ServerStatus::Authorizing { url: None });
        let runtime = self.clone();
        tokio::spawn(async move {
            let result = auth
                .authorize(
                    sink,
                    origin,
                    |url| {
                        runtime.set_status(ServerStatus::Authorizing {
                            url: Some(url.to_owned()),
                        });
                        runtime.emit_step(AuthorizationStep::WaitingForBrowser {
                            url: url.to_owned(),
                        });
                        let _ = url_tx.send(url.to_owned());
                    },
                    || runtime.emit_step(AuthorizationStep::ExchangingCode),
                )
                .await;
            // Whether a session is up now, not when the flow began: one may
            // have connected meanwhile with the tokens held before. A live
            // session takes the new tokens with its next request.
            let live = runtime.peer().is_some();
            match &result {
                Ok(()) if live => {
                    runtime.restore_connected();
                    runtime.emit_step(AuthorizationStep::Connected);
                }
                Ok(()) => {
                    runtime.announce_connected.store(true, Ordering::SeqCst);
                    runtime.set_status(ServerStatus::Connecting);
                    runtime.authorized.notify_one();
                }
                Err(error) => {
                    runtime.emit_step(AuthorizationStep::Failed {
                        reason: error.to_string(),
                    });
                    if live {
                        runtime.restore_connected();
                    } else {
                        runtime.set_status(ServerStatus::NeedsAuthorization {
                            reason: error.to_string(),
                        });
                    }
                }
            }
            let _ = done_tx.send(result);
        });
        match url_rx.await {
            Ok(url) => Ok(AuthorizationTicket { url, done: done_rx }),
            // The flow ended before there was a URL: report why.
            Err(_) => Err(match (&mut done_rx).await {
                Ok(Err(error)) => error,
                _ => AuthorizationError::Cancelled,
            }),
        }
    }

    fn restore_connected(&self) {
        let last = self
            .last_connected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(status) = last
            && self.peer().is_some()
        {
            self.set_status(status);
        }
    }

    /// Re-authorizes with more scopes after a 403 `insufficient_scope`,
    /// keeping the session. At most three times until a request succeeds.
    pub(crate) async fn step_up(
        self: &Arc<Self>,
        challenge: Option<String>,
    ) -> Result<(), AuthorizationError> {
        let auth = self.auth().await?;
        if !auth.try_step_up() {
            return Err(AuthorizationError::ScopeNotGranted(
                "more permissions, after three attempts".into(),
            ));
        }
        if let Some(challenge) = &challenge {
            auth.remember_step_up(challenge).await;
        }
        let scopes = challenge.as_deref().and_then(crate::oauth::challenge_scope);
        auth.note_challenge(challenge);
        let sink = self
            .shared
            .consent_sink()
            .ok_or(AuthorizationError::MorePermissionsNeeded { scopes })?;
        let ticket = self
            .start_authorization(sink, FlowOrigin::Automatic)
            .await?;
        ticket
            .done
            .await
            .unwrap_or(Err(AuthorizationError::Cancelled))
    }

    /// Forgets (and revokes where possible) the server's tokens.
    pub(crate) async fn sign_out(&self) -> Result<Option<String>, AuthorizationError> {
        let auth = self.auth().await?;
        let warning = auth.sign_out().await?;
        self.had_grant.store(false, Ordering::SeqCst);
        *self
            .unauthorized_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some("signed out".into());
        if self.peer().is_some() {
            // The live session's token is gone: end it.
            self.unauthorized.send_modify(|generation| *generation += 1);
        } else {
            self.set_status(ServerStatus::NeedsAuthorization {
                reason: "signed out".into(),
            });
        }
        Ok(warning)
    }
}

async fn sleep_or_forever(delay: Option<Duration>) {
    match delay {
        Some(delay) => tokio::time::sleep(delay).await,
        None => std::future::pending().await,
    }
}

/// Reconnects of the server-to-client event stream: a few quick tries,
/// then the session ends and the connection task takes over with its own
/// backoff (rmcp's default would retry forever).
#[derive(Debug)]
struct StreamRetry;

impl SseRetryPolicy for StreamRetry {
    fn retry(&self, attempt: usize) -> Option<Duration> {
        (attempt < 5).then(|| Duration::from_millis(250 << attempt.min(5)))
    }
}

/// Our side of the MCP session: identifies Gatehouse and relays
/// notifications the connection cares about.
pub(crate) struct GatehouseClient {
    runtime: std::sync::Weak<ServerRuntime>,
}

impl GatehouseClient {
    fn new(runtime: &Arc<ServerRuntime>) -> Self {
        Self {
            runtime: Arc::downgrade(runtime),
        }
    }
}

impl ClientHandler for GatehouseClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("gatehouse", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        if let Some(runtime) = self.runtime.upgrade() {
            runtime.tools_changed.notify_one();
        }
    }
}

/// `text` with each of `secrets` replaced by `[secret]`.
fn without_secrets(mut text: String, secrets: &[SecretString]) -> String {
    for secret in secrets {
        let value = secret.expose_secret();
        // Very short values would blank out ordinary words.
        if value.len() >= 4 && text.contains(value) {
            text = text.replace(value, "[secret]");
        }
    }
    text
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn secrets_a_server_echoes_are_cut_out() {
        let secrets = [
            SecretString::from("sk-live-123456"),
            SecretString::from("ab"),
        ];
        assert_eq!(
            without_secrets(
                "bad header Authorization: Bearer sk-live-123456 (ab)".into(),
                &secrets
            ),
            "bad header Authorization: Bearer [secret] (ab)"
        );
    }
}
