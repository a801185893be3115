//! `gatehouse proxy <id>`: one configured server, served over stdio to the
//! AI client that launched this process — a drop-in for `npx mcp-remote
//! <url>`. Every message passes in both directions without being
//! enumerated: the client's requests go to the server's live session (the
//! engine's, with its headers or OAuth tokens, refresh and reconnection) and
//! the answers come back unchanged; what the server sends its client
//! (elicitation, sampling, roots, progress, logging, list changes) reaches
//! the client through the connection's [`Downstream`] hook.
//!
//! Ids and progress tokens differ on the two sides: rmcp numbers each side's
//! requests itself, so a client's `notifications/cancelled` cancels the
//! matching upstream request through the request's cancellation token, and
//! the server's progress is passed back under the token the client chose.
//!
//! The upstream session starts when the client's `initialize` arrives, so it
//! advertises what the client supports. A server that cannot be reached, or
//! needs authorization, gets the client a JSON-RPC error that says so and
//! names the fix, within the server's connect timeout.
//!
//! The server's tool filter (`[servers.tools]`) is applied here: a tool it
//! leaves out is missing from `tools/list` and refused at `tools/call`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rmcp::model::{
    CancelledNotification, CancelledNotificationParam, ClientCapabilities, ClientNotification,
    ClientRequest, ClientResult, ErrorCode, Implementation, InitializeResult, ProgressToken,
    ServerNotification, ServerRequest, ServerResult,
};
use rmcp::service::{
    NotificationContext, Peer, PeerRequestOptions, RequestContext, ServerInitializeError, Service,
    ServiceExt,
};
use rmcp::transport::IntoTransport;
use rmcp::{ErrorData, RoleClient, RoleServer, ServiceError};
use tokio_util::sync::CancellationToken;

use crate::connection::{Downstream, RequestError};
use crate::events::ServerStatus;
use crate::{Engine, Error};

/// JSON-RPC error code for "the server behind Gatehouse is not available"
/// (in the range JSON-RPC leaves to implementations).
pub const SERVER_NOT_READY: ErrorCode = ErrorCode(-32001);

/// The proxy could not serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    #[error(transparent)]
    Engine(#[from] Error),
    /// The server was not available when the client started; the client
    /// was told the same.
    #[error("{0}")]
    NotReady(String),
    #[error("the MCP client did not start a session: {0}")]
    Handshake(String),
}

/// Serves server `id` to the MCP client on this process's stdin and stdout
/// until the client goes away.
pub async fn serve_stdio(engine: Engine, id: &str) -> Result<(), ProxyError> {
    serve(engine, id, rmcp::transport::io::stdio_pipes()).await
}

/// Serves server `id` to the MCP client on `transport` until it goes away.
pub async fn serve<T, E, A>(engine: Engine, id: &str, transport: T) -> Result<(), ProxyError>
where
    T: IntoTransport<RoleServer, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    // An unknown id fails before the client is read at all.
    engine.server_config(id)?;
    let proxy = Proxy {
        engine: engine.clone(),
        id: id.to_owned(),
        client: Arc::new(ClientSide::default()),
        started: tokio::sync::OnceCell::new(),
    };
    let running = match proxy.serve(transport).await {
        Ok(running) => running,
        Err(ServerInitializeError::InitializeFailed(error)) => {
            return Err(ProxyError::NotReady(error.message.into_owned()));
        }
        // The client left before it began.
        Err(ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
        Err(error) => return Err(ProxyError::Handshake(error.to_string())),
    };
    let quit = running.waiting().await;
    tracing::debug!(server = id, ?quit, "the MCP client went away");
    engine.connections().set_downstream(id, None);
    Ok(())
}

/// The MCP server the client sees.
struct Proxy {
    engine: Engine,
    id: String,
    client: Arc<ClientSide>,
    /// The upstream connection was started (or could not be).
    started: tokio::sync::OnceCell<Result<(), String>>,
}

impl Proxy {
    /// Starts the server's connection, advertising `capabilities`, with the
    /// client reachable through `peer`. Only the first call does anything.
    async fn start(
        &self,
        capabilities: ClientCapabilities,
        peer: Peer<RoleServer>,
    ) -> Result<(), ErrorData> {
        let started = self
            .started
            .get_or_init(|| async move {
                let _ = self.client.capabilities.set(capabilities);
                let _ = self.client.peer.set(peer);
                let connections = self.engine.connections();
                connections.set_downstream(&self.id, Some(self.client.clone()));
                self.engine
                    .start_only(&[self.id.as_str()])
                    .map_err(|e| e.to_string())
            })
            .await;
        started
            .clone()
            .map_err(|message| ErrorData::new(SERVER_NOT_READY, message, None))
    }

    /// The server's live session, or an error for the client that says why
    /// there is none and what fixes it.
    async fn upstream(&self) -> Result<Peer<RoleClient>, ErrorData> {
        self.engine
            .connections()
            .live_peer(&self.id)
            .await
            .map_err(|error| self.not_ready(error))
    }

    fn not_ready(&self, error: RequestError) -> ErrorData {
        let id = &self.id;
        let (message, state) = match &error {
            RequestError::NotConnected { status, .. } => {
                let message = match status {
                    ServerStatus::NeedsAuthorization { reason } => format!(
                        "Gatehouse: server \"{id}\" needs authorization ({reason}). Run `gatehouse auth {id}` or click Authorize in the Gatehouse app, then try again."
                    ),
                    ServerStatus::Authorizing { .. } => format!(
                        "Gatehouse: server \"{id}\" is being authorized in the browser; finish that, then try again."
                    ),
                    ServerStatus::Disabled => format!(
                        "Gatehouse: server \"{id}\" is switched off; switch it on in the Gatehouse app or in its config file."
                    ),
                    ServerStatus::Error { message, .. } => {
                        format!("Gatehouse: server \"{id}\" is unavailable: {message}")
                    }
                    ServerStatus::Connecting | ServerStatus::Connected { .. } => format!(
                        "Gatehouse: server \"{id}\" did not connect in time; check `gatehouse servers list`."
                    ),
                };
                (message, status.label())
            }
            other => (format!("Gatehouse: {other}"), "error"),
        };
        ErrorData::new(
            SERVER_NOT_READY,
            message,
            Some(serde_json::json!({ "server": id, "state": state })),
        )
    }

    /// Answers `initialize` with what the server said at its own.
    async fn initialize(
        &self,
        capabilities: ClientCapabilities,
        peer: Peer<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        self.start(capabilities, peer).await?;
        let upstream = self.upstream().await?;
        let Some(info) = upstream.peer_info() else {
            return Err(ErrorData::internal_error(
                "the server's session has no initialize result",
                None,
            ));
        };
        let server_info = info
            .server_info
            .clone()
            .unwrap_or_else(|| Implementation::new(self.id.clone(), "unknown"));
        let mut result = InitializeResult::new(info.capabilities.clone())
            .with_protocol_version(info.protocol_version.clone())
            .with_server_info(server_info);
        result.instructions = info.instructions.clone();
        result.meta = info.meta.clone();
        Ok(ServerResult::InitializeResult(result))
    }

    /// Sends `request` on the server's session and returns its answer; a
    /// cancellation by the client cancels it there too.
    async fn forward(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let client_token = context.meta.get_progress_token();
        let mut meta = context.meta.clone();
        meta.remove("progressToken");
        let connections = self.engine.connections();
        let mut upstream = self.upstream().await?;
        let mut retried = false;
        let handle = loop {
            let options = PeerRequestOptions::no_options().with_meta(meta.clone());
            match upstream
                .send_cancellable_request(request.clone(), options)
                .await
            {
                Ok(handle) => break handle,
                // The session ended before the request left: it was never
                // sent, so it is safe to send again on the next session.
                Err(ServiceError::TransportClosed) if !retried => {
                    retried = true;
                    connections.report_failure(&self.id, &ServiceError::TransportClosed);
                    upstream = self.upstream().await?;
                }
                Err(error) => return Err(self.failed(&error)),
            }
        };
        let upstream_token = handle.progress_token.clone();
        if let Some(token) = client_token {
            self.client.map_progress(upstream_token.clone(), token);
        }
        let (upstream_id, upstream_peer) = (handle.id.clone(), handle.peer.clone());
        let mut outcome = tokio::select! {
            outcome = handle.await_response() => Some(outcome),
            () = context.ct.cancelled() => None,
        };
        self.client.unmap_progress(&upstream_token);
        // The connection broke under the request (a server that restarted
        // leaves pooled connections that fail the next request): once the
        // session is back, send it again, once.
        if let Some(Err(error @ ServiceError::TransportSend(_))) = &outcome
            && !retried
            && !error.is_authorization_required()
            && error.auth_challenge().is_none()
        {
            connections.report_failure(&self.id, error);
            let upstream = self.upstream().await?;
            let options = PeerRequestOptions::no_options().with_meta(meta.clone());
            match upstream.send_cancellable_request(request, options).await {
                Ok(handle) => {
                    let token = handle.progress_token.clone();
                    if let Some(client_token) = context.meta.get_progress_token() {
                        self.client.map_progress(token.clone(), client_token);
                    }
                    let (id, peer) = (handle.id.clone(), handle.peer.clone());
                    outcome = tokio::select! {
                        outcome = handle.await_response() => Some(outcome),
                        () = context.ct.cancelled() => {
                            let cancelled = CancelledNotification::new(
                                CancelledNotificationParam::new(Some(id), Some("cancelled by the client".to_owned())),
                            );
                            let _ = peer.send_notification(cancelled.into()).await;
                            None
                        }
                    };
                    self.client.unmap_progress(&token);
                    if outcome.is_none() {
                        return Err(ErrorData::new(
                            ErrorCode::INTERNAL_ERROR,
                            "cancelled by the client",
                            None,
                        ));
                    }
                }
                Err(error) => outcome = Some(Err(error)),
            }
        }
        match outcome {
            Some(Ok(result)) => Ok(result),
            Some(Err(error)) => Err(self.failed(&error)),
            None => {
                // The client cancelled: pass it on. Its answer is dropped.
                let reason = Some("cancelled by the client".to_owned());
                let cancelled = CancelledNotification::new(CancelledNotificationParam::new(
                    Some(upstream_id),
                    reason,
                ));
                let _ = upstream_peer.send_notification(cancelled.into()).await;
                Err(ErrorData::new(
                    ErrorCode::INTERNAL_ERROR,
                    "cancelled by the client",
                    None,
                ))
            }
        }
    }

    /// The client asked for a tool the server's tool filter leaves out: as
    /// for a tool the server does not have (invalid params), in words.
    fn filtered_out(&self, tool: &str) -> ErrorData {
        ErrorData::invalid_params(
            format!(
                "Gatehouse: tool \"{}\" of server \"{}\" is not offered to clients (the server's tool filter in Gatehouse leaves it out).",
                crate::text::one_line(tool, 80),
                self.id
            ),
            None,
        )
    }

    /// A failed upstream request as the client's error: the server's own
    /// errors as they were (secrets cut out), transport failures in words.
    fn failed(&self, error: &ServiceError) -> ErrorData {
        let connections = self.engine.connections();
        match error {
            ServiceError::McpError(data) => {
                let mut data = data.clone();
                data.message = connections
                    .redact(&self.id, data.message.into_owned())
                    .into();
                data
            }
            other => match connections.report_failure(&self.id, other) {
                error @ RequestError::NotConnected { .. } => self.not_ready(error),
                error => ErrorData::new(SERVER_NOT_READY, format!("Gatehouse: {error}"), None),
            },
        }
    }
}

impl Service<RoleServer> for Proxy {
    async fn handle_request(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        match request {
            ClientRequest::InitializeRequest(initialize) => {
                tracing::info!(
                    server = %self.id,
                    client = %initialize.params.client_info.name,
                    "an MCP client connected"
                );
                self.initialize(initialize.params.capabilities, context.peer.clone())
                    .await
            }
            // Whether Gatehouse is alive: it answers itself.
            ClientRequest::PingRequest(_) => Ok(ServerResult::empty(())),
            // The upstream session has its own lifecycle; the client's
            // probe for the stateless one gets the legacy answer.
            ClientRequest::DiscoverRequest(_) => Err(ErrorData::method_not_found::<
                rmcp::model::DiscoverRequestMethod,
            >()),
            request => {
                // A client without `initialize` (2026-07-28) names its
                // capabilities on each request.
                let capabilities = context.client_capabilities().unwrap_or_default();
                self.start(capabilities, context.peer.clone()).await?;
                // The server's tool filter as it is now: an edit applies to
                // the next request.
                let tools = self
                    .engine
                    .server_config(&self.id)
                    .map(|server| server.tools)
                    .unwrap_or_default();
                if let ClientRequest::CallToolRequest(call) = &request
                    && !tools.offers(&call.params.name)
                {
                    return Err(self.filtered_out(&call.params.name));
                }
                let mut result = self.forward(request, context).await?;
                if let ServerResult::ListToolsResult(list) = &mut result {
                    list.tools.retain(|tool| tools.offers(&tool.name));
                }
                Ok(result)
            }
        }
    }

    async fn handle_notification(
        &self,
        notification: ClientNotification,
        _context: NotificationContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        match notification {
            // Cancellation arrives through the request's token; the session
            // upstream was initialized by the engine; the client's progress
            // on a server's request has no upstream token to go by.
            ClientNotification::CancelledNotification(_)
            | ClientNotification::InitializedNotification(_)
            | ClientNotification::ProgressNotification(_) => Ok(()),
            other => {
                if self.started.get().is_some()
                    && let Ok(upstream) = self.upstream().await
                    && let Err(error) = upstream.send_notification(other).await
                {
                    tracing::debug!(server = %self.id, %error, "a notification for the server was lost");
                }
                Ok(())
            }
        }
    }

    fn get_info(&self) -> rmcp::model::ServerConfig {
        // Only read for servers that skip `initialize`; the answer to
        // `initialize` is the remote server's own.
        InitializeResult::new(Default::default())
            .with_server_info(Implementation::new("gatehouse", env!("CARGO_PKG_VERSION")))
    }
}

/// The client, as the server's connection sees it.
#[derive(Default)]
struct ClientSide {
    capabilities: OnceLock<ClientCapabilities>,
    peer: OnceLock<Peer<RoleServer>>,
    /// Upstream progress token → the client's, for requests in flight.
    progress: Mutex<HashMap<ProgressToken, ProgressToken>>,
}

impl ClientSide {
    fn map_progress(&self, upstream: ProgressToken, client: ProgressToken) {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(upstream, client);
    }

    fn unmap_progress(&self, upstream: &ProgressToken) {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(upstream);
    }

    fn client_token(&self, upstream: &ProgressToken) -> Option<ProgressToken> {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(upstream)
            .cloned()
    }
}

#[async_trait::async_trait]
impl Downstream for ClientSide {
    fn capabilities(&self) -> ClientCapabilities {
        self.capabilities.get().cloned().unwrap_or_default()
    }

    async fn request(
        &self,
        request: ServerRequest,
        cancel: CancellationToken,
    ) -> Result<ClientResult, ErrorData> {
        let Some(peer) = self.peer.get() else {
            return Err(ErrorData::internal_error(
                "no MCP client is connected",
                None,
            ));
        };
        let handle = peer
            .send_cancellable_request(request, PeerRequestOptions::no_options())
            .await
            .map_err(|e| ErrorData::internal_error(format!("the MCP client: {e}"), None))?;
        let (id, peer) = (handle.id.clone(), handle.peer.clone());
        tokio::select! {
            answer = handle.await_response() => match answer {
                Ok(result) => Ok(result),
                Err(ServiceError::McpError(error)) => Err(error),
                Err(error) => Err(ErrorData::internal_error(format!("the MCP client: {error}"), None)),
            },
            () = cancel.cancelled() => {
                let cancelled = CancelledNotification::new(CancelledNotificationParam::new(
                    Some(id),
                    Some("cancelled by the server".to_owned()),
                ));
                let _ = peer.send_notification(cancelled.into()).await;
                Err(ErrorData::internal_error("cancelled by the server", None))
            }
        }
    }

    async fn notify(&self, notification: ServerNotification) {
        let notification = match notification {
            ServerNotification::ProgressNotification(mut progress) => {
                // Progress of a request the client made, under its token;
                // anything else is not the client's business.
                let Some(token) = self.client_token(&progress.params.progress_token) else {
                    return;
                };
                progress.params.progress_token = token;
                ServerNotification::ProgressNotification(progress)
            }
            other => other,
        };
        if let Some(peer) = self.peer.get()
            && let Err(error) = peer.send_notification(notification).await
        {
            tracing::debug!(%error, "a notification for the MCP client was lost");
        }
    }
}
