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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use futures::future::BoxFuture;
use rmcp::model::{
    ClientCapabilities, ClientNotification, ClientRequest, ClientResult, ErrorCode, Implementation,
    InitializeRequestParams, InitializeResult, ProgressToken, ServerNotification, ServerRequest,
    ServerResult,
};
use rmcp::service::{
    NotificationContext, Peer, RequestContext, ServerInitializeError, Service, ServiceExt,
};
use rmcp::transport::IntoTransport;
use rmcp::{ErrorData, RoleServer};
use tokio_util::sync::CancellationToken;

use super::forward::{ProgressRoutes, Upstream, ask_client, called_tool};
use crate::activity::{Caller, Via};
use crate::connection::Downstream;
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
pub fn serve_stdio<'a>(engine: Engine, id: &'a str) -> BoxFuture<'a, Result<(), ProxyError>> {
    Box::pin(async move { serve(engine, id, rmcp::transport::io::stdio_pipes()).await })
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
        upstream: Upstream::new(engine.clone(), id),
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
    upstream: Upstream,
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

    /// Answers `initialize` with what the server said when its session
    /// began, in the client's revision (see [`Upstream::initialize_result`]).
    async fn initialize(
        &self,
        params: &InitializeRequestParams,
        peer: Peer<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        self.start(params.capabilities.clone(), peer).await?;
        Ok(ServerResult::InitializeResult(
            self.upstream
                .initialize_result(&params.protocol_version)
                .await?,
        ))
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
                let arrived = (std::time::SystemTime::now(), std::time::Instant::now());
                let params = initialize.params;
                tracing::info!(
                    server = %self.id,
                    client = %crate::text::one_line(&params.client_info.name, crate::activity::MAX_CLIENT_CHARS),
                    "an MCP client connected"
                );
                let answer = self.initialize(&params, context.peer.clone()).await;
                if let Err(error) = &answer {
                    let caller = Caller::new(params.client_info.name, Via::Proxy);
                    self.upstream
                        .record_refused("initialize", None, &caller, arrived, error)
                        .await;
                }
                answer
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
                let arrived = (std::time::SystemTime::now(), std::time::Instant::now());
                let capabilities = context.client_capabilities().unwrap_or_default();
                // The name the client gave at `initialize` (or, without
                // one, in the request's `_meta`).
                let name = context
                    .client_info()
                    .map(|info| info.name)
                    .unwrap_or_else(|| "unknown client".to_owned());
                let caller = Caller::new(name, Via::Proxy);
                if let Err(error) = self.start(capabilities, context.peer.clone()).await {
                    let tool = called_tool(&request);
                    self.upstream
                        .record_refused(request.method(), tool.as_deref(), &caller, arrived, &error)
                        .await;
                    return Err(error);
                }
                self.upstream
                    .forward(request, context, self.client.as_ref(), &caller)
                    .await
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
                if self.started.get().is_some() {
                    self.upstream.notify(other).await;
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
    fn client_token(&self, upstream: &ProgressToken) -> Option<ProgressToken> {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(upstream)
            .cloned()
    }
}

impl ProgressRoutes for ClientSide {
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
    ) -> Option<Result<ClientResult, ErrorData>> {
        let peer = self.peer.get()?;
        Some(ask_client(peer, request, cancel).await)
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
