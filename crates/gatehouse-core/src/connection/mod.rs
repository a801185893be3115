//! The connection manager: one task per configured server, each owning its
//! rmcp client and its status, and the requests (tools, resources, prompts,
//! tool calls) the front ends make through them.

mod actor;
pub(crate) mod answer;
mod backoff;
mod client;
mod downstream;
mod failure;
mod headers;
pub(crate) use headers::without_secrets;
pub(crate) mod listing;
pub(crate) mod rounds;
mod session;
mod state;
pub(crate) mod transport;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, ClientRequest, JsonObject, Prompt,
    Resource, ResourceTemplate, ServerResult, Tool,
};
use rmcp::service::{Peer, PeerRequestOptions};
use rmcp::{RoleClient, ServiceError};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{AuthMode, Config, ServerConfig};
use crate::elicitation::ElicitationSink;
use crate::error_code::ErrorCode;
use crate::events::{ErrorKind, Event, ServerStatus};
use crate::oauth::loopback::Delivery;
use crate::oauth::{AuthorizationError, ConsentSink, Recovery};
use crate::vault::Vault;
pub use actor::AuthorizationTicket;
use actor::ServerHandle;
pub use downstream::Downstream;
use failure::Failure;

/// How many events a slow subscriber may fall behind before it lags.
pub const EVENT_CAPACITY: usize = 256;

/// A request to a server could not be made or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    #[error("no server has the id {id:?}")]
    UnknownServer { id: String },
    #[error("server {id:?} is not connected ({})", describe(status))]
    NotConnected { id: String, status: ServerStatus },
    #[error("server {id:?} did not answer within {} s", timeout.as_secs())]
    Timeout { id: String, timeout: Duration },
    #[error("server {id:?}: {message}")]
    Failed { id: String, message: String },
}

/// An authorization could not be started or did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizeError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Authorization(#[from] AuthorizationError),
}

impl AuthorizeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Request(e) => e.code(),
            Self::Authorization(e) => e.code(),
        }
    }
}

impl RequestError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownServer { .. } => ErrorCode::UnknownServer,
            Self::NotConnected { .. } => ErrorCode::NotConnected,
            Self::Timeout { .. } => ErrorCode::Timeout,
            Self::Failed { .. } => ErrorCode::RequestFailed,
        }
    }
}

/// How long a request may take.
#[derive(Clone, Copy)]
enum Within {
    /// The server's configured timeout.
    ServerTimeout,
    /// What the call itself allows (its own timeout, counted again from
    /// each progress notification).
    Call,
}

fn describe(status: &ServerStatus) -> String {
    match status {
        ServerStatus::Error { message, .. } => format!("error: {message}"),
        ServerStatus::NeedsAuthorization { .. } => {
            "it needs authorization: run `gatehouse auth <id>` or click Authorize".into()
        }
        other => other.label().replace('_', " "),
    }
}

/// What every server's task shares.
pub(crate) struct Shared {
    pub(crate) events: broadcast::Sender<Event>,
    pub(crate) vault: Vault,
    /// The client for MCP traffic.
    pub(crate) http: reqwest::Client,
    health_interval: Mutex<Duration>,
    /// Where authorizations the engine starts by itself (step-up) go.
    consent: RwLock<Option<Arc<dyn ConsentSink>>>,
    /// Where a server's elicitation reaches a person (none: declined).
    elicitation: RwLock<Option<Arc<dyn ElicitationSink>>>,
    /// The person's own calls in flight, per server.
    pub(crate) person_calls: client::PersonCalls,
    /// Flips to `true` when servers without OAuth have settled, which lets
    /// OAuth servers start (startup phase two).
    pub(crate) phase_one: watch::Sender<bool>,
    /// Per server id, the front end that receives what the server sends its
    /// client (see `downstream.rs`).
    downstreams: RwLock<std::collections::HashMap<String, Arc<dyn Downstream>>>,
}

impl Shared {
    pub(crate) fn health_interval(&self) -> Duration {
        *self
            .health_interval
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn consent_sink(&self) -> Option<Arc<dyn ConsentSink>> {
        self.consent
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn elicitation_sink(&self) -> Option<Arc<dyn ElicitationSink>> {
        self.elicitation
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn downstream(&self, id: &str) -> Option<Arc<dyn Downstream>> {
        self.downstreams
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }
}

/// Owns every server's connection task. Cheap to clone.
#[derive(Clone)]
pub struct ConnectionManager {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    servers: Mutex<BTreeMap<String, Running>>,
}

struct Running {
    runtime: Arc<ServerHandle>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl ConnectionManager {
    pub fn new(vault: Vault, events: broadcast::Sender<Event>) -> Self {
        Self {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared {
                    events,
                    vault,
                    http: crate::http::mcp_client(),
                    health_interval: Mutex::new(session::DEFAULT_HEALTH_INTERVAL),
                    consent: RwLock::new(None),
                    elicitation: RwLock::new(None),
                    person_calls: client::PersonCalls::default(),
                    phase_one: watch::Sender::new(true),
                    downstreams: RwLock::default(),
                }),
                servers: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// How often an idle connection checks (with an MCP ping) that its
    /// server still answers. Applies to connections started afterwards.
    pub fn set_health_interval(&self, interval: Duration) {
        *self
            .inner
            .shared
            .health_interval
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = interval;
    }

    /// Where authorizations the engine starts by itself (step-up after a
    /// 403 `insufficient_scope`) present their consent page.
    pub fn set_consent_sink(&self, sink: Arc<dyn ConsentSink>) {
        *self
            .inner
            .shared
            .consent
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(sink);
    }

    /// Where servers' elicitation requests reach a person. Applies to
    /// sessions started afterwards (which then advertise elicitation).
    pub fn set_elicitation_sink(&self, sink: Arc<dyn ElicitationSink>) {
        *self
            .inner
            .shared
            .elicitation
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(sink);
    }

    /// Subscribes to status changes and other events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.shared.events.subscribe()
    }

    fn servers(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.inner.servers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the running connections match `config`: starts new servers,
    /// stops removed ones, restarts changed ones, and leaves the rest alone.
    /// Must be called from within a Tokio runtime.
    pub fn apply(&self, config: &Config) {
        self.start_phases(config);
        let mut servers = self.servers();
        let wanted: BTreeMap<&str, &ServerConfig> =
            config.servers.iter().map(|s| (s.id.as_str(), s)).collect();
        let stale: Vec<String> = servers
            .iter()
            .filter(|(id, running)| wanted.get(id.as_str()) != Some(&&running.runtime.config))
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            if let Some(running) = servers.remove(&id) {
                running.stop();
            }
        }
        for server in &config.servers {
            if !servers.contains_key(&server.id) {
                servers.insert(server.id.clone(), self.spawn(server.clone()));
            }
        }
    }

    fn spawn(&self, config: ServerConfig) -> Running {
        let cancel = CancellationToken::new();
        let (runtime, task) =
            ServerHandle::spawn(config, self.inner.shared.clone(), cancel.clone());
        Running {
            runtime,
            cancel,
            task,
        }
    }

    /// Startup in two phases: OAuth servers wait until the servers without
    /// OAuth that are starting now have settled (each within its timeout),
    /// so those come up first; servers waiting for consent delay nobody.
    fn start_phases(&self, config: &Config) {
        let starting: Vec<&ServerConfig> = {
            let servers = self.servers();
            config
                .servers
                .iter()
                .filter(|s| s.enabled && s.auth_mode() != AuthMode::OAuth)
                .filter(|s| servers.get(&s.id).map(|r| &r.runtime.config) != Some(s))
                .collect()
        };
        if starting.is_empty() {
            return;
        }
        let shared = self.inner.shared.clone();
        shared.phase_one.send_replace(false);
        let limit = starting
            .iter()
            .map(|s| s.timeout())
            .max()
            .unwrap_or_default()
            + Duration::from_secs(1);
        let ids: Vec<String> = starting.iter().map(|s| s.id.clone()).collect();
        let manager = self.clone();
        tokio::spawn(async move {
            let waits = ids.iter().map(|id| manager.wait_settled(id, limit));
            futures::future::join_all(waits).await;
            shared.phase_one.send_replace(true);
        });
    }

    /// Starts the server's task unless it runs already.
    pub fn ensure(&self, config: &ServerConfig) {
        let mut servers = self.servers();
        if !servers.contains_key(&config.id) {
            servers.insert(config.id.clone(), self.spawn(config.clone()));
        }
    }

    /// Restarts one server's connection.
    pub fn restart(&self, id: &str) -> bool {
        let mut servers = self.servers();
        let Some(running) = servers.remove(id) else {
            return false;
        };
        let config = running.runtime.config.clone();
        running.stop();
        servers.insert(id.to_owned(), self.spawn(config));
        true
    }

    /// Asks servers that are waiting for a change (an error that needs the
    /// person, or a backoff) to try again now.
    pub fn retry_waiting(&self) {
        for running in self.servers().values() {
            if matches!(running.runtime.status(), ServerStatus::Error { .. }) {
                running.runtime.retry_now();
            }
        }
    }

    pub fn status(&self, id: &str) -> Option<ServerStatus> {
        self.servers().get(id).map(|r| r.runtime.status())
    }

    /// Every server's id and status, sorted by id.
    pub fn statuses(&self) -> Vec<(String, ServerStatus)> {
        self.servers()
            .iter()
            .map(|(id, r)| (id.clone(), r.runtime.status()))
            .collect()
    }

    /// Waits until the server's status is no longer transient (or `limit`
    /// passes) and returns it.
    pub async fn wait_settled(&self, id: &str, limit: Duration) -> Option<ServerStatus> {
        self.wait_until(id, limit, |s| !s.is_transient()).await
    }

    /// Waits until the server's status satisfies `done` (or `limit` passes)
    /// and returns it.
    pub async fn wait_until(
        &self,
        id: &str,
        limit: Duration,
        done: impl FnMut(&ServerStatus) -> bool,
    ) -> Option<ServerStatus> {
        let mut watch = self.servers().get(id)?.runtime.watch_status();
        let _ = tokio::time::timeout(limit, watch.wait_for(done)).await;
        let status = watch.borrow().clone();
        Some(status)
    }

    /// The live peer of a server, waiting for a connection in progress.
    async fn connected_peer(
        &self,
        id: &str,
    ) -> Result<(Peer<RoleClient>, Arc<ServerHandle>), RequestError> {
        let runtime = self
            .servers()
            .get(id)
            .map(|r| r.runtime.clone())
            .ok_or_else(|| RequestError::UnknownServer { id: id.to_owned() })?;
        // A connect attempt has its own timeout; give it that long to finish.
        let mut watch = runtime.watch_status();
        let limit = runtime.config.timeout() + Duration::from_secs(2);
        let _ = tokio::time::timeout(limit, watch.wait_for(|s| !s.is_transient())).await;
        match runtime.peer() {
            Some(peer) => Ok((peer, runtime)),
            None => Err(RequestError::NotConnected {
                id: id.to_owned(),
                status: runtime.status(),
            }),
        }
    }

    /// Makes a request on the server's live session. For OAuth servers a
    /// 403 `insufficient_scope` re-authorizes with more scopes (through the
    /// consent sink) and retries once; a 401 moves the server to "needs
    /// authorization".
    async fn request<T, F>(
        &self,
        id: &str,
        call: impl Fn(Peer<RoleClient>) -> F,
    ) -> Result<T, RequestError>
    where
        F: Future<Output = Result<T, ServiceError>>,
    {
        self.request_within(id, Within::ServerTimeout, call).await
    }

    /// [`ConnectionManager::request`], with the wait `within` allows.
    async fn request_within<T, F>(
        &self,
        id: &str,
        within: Within,
        call: impl Fn(Peer<RoleClient>) -> F,
    ) -> Result<T, RequestError>
    where
        F: Future<Output = Result<T, ServiceError>>,
    {
        let mut stepped_up = false;
        let mut recovered = false;
        loop {
            let (peer, runtime) = self.connected_peer(id).await?;
            let timeout = runtime.config.timeout();
            let mode = runtime.config.auth_mode();
            // Either wait ends the same way: as rmcp's own timeout.
            let answer = match within {
                Within::ServerTimeout => tokio::time::timeout(timeout, call(peer))
                    .await
                    .unwrap_or(Err(ServiceError::Timeout { timeout })),
                Within::Call => call(peer).await,
            };
            let error = match answer {
                Ok(value) => {
                    if stepped_up && let Some(auth) = runtime.existing_auth() {
                        auth.reset_step_ups();
                    }
                    return Ok(value);
                }
                Err(ServiceError::Timeout { timeout }) => {
                    return Err(RequestError::Timeout {
                        id: id.to_owned(),
                        timeout,
                    });
                }
                Err(error) => error,
            };
            if let ServiceError::McpError(data) = &error {
                return Err(RequestError::Failed {
                    id: id.to_owned(),
                    message: runtime.redacted(data.message.to_string()),
                });
            }
            let failure = Failure::from_service(&error, mode);
            if mode == AuthMode::OAuth && failure.kind == ErrorKind::Unauthorized {
                if !failure.insufficient_scope {
                    // The token may have expired on the way, or another
                    // process replaced it: once, retry with the newest or a
                    // refreshed one.
                    if !recovered && let Some(auth) = runtime.existing_auth() {
                        recovered = true;
                        match auth.recover_from_rejection().await {
                            Recovery::Retry => continue,
                            Recovery::Reconnect => {
                                self.restart(id);
                                continue;
                            }
                            Recovery::NeedsAuthorization => {}
                        }
                    }
                    runtime.report_unauthorized(failure.challenge.clone());
                } else if !stepped_up {
                    // Re-authorize with more scopes, then retry once.
                    match runtime.step_up(failure.challenge.clone()).await {
                        Ok(()) => {
                            stepped_up = true;
                            continue;
                        }
                        Err(error @ AuthorizationError::MorePermissionsNeeded { .. }) => {
                            return Err(RequestError::Failed {
                                id: id.to_owned(),
                                message: error.to_string(),
                            });
                        }
                        Err(error) => {
                            return Err(RequestError::Failed {
                                id: id.to_owned(),
                                message: format!("the server needs more permissions: {error}"),
                            });
                        }
                    }
                }
            } else if matches!(
                error,
                ServiceError::TransportSend(_) | ServiceError::TransportClosed
            ) {
                // The session may have just been ended on purpose (its
                // authorization was rejected): say that rather than
                // "transport closed".
                let mut watch = runtime.watch_status();
                let settled = tokio::time::timeout(
                    Duration::from_millis(500),
                    watch.wait_for(|s| !matches!(s, ServerStatus::Connected { .. })),
                )
                .await;
                if let Ok(Ok(status)) = settled
                    && matches!(*status, ServerStatus::NeedsAuthorization { .. })
                {
                    return Err(RequestError::NotConnected {
                        id: id.to_owned(),
                        status: status.clone(),
                    });
                }
                runtime.report_broken();
            }
            return Err(RequestError::Failed {
                id: id.to_owned(),
                message: runtime.redacted(failure.message),
            });
        }
    }

    /// The server's tools (as listed when the session started, or since the
    /// server announced a change).
    pub async fn list_tools(&self, id: &str) -> Result<Vec<Tool>, RequestError> {
        if let Ok(runtime) = self.runtime(id)
            && runtime.peer().is_some()
            && let Some(tools) = runtime.cached_tools()
        {
            return Ok(tools.as_ref().clone());
        }
        self.request(id, |peer| async move { listing::tools(&peer).await })
            .await
    }

    /// The server's tools as it described them, listed afresh: with the
    /// fields rmcp's model does not know (such as `execution`) kept.
    pub async fn describe_tools(&self, id: &str) -> Result<Vec<serde_json::Value>, RequestError> {
        self.request(
            id,
            |peer| async move { listing::described_tools(&peer).await },
        )
        .await
    }

    /// The server's resources (none when it offers none).
    pub async fn list_resources(&self, id: &str) -> Result<Vec<Resource>, RequestError> {
        if !self.offers(id, |c| c.resources.is_some()) {
            return Ok(Vec::new());
        }
        self.request(id, |peer| async move { listing::resources(&peer).await })
            .await
    }

    /// The server's resource templates (none when it offers no resources).
    pub async fn list_resource_templates(
        &self,
        id: &str,
    ) -> Result<Vec<ResourceTemplate>, RequestError> {
        if !self.offers(id, |c| c.resources.is_some()) {
            return Ok(Vec::new());
        }
        self.request(id, |peer| async move {
            listing::resource_templates(&peer).await
        })
        .await
    }

    /// The server's prompts (none when it offers none).
    pub async fn list_prompts(&self, id: &str) -> Result<Vec<Prompt>, RequestError> {
        if !self.offers(id, |c| c.prompts.is_some()) {
            return Ok(Vec::new());
        }
        self.request(id, |peer| async move { listing::prompts(&peer).await })
            .await
    }

    /// Whether the connected server declared a capability; `true` when it
    /// is not connected (the request will say why).
    fn offers(&self, id: &str, has: fn(&rmcp::model::ServerCapabilities) -> bool) -> bool {
        self.runtime(id)
            .ok()
            .and_then(|r| r.peer())
            .and_then(|peer| peer.peer_info().map(|info| has(&info.capabilities)))
            .unwrap_or(true)
    }

    /// Calls a tool. A tool that reports an error (`isError`) is still a
    /// successful call: its result says what went wrong. The server has
    /// `wait` (its configured timeout when `None`) to answer, counted again
    /// from each progress notification it sends about the call.
    pub async fn call_tool(
        &self,
        id: &str,
        tool: &str,
        arguments: Option<JsonObject>,
        wait: Option<Duration>,
    ) -> Result<CallToolResult, RequestError> {
        let wait = match wait {
            Some(wait) => wait,
            None => self.runtime(id)?.config.timeout(),
        };
        let mut params = CallToolRequestParams::new(tool.to_owned());
        if let Some(arguments) = arguments {
            params = params.with_arguments(arguments);
        }
        // A server of 2026-07-28 asks for input by answering "input
        // required": the person who made this call answers, as for a
        // session's elicitation (never a front end's client: the call is not
        // theirs).
        let answering = downstream::Relay::new(
            client::GatehouseClient::answering(id, self.inner.shared.elicitation_sink()),
            None,
        );
        let answering = &answering;
        // A session's sampling and roots requests meanwhile are this call's.
        let _asking = self.inner.shared.person_calls.begin(id);
        self.request_within(id, Within::Call, |peer| {
            let call = ClientRequest::CallToolRequest(CallToolRequest::new(params.clone()));
            async move {
                let result = rounds::drive(
                    call,
                    |request| send_call(peer.clone(), request, wait),
                    |request| answering.answer(request, peer.clone()),
                    ServiceError::McpError,
                )
                .await?;
                match result {
                    ServerResult::CallToolResult(result) => Ok(result),
                    _ => Err(ServiceError::UnexpectedResponse),
                }
            }
        })
        .await
    }

    fn runtime(&self, id: &str) -> Result<Arc<ServerHandle>, RequestError> {
        self.servers()
            .get(id)
            .map(|r| r.runtime.clone())
            .ok_or_else(|| RequestError::UnknownServer { id: id.to_owned() })
    }

    /// Starts authorizing an OAuth server; the consent page goes to `sink`.
    pub async fn start_authorization(
        &self,
        id: &str,
        sink: Arc<dyn ConsentSink>,
    ) -> Result<AuthorizationTicket, AuthorizeError> {
        let runtime = self.runtime(id)?;
        Ok(runtime
            .start_authorization(sink, crate::oauth::FlowOrigin::Person)
            .await?)
    }

    /// Cancels an authorization that waits for the browser.
    pub fn cancel_authorization(&self, id: &str) -> bool {
        self.runtime(id)
            .ok()
            .and_then(|r| r.existing_auth())
            .is_some_and(|auth| auth.cancel_flow())
    }

    /// The URL of the authorization in progress for `id`.
    pub fn pending_authorization_url(&self, id: &str) -> Option<String> {
        self.runtime(id).ok()?.existing_auth()?.pending_url()
    }

    /// Hands an authorization the URL the browser ended on (for browsers
    /// that cannot reach the loopback listener).
    pub async fn deliver_callback(&self, id: &str, url: String) -> Delivery {
        match self.runtime(id).ok().and_then(|r| r.existing_auth()) {
            Some(auth) => auth.deliver_callback(url).await,
            None => Delivery::NotWaiting,
        }
    }

    /// Signs out of an OAuth server: revokes and forgets its tokens.
    /// Returns a warning when revocation at the server failed.
    pub async fn sign_out(&self, id: &str) -> Result<Option<String>, AuthorizeError> {
        let runtime = self.runtime(id)?;
        Ok(runtime.sign_out().await?)
    }

    /// Signs out of a server that is not running here (the CLI signing out,
    /// or removing a server): revokes and forgets without connecting.
    pub async fn sign_out_idle(
        &self,
        server: &ServerConfig,
    ) -> Result<Option<String>, AuthorizeError> {
        let auth = crate::oauth::ServerAuth::new(
            server,
            self.inner.shared.vault.clone(),
            self.inner.shared.http.clone(),
        )
        .await?;
        Ok(auth.sign_out().await?)
    }

    /// Token facts of an OAuth server, when its state is loaded.
    pub fn oauth_view(&self, id: &str) -> Option<crate::api::OAuthView> {
        let auth = self.runtime(id).ok()?.existing_auth()?;
        Some(auth.store().grant()?.view())
    }

    /// Stops every connection and waits for the tasks to end.
    pub async fn shutdown(&self) {
        let servers = std::mem::take(&mut *self.servers());
        for running in servers.into_values() {
            running.cancel.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(3), running.task).await;
        }
    }
}

/// Sends one round of a `tools/call`, which the server has `wait` to
/// answer, counted again from each of its progress notifications.
async fn send_call(
    peer: Peer<RoleClient>,
    request: ClientRequest,
    wait: Duration,
) -> Result<ServerResult, ServiceError> {
    let options = PeerRequestOptions::with_timeout(wait).reset_timeout_on_progress();
    let handle = peer.send_request_with_option(request, options).await?;
    Ok(match handle.await_response().await? {
        // A result without content (`{}`) is still a call's result.
        ServerResult::EmptyResult(_) => ServerResult::CallToolResult(CallToolResult::default()),
        result @ (ServerResult::CallToolResult(_) | ServerResult::InputRequiredResult(_)) => result,
        _ => return Err(ServiceError::UnexpectedResponse),
    })
}

impl Running {
    fn stop(self) {
        self.cancel.cancel();
        // The task ends on its own once cancelled; a stuck one is aborted.
        let task = self.task;
        tokio::spawn(async move {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(3), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        });
    }
}
