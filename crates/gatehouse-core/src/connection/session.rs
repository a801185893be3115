//! A live MCP session and what keeps it honest: the tool list taken when it
//! opens, a ping when it is idle or a request found it broken (the liveness
//! check), the OAuth token refreshed ahead of expiry, and the end of the
//! session when the server goes away or stops accepting its authorization.
//!
//! A `Session` belongs to the connection's task, which asks it for the next
//! thing that happened ([`Session::next`]) alongside its commands. Work in
//! flight (a ping, a refresh, a tool listing) is kept in the session, so
//! that asking can be interrupted by a command without losing it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use rmcp::model::{ClientRequest, ErrorCode, PingRequest, Tool};
use rmcp::service::{Peer, QuitReason, RunningService, RunningServiceCancellationToken};
use rmcp::transport::auth::AuthError;
use rmcp::{RoleClient, ServiceError};
use tokio::sync::watch;

use super::client::GatehouseClient;
use super::downstream::Relay;
use super::failure::Failure;
use super::state::Ended;
use crate::config::AuthMode;
use crate::events::{ErrorKind, ServerStatus};
use crate::oauth::ServerAuth;

/// How often an idle session is pinged to notice a dead server.
pub(crate) const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(60);
/// Pause after a failed background refresh before trying again.
const REFRESH_RETRY: Duration = Duration::from_secs(30);

/// What the session needs to know about its server.
#[derive(Clone)]
pub(crate) struct SessionSettings {
    pub(crate) server: String,
    pub(crate) timeout: Duration,
    pub(crate) mode: AuthMode,
    pub(crate) health_interval: Duration,
    /// The server's OAuth state, for OAuth servers.
    pub(crate) auth: Option<Arc<ServerAuth>>,
}

/// A session that has just opened: its `Connected` status and tools.
pub(crate) struct Opened {
    pub(crate) session: Session,
    pub(crate) status: ServerStatus,
    pub(crate) tools: Option<Vec<Tool>>,
}

/// Something that happened to a live session.
pub(crate) enum SessionEvent {
    Ended(Ended),
    /// The tools were listed again (after the server announced a change).
    ToolsListed(Vec<Tool>),
}

/// See the module documentation.
pub(crate) struct Session {
    settings: SessionSettings,
    peer: Peer<RoleClient>,
    cancel: Option<RunningServiceCancellationToken>,
    started: Instant,
    closed: BoxFuture<'static, Result<QuitReason, tokio::task::JoinError>>,
    rejections: Option<watch::Receiver<u64>>,
    ping: tokio::time::Interval,
    refresh_retry_at: Option<tokio::time::Instant>,
    refreshing: Option<BoxFuture<'static, Result<(), AuthError>>>,
    checking: Option<BoxFuture<'static, Result<(), Ended>>>,
    listing: Option<BoxFuture<'static, Option<Vec<Tool>>>>,
}

impl Session {
    /// Takes a session that just connected: lists its tools (if it has
    /// any) before anyone uses it. A session that cannot is ended.
    pub(crate) async fn open(
        running: RunningService<RoleClient, Relay<GatehouseClient>>,
        settings: SessionSettings,
    ) -> Result<Opened, Ended> {
        let peer = running.peer().clone();
        let cancel = running.cancellation_token();
        let (server_name, server_version) = peer
            .peer_info()
            .and_then(|info| info.server_info.clone())
            .map(|server| (server.name, server.version))
            .unwrap_or_default();
        let has_tools = peer
            .peer_info()
            .is_some_and(|info| info.capabilities.tools.is_some());
        let tools = if has_tools {
            match tokio::time::timeout(settings.timeout, super::listing::tools(&peer)).await {
                Ok(Ok(tools)) => Some(tools),
                Ok(Err(ServiceError::McpError(error))) => {
                    // The server is up and answering; only its tool list is
                    // broken. Stay connected: `tools` will say what is wrong.
                    tracing::warn!(server = %settings.server, message = %error.message, "the server could not list its tools");
                    None
                }
                Ok(Err(e)) => {
                    cancel.cancel();
                    let failure = Failure::from_service(&e, settings.mode);
                    if let Some(auth) = &settings.auth
                        && failure.kind == ErrorKind::Unauthorized
                    {
                        auth.note_challenge(failure.challenge);
                        return Err(Ended::NeedsAuthorization(
                            "the server asks for authorization to list its tools".into(),
                        ));
                    }
                    return Err(Ended::Dropped(format!(
                        "listing tools failed: {}",
                        failure.message
                    )));
                }
                Err(_) => {
                    cancel.cancel();
                    return Err(Ended::Dropped("listing tools timed out".into()));
                }
            }
        } else {
            None
        };
        let protocol_version = peer
            .peer_info()
            .map(|info| info.protocol_version.to_string())
            .unwrap_or_default();
        let status = ServerStatus::Connected {
            server_name,
            server_version,
            tool_count: tools.as_ref().map_or(0, Vec::len),
            protocol_version,
        };
        let rejections = settings.auth.as_ref().map(|auth| auth.store().rejections());
        let interval = settings.health_interval;
        Ok(Opened {
            session: Session {
                settings,
                peer,
                cancel: Some(cancel),
                started: Instant::now(),
                closed: Box::pin(running.waiting()),
                rejections,
                ping: tokio::time::interval_at(tokio::time::Instant::now() + interval, interval),
                refresh_retry_at: None,
                refreshing: None,
                checking: None,
                listing: None,
            },
            status,
            tools,
        })
    }

    pub(crate) fn peer(&self) -> &Peer<RoleClient> {
        &self.peer
    }

    /// How long the session has been up.
    pub(crate) fn lasted(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether it runs on a stored OAuth grant.
    pub(crate) fn holds_token(&self) -> bool {
        self.settings
            .auth
            .as_ref()
            .is_some_and(|auth| auth.store().grant().is_some_and(|g| g.has_token()))
    }

    /// Asks the server whether it still answers (unless a check is under
    /// way): one failed request does not prove the session dead.
    pub(crate) fn check_alive(&mut self) {
        if self.checking.is_none() {
            self.checking = Some(Box::pin(check_alive(
                self.peer.clone(),
                self.settings.clone(),
            )));
        }
    }

    /// Lists the tools again (the server announced a change).
    pub(crate) fn list_tools(&mut self) {
        let peer = self.peer.clone();
        let timeout = self.settings.timeout;
        self.listing = Some(Box::pin(async move {
            match tokio::time::timeout(timeout, super::listing::tools(&peer)).await {
                Ok(Ok(tools)) => Some(tools),
                _ => None,
            }
        }));
    }

    /// Ends the session.
    pub(crate) fn end(&mut self) {
        if let Some(cancel) = self.cancel.take() {
            cancel.cancel();
        }
    }

    /// Ends the session and gives it a moment to close.
    pub(crate) async fn close(mut self) {
        self.end();
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.closed).await;
    }

    /// Waits for the next thing that happens to the session. Cancel-safe:
    /// the work under way stays in the session.
    pub(crate) async fn next(&mut self) -> SessionEvent {
        loop {
            let Session {
                settings,
                closed,
                rejections,
                ping,
                refresh_retry_at,
                refreshing,
                checking,
                listing,
                ..
            } = self;
            let (busy, retry_at) = (refreshing.is_some(), *refresh_retry_at);
            let refresh_due = async {
                match (&settings.auth, busy) {
                    (Some(auth), false) => {
                        if let Some(at) = retry_at {
                            tokio::time::sleep_until(at).await;
                        }
                        auth.refresh_due().await
                    }
                    _ => std::future::pending().await,
                }
            };
            let refreshed = async {
                match refreshing.as_mut() {
                    Some(refreshing) => refreshing.await,
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
            let checked = async {
                match checking.as_mut() {
                    Some(checking) => checking.await,
                    None => std::future::pending().await,
                }
            };
            let listed = async {
                match listing.as_mut() {
                    Some(listing) => listing.await,
                    None => std::future::pending().await,
                }
            };
            enum Woke {
                Closed(String),
                Rejected,
                RefreshDue,
                Refreshed(Result<(), AuthError>),
                Checked(Result<(), Ended>),
                Listed(Option<Vec<Tool>>),
                Ping,
            }
            let woke = tokio::select! {
                quit = closed => Woke::Closed(format!("session closed ({quit:?})")),
                () = rejected => Woke::Rejected,
                () = refresh_due => Woke::RefreshDue,
                result = refreshed => Woke::Refreshed(result),
                result = checked => Woke::Checked(result),
                tools = listed => Woke::Listed(tools),
                _ = ping.tick() => Woke::Ping,
            };
            match woke {
                Woke::Closed(why) => return SessionEvent::Ended(Ended::Dropped(why)),
                Woke::Rejected => {
                    self.end();
                    return SessionEvent::Ended(Ended::NeedsAuthorization(
                        "the authorization server no longer accepts the saved authorization; authorize again".into(),
                    ));
                }
                Woke::RefreshDue => {
                    if let Some(auth) = self.settings.auth.clone() {
                        self.refreshing = Some(Box::pin(async move { auth.refresh().await }));
                    }
                }
                Woke::Refreshed(result) => {
                    self.refreshing = None;
                    match result {
                        Ok(()) => self.refresh_retry_at = None,
                        Err(
                            AuthError::TokenRefreshRejected(_) | AuthError::AuthorizationRequired,
                        ) => {
                            self.end();
                            return SessionEvent::Ended(Ended::NeedsAuthorization(
                                "the authorization server no longer accepts the saved authorization; authorize again".into(),
                            ));
                        }
                        Err(error) => {
                            tracing::info!(server = %self.settings.server, %error, "token refresh failed; will retry");
                            self.refresh_retry_at =
                                Some(tokio::time::Instant::now() + REFRESH_RETRY);
                        }
                    }
                }
                Woke::Checked(result) => {
                    self.checking = None;
                    if let Err(ended) = result {
                        self.end();
                        return SessionEvent::Ended(ended);
                    }
                }
                Woke::Listed(tools) => {
                    self.listing = None;
                    if let Some(tools) = tools {
                        return SessionEvent::ToolsListed(tools);
                    }
                }
                Woke::Ping => self.check_alive(),
            }
        }
    }
}

/// Pings the server; says how the session ended when it does not answer.
/// MCP 2026-07-28 has no `ping`: its servers answer "method not found",
/// which proves them alive as well as an answer would.
async fn check_alive(peer: Peer<RoleClient>, settings: SessionSettings) -> Result<(), Ended> {
    let ping = peer.send_request(ClientRequest::PingRequest(PingRequest::default()));
    match tokio::time::timeout(settings.timeout, ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(ServiceError::McpError(error))) if error.code == ErrorCode::METHOD_NOT_FOUND => {
            Ok(())
        }
        Ok(Err(e)) => {
            let failure = Failure::from_service(&e, settings.mode);
            if settings.auth.is_some() && failure.kind == ErrorKind::Unauthorized {
                Err(Ended::NeedsAuthorization(
                    "the server no longer accepts the authorization; authorize again".into(),
                ))
            } else {
                Err(Ended::Dropped(format!(
                    "the server stopped answering: {}",
                    failure.message
                )))
            }
        }
        Err(_) => Err(Ended::Dropped(
            "the server stopped answering (ping timed out)".into(),
        )),
    }
}
