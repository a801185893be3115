//! One server's HTTP sessions, as that server's connection sees them: the
//! gateway serves many clients of one server at once over the server's one
//! live session, so what the server sends *its* client is routed here to
//! the right one of them ([`SessionRouter`] is the server's
//! [`Downstream`]):
//!
//! - **Progress** goes to the session whose request it is about, under the
//!   token that session chose (the upstream token is mapped while the
//!   request is in flight).
//! - **Requests** (elicitation, sampling) are asked of the session with the
//!   most recent request in flight: a server asks them while it handles a
//!   request, and rmcp's client does not say which of its requests a
//!   server's request belongs to, so with several sessions waiting at once
//!   the newest is the best guess. With none in flight the server is told
//!   that no client can answer.
//! - **Everything else** (list changes, logging, resource updates) goes to
//!   every session of the server.
//!
//! The capabilities advertised upstream are fixed when the server connects
//! (before any client does): elicitation and sampling, which are asked
//! during a client's request. Roots are not advertised: a server asks for
//! them at any time, when no client may be there to answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rmcp::model::{
    ClientCapabilities, ClientResult, ProgressToken, ServerNotification, ServerRequest,
};
use rmcp::service::Peer;
use rmcp::{ErrorData, RoleServer};
use tokio_util::sync::CancellationToken;

use super::forward::{ProgressRoutes, ask_client};
use crate::connection::Downstream;

/// A session's key in its server's router.
pub(crate) type SessionKey = u64;

/// The sessions of one server, and where its traffic for them goes.
#[derive(Default)]
pub(crate) struct SessionRouter {
    next_key: AtomicU64,
    /// Orders requests in flight across sessions.
    next_request: AtomicU64,
    state: Mutex<RouterState>,
}

#[derive(Default)]
struct RouterState {
    sessions: HashMap<SessionKey, SessionEntry>,
    /// Upstream progress token → (session, the session's token).
    progress: HashMap<ProgressToken, (SessionKey, ProgressToken)>,
}

#[derive(Default)]
struct SessionEntry {
    peer: Option<Peer<RoleServer>>,
    /// The order numbers of this session's requests in flight.
    in_flight: Vec<u64>,
}

impl SessionRouter {
    fn state(&self) -> std::sync::MutexGuard<'_, RouterState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A key for a new session.
    pub(crate) fn open(&self) -> SessionKey {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        self.state().sessions.insert(key, SessionEntry::default());
        key
    }

    /// The session's client, once it spoke.
    pub(crate) fn attach(&self, key: SessionKey, peer: Peer<RoleServer>) {
        if let Some(entry) = self.state().sessions.get_mut(&key) {
            entry.peer.get_or_insert(peer);
        }
    }

    /// The session ended.
    pub(crate) fn close(&self, key: SessionKey) {
        let mut state = self.state();
        state.sessions.remove(&key);
        state.progress.retain(|_, (session, _)| *session != key);
    }

    /// Marks a request of session `key` in flight until the guard drops.
    pub(crate) fn begin(&self, key: SessionKey) -> InFlight<'_> {
        let order = self.next_request.fetch_add(1, Ordering::Relaxed);
        if let Some(entry) = self.state().sessions.get_mut(&key) {
            entry.in_flight.push(order);
        }
        InFlight {
            router: self,
            key,
            order,
        }
    }

    /// Progress routes for session `key`'s requests.
    pub(crate) fn routes(&self, key: SessionKey) -> SessionRoutes<'_> {
        SessionRoutes { router: self, key }
    }

    /// The client of the session with the newest request in flight.
    fn asked(&self) -> Option<Peer<RoleServer>> {
        let state = self.state();
        state
            .sessions
            .values()
            .filter_map(|entry| Some((entry.in_flight.iter().max()?, entry.peer.as_ref()?)))
            .max_by_key(|(order, _)| **order)
            .map(|(_, peer)| peer.clone())
    }

    #[cfg(test)]
    fn session_count(&self) -> usize {
        self.state().sessions.len()
    }
}

/// A request in flight, for as long as it lives.
pub(crate) struct InFlight<'r> {
    router: &'r SessionRouter,
    key: SessionKey,
    order: u64,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(entry) = self.router.state().sessions.get_mut(&self.key) {
            entry.in_flight.retain(|o| *o != self.order);
        }
    }
}

/// [`ProgressRoutes`] of one session.
pub(crate) struct SessionRoutes<'r> {
    router: &'r SessionRouter,
    key: SessionKey,
}

impl ProgressRoutes for SessionRoutes<'_> {
    fn map_progress(&self, upstream: ProgressToken, client: ProgressToken) {
        self.router
            .state()
            .progress
            .insert(upstream, (self.key, client));
    }

    fn unmap_progress(&self, upstream: &ProgressToken) {
        self.router.state().progress.remove(upstream);
    }
}

#[async_trait::async_trait]
impl Downstream for SessionRouter {
    // Sampling is deprecated for 2026-07-28 but still asked by servers on
    // the revisions before it.
    #[allow(deprecated)]
    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities::builder()
            .enable_elicitation()
            .enable_sampling()
            .build()
    }

    async fn request(
        &self,
        request: ServerRequest,
        cancel: CancellationToken,
    ) -> Option<Result<ClientResult, ErrorData>> {
        // No gateway client has a request in flight: the server asks about
        // something else (a call the person made in the app).
        let peer = self.asked()?;
        Some(ask_client(&peer, request, cancel).await)
    }

    async fn notify(&self, notification: ServerNotification) {
        let targets: Vec<(Peer<RoleServer>, ServerNotification)> = match notification {
            ServerNotification::ProgressNotification(mut progress) => {
                let state = self.state();
                let Some((key, token)) = state.progress.get(&progress.params.progress_token) else {
                    return;
                };
                let Some(peer) = state.sessions.get(key).and_then(|e| e.peer.clone()) else {
                    return;
                };
                progress.params.progress_token = token.clone();
                vec![(peer, ServerNotification::ProgressNotification(progress))]
            }
            other => self
                .state()
                .sessions
                .values()
                .filter_map(|entry| Some((entry.peer.clone()?, other.clone())))
                .collect(),
        };
        for (peer, notification) in targets {
            if let Err(error) = peer.send_notification(notification).await {
                tracing::debug!(%error, "a notification for a gateway client was lost");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::NumberOrString;

    #[test]
    fn sessions_and_requests_in_flight_are_tracked() {
        let router = SessionRouter::default();
        let a = router.open();
        let b = router.open();
        assert_ne!(a, b);
        assert_eq!(router.session_count(), 2);
        {
            let _first = router.begin(a);
            let _second = router.begin(b);
            let state = router.state();
            assert_eq!(state.sessions[&a].in_flight.len(), 1);
            assert_eq!(state.sessions[&b].in_flight.len(), 1);
        }
        assert!(router.state().sessions[&a].in_flight.is_empty());
        let routes = router.routes(a);
        routes.map_progress(
            ProgressToken(NumberOrString::Number(7)),
            ProgressToken(NumberOrString::String("mine".into())),
        );
        router.close(a);
        assert_eq!(router.session_count(), 1);
        assert!(router.state().progress.is_empty());
    }
}
