//! The hook through which a front end that speaks MCP to a client of its own
//! (the stdio proxy; later the HTTP gateway) receives what a remote server
//! sends to *its* client: server-to-client requests (elicitation, sampling,
//! roots) and notifications (progress, logging, list changes, resource
//! updates). A server's connection hands them to the hook set for it and
//! advertises the capabilities the hook names; with no hook set it behaves
//! exactly as before (rmcp's defaults answer requests, notifications stop
//! here).
//!
//! Also here: the manager's accessors such a front end needs to forward
//! requests through a server's live session ([`ConnectionManager::live_peer`],
//! [`ConnectionManager::report_failure`]).

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    ClientCapabilities, ClientConfig, ClientResult, GetMeta, NumberOrString, ServerNotification,
    ServerRequest,
};
use rmcp::service::{NotificationContext, Peer, RequestContext, Service};
use rmcp::{ErrorData, RoleClient, ServiceError};
use tokio_util::sync::CancellationToken;

use super::failure::Failure;
use super::{ConnectionManager, RequestError};
use crate::config::AuthMode;
use crate::events::{ErrorKind, ServerStatus};

/// The client behind a front end, as a server's connection sees it.
#[async_trait::async_trait]
pub trait Downstream: Send + Sync + 'static {
    /// What the client supports (elicitation, sampling, roots…), advertised
    /// to the server when the session starts.
    fn capabilities(&self) -> ClientCapabilities;

    /// A request from the server for the client; `cancel` fires when the
    /// server cancels it. `None` when no client is there to ask (no request
    /// of one is in flight): the connection then answers as it would
    /// without a front end (the person, through the engine's elicitation
    /// sink, when a call of their own is what the server asks about).
    async fn request(
        &self,
        request: ServerRequest,
        cancel: CancellationToken,
    ) -> Option<Result<ClientResult, ErrorData>>;

    /// A notification from the server for the client.
    async fn notify(&self, notification: ServerNotification);
}

/// A connection's rmcp client handler with the server's [`Downstream`], if
/// one is set, in front of it.
#[derive(Clone)]
pub(crate) struct Relay<H> {
    handler: H,
    downstream: Option<Arc<dyn Downstream>>,
}

impl<H> Relay<H> {
    pub(crate) fn new(handler: H, downstream: Option<Arc<dyn Downstream>>) -> Self {
        Self {
            handler,
            downstream,
        }
    }
}

impl<H: Service<RoleClient>> Relay<H> {
    /// Answers a server's request for input (a multi-round-trip request,
    /// see [`super::rounds`]) as a server-to-client request of the session
    /// on `peer` would be answered.
    pub(crate) async fn answer(
        &self,
        request: ServerRequest,
        peer: Peer<RoleClient>,
    ) -> Result<ClientResult, ErrorData> {
        let context = RequestContext::new(NumberOrString::String("input".into()), peer);
        self.handle_request(request, context).await
    }
}

impl<H: Service<RoleClient>> Service<RoleClient> for Relay<H> {
    async fn handle_request(
        &self,
        request: ServerRequest,
        context: RequestContext<RoleClient>,
    ) -> Result<ClientResult, ErrorData> {
        match &self.downstream {
            // A ping asks whether Gatehouse is alive: it answers itself.
            Some(downstream) if !matches!(request, ServerRequest::PingRequest(_)) => {
                // rmcp moved the request's `_meta` into the context.
                let mut forwarded = request.clone();
                forwarded.get_meta_mut().extend(context.meta.clone());
                match downstream.request(forwarded, context.ct.clone()).await {
                    Some(answer) => answer,
                    None => self.handler.handle_request(request, context).await,
                }
            }
            _ => self.handler.handle_request(request, context).await,
        }
    }

    async fn handle_notification(
        &self,
        notification: ServerNotification,
        context: NotificationContext<RoleClient>,
    ) -> Result<(), ErrorData> {
        if let Some(downstream) = &self.downstream
            // The server cancelling one of its own requests reaches the
            // client through that request's `cancel` token (the ids differ).
            && !matches!(notification, ServerNotification::CancelledNotification(_))
        {
            let mut forwarded = notification.clone();
            forwarded.get_meta_mut().extend(context.meta.clone());
            downstream.notify(forwarded).await;
        }
        self.handler
            .handle_notification(notification, context)
            .await
    }

    fn get_info(&self) -> ClientConfig {
        let mut info = self.handler.get_info();
        if let Some(downstream) = &self.downstream {
            info.capabilities = downstream.capabilities();
        }
        info
    }
}

/// How long a request waits for a server whose session is being set up
/// again after it failed (a backoff is cut short for it).
const RECONNECT_WAIT: Duration = Duration::from_secs(10);

impl ConnectionManager {
    /// Routes what server `id` sends its client to `downstream` (or, with
    /// `None`, back to Gatehouse alone). Applies to sessions started
    /// afterwards: set it before the server connects.
    pub fn set_downstream(&self, id: &str, downstream: Option<Arc<dyn Downstream>>) {
        let mut hooks = self
            .inner
            .shared
            .downstreams
            .write()
            .unwrap_or_else(|e| e.into_inner());
        match downstream {
            Some(hook) => {
                hooks.insert(id.to_owned(), hook);
            }
            None => {
                hooks.remove(id);
            }
        }
    }

    /// The live session of server `id`, for requests a front end forwards
    /// as they are. Waits for a connection in progress, and for a session
    /// being set up again after it dropped; fails at once when the server
    /// needs the person (authorization, a secret).
    pub async fn live_peer(&self, id: &str) -> Result<Peer<RoleClient>, RequestError> {
        let runtime = self.runtime(id)?;
        let started = tokio::time::Instant::now();
        let connecting_limit = runtime.config.timeout() + Duration::from_secs(2);
        let mut status = runtime.watch_status();
        let mut nudged = false;
        loop {
            if let Some(peer) = runtime.peer()
                && !peer.is_transport_closed()
            {
                return Ok(peer);
            }
            let current = runtime.status();
            let limit = match &current {
                ServerStatus::Connecting | ServerStatus::Connected { .. } => connecting_limit,
                // Reconnecting after a failure: ask for it now rather than
                // after the backoff, and give it a moment.
                ServerStatus::Error { kind, .. } if retryable(kind) => {
                    if !nudged {
                        nudged = true;
                        runtime.retry_now();
                    }
                    RECONNECT_WAIT.min(connecting_limit)
                }
                _ => Duration::ZERO,
            };
            let Some(left) = limit
                .checked_sub(started.elapsed())
                .filter(|d| !d.is_zero())
            else {
                return Err(RequestError::NotConnected {
                    id: id.to_owned(),
                    status: current,
                });
            };
            // A status change, or a short tick: the peer is published just
            // after the status, and a dead one is only noticed by polling.
            let _ =
                tokio::time::timeout(left.min(Duration::from_millis(100)), status.changed()).await;
        }
    }

    /// Tells server `id`'s connection that a forwarded request failed at
    /// the transport, so it checks the session (and reconnects, or moves to
    /// "needs authorization"). Returns the error in words for the client.
    pub fn report_failure(&self, id: &str, error: &ServiceError) -> RequestError {
        let Ok(runtime) = self.runtime(id) else {
            return RequestError::UnknownServer { id: id.to_owned() };
        };
        let mode = runtime.config.auth_mode();
        let failure = Failure::from_service(error, mode);
        if mode == AuthMode::OAuth && failure.kind == ErrorKind::Unauthorized {
            if failure.insufficient_scope {
                if let Some(auth) = runtime.existing_auth() {
                    auth.note_challenge(failure.challenge.clone());
                }
                return RequestError::Failed {
                    id: id.to_owned(),
                    message: format!(
                        "the server needs more permissions for this: run `gatehouse auth {id}` or click Authorize in the Gatehouse app"
                    ),
                };
            }
            runtime.report_unauthorized(failure.challenge.clone());
            return RequestError::NotConnected {
                id: id.to_owned(),
                status: ServerStatus::NeedsAuthorization {
                    reason: "the server no longer accepts the authorization".into(),
                },
            };
        }
        if matches!(
            error,
            ServiceError::TransportSend(_) | ServiceError::TransportClosed
        ) {
            runtime.report_broken();
        }
        RequestError::Failed {
            id: id.to_owned(),
            message: runtime.redacted(failure.message),
        }
    }

    /// `text` from server `id` with the secrets its headers carry cut out.
    pub fn redact(&self, id: &str, text: String) -> String {
        match self.runtime(id) {
            Ok(runtime) => runtime.redacted(text),
            Err(_) => text,
        }
    }
}

/// Failures the connection retries by itself.
fn retryable(kind: &ErrorKind) -> bool {
    !matches!(
        kind,
        ErrorKind::MissingSecret
            | ErrorKind::Vault
            | ErrorKind::Authorization
            | ErrorKind::Unauthorized
    )
}
