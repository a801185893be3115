//! A server connection's state machine, without I/O: what the connection
//! does next and which status it shows, given what just happened.
//!
//! The server's task (`actor.rs`) is its only user: it turns commands, timers
//! and the outcomes of its network work into [`Input`]s, and carries out the
//! [`Effect`]s that [`State::step`] returns. Keeping the decisions here, as
//! plain data in and out, lets the races that used to be fixed one at a time
//! (stale wake-ups, an authorization finishing while a session connects,
//! sign-out during a flow, errors flickering to "connecting") be tested
//! without a network.

use std::time::Duration;

use super::backoff::Backoff;
use super::failure::Failure;
use crate::events::{AuthorizationStep, ErrorKind, ServerStatus};

/// A session that lasted this long resets the reconnect backoff.
pub(crate) const STABLE_SESSION: Duration = Duration::from_secs(30);
/// Pause before trying again when an OAuth server's authorization server
/// could not be reached.
pub(crate) const UNAVAILABLE_RETRY: Duration = Duration::from_secs(15);

/// What the connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Switched off in the config: it never connects.
    Disabled,
    /// An OAuth server waiting for the servers without OAuth to settle
    /// (startup phase two).
    Starting,
    /// Waiting before the next attempt (a backoff, or for a change).
    Waiting,
    /// Checking an OAuth server's stored tokens.
    Readying,
    /// Connecting and listing the server's tools.
    Connecting,
    /// A live session.
    Live,
}

/// How a live session (or one that just opened) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// It dropped or stopped answering: reconnect.
    Dropped(String),
    /// Its authorization is no longer accepted: wait for the person.
    NeedsAuthorization(String),
}

/// What an OAuth server's stored tokens allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Usable tokens.
    Ready,
    /// None: connect without, to learn what the server's challenge asks for.
    NoGrant(String),
    /// The authorization server could not be reached: try again later.
    Unavailable(String),
    /// The vault cannot be read: wait until it is unlocked.
    VaultUnavailable(String),
    /// The server's OAuth state could not be set up.
    NoAuth(String),
}

/// Something that happened to the connection.
#[derive(Debug)]
pub(crate) enum Input {
    /// Startup phase one is over (OAuth servers may start).
    PhaseOneDone,
    /// Try to connect now (a secret was stored, the vault unlocked).
    RetryNow,
    /// A backoff pause is over.
    WaitOver,
    /// The stored tokens were checked.
    Readiness(Readiness),
    /// The attempt to connect failed.
    ConnectFailed(Failure),
    /// A session is up. `status` is the `Connected` status to show;
    /// `holds_token` says it runs on a stored OAuth grant.
    Connected {
        status: ServerStatus,
        holds_token: bool,
    },
    /// The session ended, after `lasted`.
    SessionEnded { ended: Ended, lasted: Duration },
    /// The live session's tools were listed again.
    ToolsListed { count: usize },
    /// A request found the session broken at the transport.
    Broken,
    /// The server announced a changed tool list.
    ToolsChanged,
    /// A request was refused for want of authorization.
    Unauthorized,
    /// A browser flow started.
    AuthorizationStarted,
    /// The browser flow has its consent URL.
    AuthorizationUrl(String),
    /// The browser came back; the code is being exchanged.
    AuthorizationExchanging,
    /// The browser flow ended (`Err` carries why, for people).
    AuthorizationEnded(Result<(), String>),
    /// The person signed out: the tokens are gone.
    SignedOut,
}

/// What the task does in response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Show this status.
    Status(ServerStatus),
    /// Tell the person a server that had working tokens lost them.
    ReauthorizationNeeded,
    /// Announce a step of the authorization.
    Step(AuthorizationStep),
    /// Wait for startup phase one.
    AwaitPhaseOne,
    /// Check the stored tokens (OAuth servers).
    CheckReadiness,
    /// Connect; `without_grant` says why an OAuth server goes without tokens.
    Connect { without_grant: bool },
    /// Drop the attempt in progress.
    Abandon,
    /// Wait this long before the next attempt; `None`: until a change.
    Wait(Option<Duration>),
    /// End the live session.
    EndSession,
    /// Ask the live server whether it still answers.
    CheckAlive,
    /// List the live session's tools again.
    ListTools,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct State {
    oauth: bool,
    phase: Phase,
    status: ServerStatus,
    backoff: Backoff,
    /// Why the OAuth attempt in progress goes without tokens.
    without_grant: Option<String>,
    /// The server held usable tokens, so losing them is news.
    had_grant: bool,
    /// Announce `connected` to the authorization's listeners on connect.
    announce_connected: bool,
    /// A retry (or a finished authorization) arrived during an attempt:
    /// the pause after it is skipped.
    retry_requested: bool,
    /// The current wait ends by itself (a backoff, not a wait for a change).
    timed: bool,
    last_connected: Option<ServerStatus>,
}

impl State {
    pub(crate) fn new(enabled: bool, oauth: bool) -> Self {
        Self {
            oauth,
            phase: if enabled {
                Phase::Starting
            } else {
                Phase::Disabled
            },
            status: if enabled {
                ServerStatus::Connecting
            } else {
                ServerStatus::Disabled
            },
            backoff: Backoff::default(),
            without_grant: None,
            had_grant: false,
            announce_connected: false,
            retry_requested: false,
            timed: false,
            last_connected: None,
        }
    }

    #[cfg(test)]
    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    pub(crate) fn status(&self) -> &ServerStatus {
        &self.status
    }

    /// The first effects: what the task does when it starts.
    pub(crate) fn start(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        match self.phase {
            Phase::Disabled => self.set(ServerStatus::Disabled, &mut effects),
            _ if self.oauth => effects.push(Effect::AwaitPhaseOne),
            _ => self.attempt(&mut effects),
        }
        effects
    }

    /// Takes one input; returns what to do.
    pub(crate) fn step(&mut self, input: Input) -> Vec<Effect> {
        let mut effects = Vec::new();
        let fx = &mut effects;
        match (self.phase, input) {
            (Phase::Starting, Input::PhaseOneDone) => self.attempt(fx),
            (Phase::Waiting, Input::WaitOver) if self.timed => self.attempt(fx),
            (Phase::Waiting, Input::RetryNow) => {
                self.backoff.reset();
                self.attempt(fx);
            }
            (Phase::Starting | Phase::Readying | Phase::Connecting, Input::RetryNow) => {
                self.retry_requested = true;
            }
            (Phase::Readying, Input::Readiness(readiness)) => self.readiness(readiness, fx),
            (Phase::Connecting, Input::ConnectFailed(failure)) => self.connect_failed(failure, fx),
            (
                Phase::Connecting,
                Input::Connected {
                    status,
                    holds_token,
                },
            ) => {
                self.phase = Phase::Live;
                self.retry_requested = false;
                self.set(status, fx);
                if holds_token {
                    self.had_grant = true;
                }
                if std::mem::take(&mut self.announce_connected) {
                    fx.push(Effect::Step(AuthorizationStep::Connected));
                }
            }
            (Phase::Connecting | Phase::Live, Input::SessionEnded { ended, lasted }) => {
                self.session_ended(ended, lasted, fx)
            }
            (Phase::Live, Input::ToolsListed { count }) => {
                if let Some(ServerStatus::Connected {
                    server_name,
                    server_version,
                    protocol_version,
                    ..
                }) = self.last_connected.clone()
                {
                    let status = ServerStatus::Connected {
                        server_name,
                        server_version,
                        tool_count: count,
                        protocol_version,
                    };
                    self.set(status, fx);
                }
            }
            (Phase::Live, Input::Broken) => fx.push(Effect::CheckAlive),
            (Phase::Live, Input::ToolsChanged) => fx.push(Effect::ListTools),
            (Phase::Live, Input::Unauthorized) => {
                fx.push(Effect::EndSession);
                self.session_ended(
                    Ended::NeedsAuthorization(
                        "the server no longer accepts the authorization; authorize again".into(),
                    ),
                    Duration::ZERO,
                    fx,
                );
            }
            (_, Input::AuthorizationStarted) => {
                self.set(ServerStatus::Authorizing { url: None }, fx)
            }
            (_, Input::AuthorizationUrl(url)) => {
                self.set(
                    ServerStatus::Authorizing {
                        url: Some(url.clone()),
                    },
                    fx,
                );
                fx.push(Effect::Step(AuthorizationStep::WaitingForBrowser { url }));
            }
            (_, Input::AuthorizationExchanging) => {
                fx.push(Effect::Step(AuthorizationStep::ExchangingCode))
            }
            (phase, Input::AuthorizationEnded(result)) => {
                self.authorization_ended(phase, result, fx)
            }
            (phase, Input::SignedOut) => {
                self.had_grant = false;
                match phase {
                    Phase::Disabled => self.set(ServerStatus::Disabled, fx),
                    Phase::Live => {
                        fx.push(Effect::EndSession);
                        self.session_ended(
                            Ended::NeedsAuthorization("signed out".into()),
                            Duration::ZERO,
                            fx,
                        );
                    }
                    Phase::Readying | Phase::Connecting => {
                        // The attempt would only find the tokens gone.
                        fx.push(Effect::Abandon);
                        self.retry_requested = false;
                        self.set(
                            ServerStatus::NeedsAuthorization {
                                reason: "signed out".into(),
                            },
                            fx,
                        );
                        self.pause(None, fx);
                    }
                    Phase::Starting | Phase::Waiting => self.set(
                        ServerStatus::NeedsAuthorization {
                            reason: "signed out".into(),
                        },
                        fx,
                    ),
                }
            }
            // Anything else does not apply to the current phase (a timer
            // of an attempt that was replaced, a broken request after the
            // session ended): nothing to do.
            (phase, input) => {
                tracing::trace!(?phase, ?input, "input ignored");
            }
        }
        effects
    }

    fn set(&mut self, status: ServerStatus, fx: &mut Vec<Effect>) {
        if matches!(status, ServerStatus::Connected { .. }) {
            self.last_connected = Some(status.clone());
        }
        self.status = status.clone();
        fx.push(Effect::Status(status));
    }

    /// Starts an attempt: OAuth servers check their tokens first.
    fn attempt(&mut self, fx: &mut Vec<Effect>) {
        if self.oauth {
            self.phase = Phase::Readying;
            fx.push(Effect::CheckReadiness);
        } else {
            self.connect(None, fx);
        }
    }

    fn connect(&mut self, without_grant: Option<String>, fx: &mut Vec<Effect>) {
        self.phase = Phase::Connecting;
        fx.push(Effect::Connect {
            without_grant: without_grant.is_some(),
        });
        self.without_grant = without_grant;
        // A retry after a failure keeps showing the failure until it
        // succeeds: the list (and the tray) would flicker otherwise.
        if !matches!(self.status, ServerStatus::Error { .. }) {
            self.set(ServerStatus::Connecting, fx);
        }
    }

    /// Waits before the next attempt (`None`: until a change), unless a
    /// retry was asked for during the attempt.
    fn pause(&mut self, delay: Option<Duration>, fx: &mut Vec<Effect>) {
        if std::mem::take(&mut self.retry_requested) {
            self.backoff.reset();
            self.attempt(fx);
        } else {
            self.phase = Phase::Waiting;
            self.timed = delay.is_some();
            fx.push(Effect::Wait(delay));
        }
    }

    fn readiness(&mut self, readiness: Readiness, fx: &mut Vec<Effect>) {
        match readiness {
            Readiness::Ready => self.connect(None, fx),
            Readiness::NoGrant(reason) => self.connect(Some(reason), fx),
            Readiness::Unavailable(detail) => {
                self.set(ServerStatus::error(ErrorKind::Unreachable, detail), fx);
                self.pause(Some(UNAVAILABLE_RETRY), fx);
            }
            Readiness::VaultUnavailable(detail) => {
                // Unlocking the vault retries waiting servers.
                self.set(ServerStatus::error(ErrorKind::Vault, detail), fx);
                self.pause(None, fx);
            }
            Readiness::NoAuth(detail) => {
                self.set(ServerStatus::error(ErrorKind::Authorization, detail), fx);
                self.pause(None, fx);
            }
        }
    }

    fn connect_failed(&mut self, failure: Failure, fx: &mut Vec<Effect>) {
        if self.oauth && failure.kind == ErrorKind::Unauthorized {
            match self.without_grant.take() {
                Some(reason) => self.needs_authorization(reason, false, fx),
                None if failure.insufficient_scope => self.needs_authorization(
                    "the server requires more permissions; authorize again".into(),
                    false,
                    fx,
                ),
                None => self.needs_authorization(
                    "the server did not accept the authorization; authorize again".into(),
                    true,
                    fx,
                ),
            }
            self.pause(None, fx);
        } else {
            let delay = failure.retry.then(|| self.backoff.next());
            self.set(failure.into_status(), fx);
            self.pause(delay, fx);
        }
    }

    fn session_ended(&mut self, ended: Ended, lasted: Duration, fx: &mut Vec<Effect>) {
        match ended {
            Ended::Dropped(why) => {
                if lasted >= STABLE_SESSION {
                    self.backoff.reset();
                    self.set(ServerStatus::Connecting, fx);
                } else {
                    // It ended soon after it started (and may keep doing
                    // so): say why, rather than "connecting" for ever.
                    self.set(
                        ServerStatus::error(
                            ErrorKind::Protocol,
                            format!("the session ended ({why}); trying again"),
                        ),
                        fx,
                    );
                }
                let delay = self.backoff.next();
                self.pause(Some(delay), fx);
            }
            Ended::NeedsAuthorization(reason) => {
                self.needs_authorization(reason, true, fx);
                self.pause(None, fx);
            }
        }
    }

    /// Moves to "needs authorization"; tells the person once when a server
    /// that had working tokens lost them.
    fn needs_authorization(&mut self, reason: String, lost_grant: bool, fx: &mut Vec<Effect>) {
        if lost_grant && std::mem::take(&mut self.had_grant) {
            fx.push(Effect::ReauthorizationNeeded);
        }
        self.set(ServerStatus::NeedsAuthorization { reason }, fx);
    }

    fn authorization_ended(
        &mut self,
        phase: Phase,
        result: Result<(), String>,
        fx: &mut Vec<Effect>,
    ) {
        // Whether a session is up now, not when the flow began: one may
        // have connected meanwhile with the tokens held before. A live
        // session takes the new tokens with its next request.
        let live = phase == Phase::Live;
        match result {
            Ok(()) if live => {
                self.restore_connected(fx);
                fx.push(Effect::Step(AuthorizationStep::Connected));
            }
            Ok(()) if phase == Phase::Disabled => self.set(ServerStatus::Disabled, fx),
            Ok(()) => {
                self.announce_connected = true;
                self.set(ServerStatus::Connecting, fx);
                // Connect with the new tokens: now if waiting, else right
                // after the attempt under way.
                match phase {
                    Phase::Waiting => {
                        self.backoff.reset();
                        self.attempt(fx);
                    }
                    _ => self.retry_requested = true,
                }
            }
            Err(reason) => {
                fx.push(Effect::Step(AuthorizationStep::Failed {
                    reason: reason.clone(),
                }));
                if live {
                    self.restore_connected(fx);
                } else if phase == Phase::Disabled {
                    self.set(ServerStatus::Disabled, fx);
                } else {
                    self.set(ServerStatus::NeedsAuthorization { reason }, fx);
                }
            }
        }
    }

    fn restore_connected(&mut self, fx: &mut Vec<Effect>) {
        if let Some(status) = self.last_connected.clone() {
            self.set(status, fx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected(tools: usize) -> ServerStatus {
        ServerStatus::Connected {
            server_name: "demo".into(),
            server_version: "1".into(),
            tool_count: tools,
            protocol_version: "2026-07-28".into(),
        }
    }

    fn needs(reason: &str) -> ServerStatus {
        ServerStatus::NeedsAuthorization {
            reason: reason.into(),
        }
    }

    fn statuses(effects: &[Effect]) -> Vec<ServerStatus> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Status(status) => Some(status.clone()),
                _ => None,
            })
            .collect()
    }

    fn waits(effects: &[Effect]) -> Option<Option<Duration>> {
        effects.iter().find_map(|e| match e {
            Effect::Wait(delay) => Some(*delay),
            _ => None,
        })
    }

    /// A server with headers, live.
    fn live_headers_server() -> State {
        let mut state = State::new(true, false);
        assert_eq!(
            state.start(),
            vec![
                Effect::Connect {
                    without_grant: false
                },
                Effect::Status(ServerStatus::Connecting)
            ]
        );
        state.step(Input::Connected {
            status: connected(2),
            holds_token: false,
        });
        assert_eq!(state.phase(), Phase::Live);
        state
    }

    /// An OAuth server with stored tokens, live.
    fn live_oauth_server() -> State {
        let mut state = State::new(true, true);
        assert_eq!(state.start(), vec![Effect::AwaitPhaseOne]);
        assert_eq!(
            state.step(Input::PhaseOneDone),
            vec![Effect::CheckReadiness]
        );
        let effects = state.step(Input::Readiness(Readiness::Ready));
        assert!(effects.contains(&Effect::Connect {
            without_grant: false
        }));
        state.step(Input::Connected {
            status: connected(1),
            holds_token: true,
        });
        state
    }

    /// An OAuth server without tokens, waiting for the person.
    fn oauth_server_needing_consent() -> State {
        let mut state = State::new(true, true);
        state.start();
        state.step(Input::PhaseOneDone);
        let effects = state.step(Input::Readiness(Readiness::NoGrant(
            "not authorized yet".into(),
        )));
        assert!(effects.contains(&Effect::Connect {
            without_grant: true
        }));
        let effects = state.step(Input::ConnectFailed(Failure::fatal(
            ErrorKind::Unauthorized,
            "401",
        )));
        assert_eq!(statuses(&effects), vec![needs("not authorized yet")]);
        assert_eq!(waits(&effects), Some(None), "waits for the person");
        state
    }

    #[test]
    fn a_disabled_server_never_connects() {
        let mut state = State::new(false, false);
        assert_eq!(state.start(), vec![Effect::Status(ServerStatus::Disabled)]);
        assert!(state.step(Input::RetryNow).is_empty());
        assert!(state.step(Input::WaitOver).is_empty());
        assert_eq!(state.phase(), Phase::Disabled);
    }

    #[test]
    fn a_session_that_ends_soon_says_why_and_retries_with_backoff() {
        let mut state = live_headers_server();
        let effects = state.step(Input::SessionEnded {
            ended: Ended::Dropped("session closed".into()),
            lasted: Duration::from_secs(1),
        });
        match &statuses(&effects)[..] {
            [ServerStatus::Error { kind, message }] => {
                assert_eq!(*kind, ErrorKind::Protocol);
                assert!(message.contains("session closed"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let first = waits(&effects).flatten().expect("a backoff");
        assert_eq!(state.phase(), Phase::Waiting);
        // The retry keeps showing the error: no flicker to "connecting".
        let effects = state.step(Input::WaitOver);
        assert_eq!(
            effects,
            vec![Effect::Connect {
                without_grant: false
            }]
        );
        let effects = state.step(Input::ConnectFailed(Failure::retryable(
            ErrorKind::Unreachable,
            "refused",
        )));
        let second = waits(&effects).flatten().expect("a backoff");
        assert!(second > first, "{first:?} then {second:?}");
    }

    #[test]
    fn a_session_that_lasted_reconnects_showing_connecting() {
        let mut state = live_headers_server();
        let effects = state.step(Input::SessionEnded {
            ended: Ended::Dropped("session closed".into()),
            lasted: STABLE_SESSION,
        });
        assert_eq!(statuses(&effects), vec![ServerStatus::Connecting]);
        let delay = waits(&effects).flatten().expect("a pause");
        assert!(
            delay <= Duration::from_millis(600),
            "backoff reset: {delay:?}"
        );
    }

    #[test]
    fn refused_credentials_are_not_retried() {
        let mut state = State::new(true, false);
        state.start();
        let effects = state.step(Input::ConnectFailed(Failure::fatal(
            ErrorKind::Unauthorized,
            "the server refused the credentials",
        )));
        assert_eq!(waits(&effects), Some(None));
        assert!(state.step(Input::WaitOver).is_empty(), "no timer runs");
        // Storing a secret asks for a retry.
        assert_eq!(
            state.step(Input::RetryNow),
            vec![Effect::Connect {
                without_grant: false
            }]
        );
    }

    #[test]
    fn a_retry_during_an_attempt_skips_the_pause_after_it() {
        let mut state = State::new(true, false);
        state.start();
        assert!(state.step(Input::RetryNow).is_empty());
        let effects = state.step(Input::ConnectFailed(Failure::fatal(
            ErrorKind::Vault,
            "locked",
        )));
        assert_eq!(waits(&effects), None);
        assert!(effects.contains(&Effect::Connect {
            without_grant: false
        }));
    }

    #[test]
    fn a_retry_during_a_session_is_not_kept_for_later() {
        let mut state = live_headers_server();
        assert!(state.step(Input::RetryNow).is_empty());
        let effects = state.step(Input::SessionEnded {
            ended: Ended::Dropped("closed".into()),
            lasted: Duration::ZERO,
        });
        assert!(waits(&effects).flatten().is_some(), "{effects:?}");
    }

    #[test]
    fn authorizing_then_connected() {
        let mut state = oauth_server_needing_consent();
        assert_eq!(
            statuses(&state.step(Input::AuthorizationStarted)),
            vec![ServerStatus::Authorizing { url: None }]
        );
        let effects = state.step(Input::AuthorizationUrl("https://as/authorize".into()));
        assert_eq!(
            effects,
            vec![
                Effect::Status(ServerStatus::Authorizing {
                    url: Some("https://as/authorize".into())
                }),
                Effect::Step(AuthorizationStep::WaitingForBrowser {
                    url: "https://as/authorize".into()
                }),
            ]
        );
        let effects = state.step(Input::AuthorizationEnded(Ok(())));
        assert_eq!(
            effects,
            vec![
                Effect::Status(ServerStatus::Connecting),
                Effect::CheckReadiness
            ]
        );
        state.step(Input::Readiness(Readiness::Ready));
        let effects = state.step(Input::Connected {
            status: connected(3),
            holds_token: true,
        });
        assert_eq!(
            effects,
            vec![
                Effect::Status(connected(3)),
                Effect::Step(AuthorizationStep::Connected)
            ]
        );
        // Announced once only.
        state.step(Input::SessionEnded {
            ended: Ended::Dropped("closed".into()),
            lasted: STABLE_SESSION,
        });
        state.step(Input::WaitOver);
        state.step(Input::Readiness(Readiness::Ready));
        let effects = state.step(Input::Connected {
            status: connected(3),
            holds_token: true,
        });
        assert_eq!(effects, vec![Effect::Status(connected(3))]);
    }

    #[test]
    fn a_cancelled_authorization_goes_back_to_needing_one() {
        let mut state = oauth_server_needing_consent();
        state.step(Input::AuthorizationStarted);
        state.step(Input::AuthorizationUrl("https://as/authorize".into()));
        let effects = state.step(Input::AuthorizationEnded(Err("cancelled".into())));
        assert_eq!(
            effects,
            vec![
                Effect::Step(AuthorizationStep::Failed {
                    reason: "cancelled".into()
                }),
                Effect::Status(needs("cancelled")),
            ]
        );
        assert_eq!(state.phase(), Phase::Waiting);
        assert!(state.step(Input::WaitOver).is_empty());
    }

    #[test]
    fn an_authorization_that_ends_while_a_session_connected_meanwhile_ends_connected() {
        let mut state = live_oauth_server();
        state.step(Input::AuthorizationStarted);
        let effects = state.step(Input::AuthorizationEnded(Ok(())));
        assert_eq!(
            effects,
            vec![
                Effect::Status(connected(1)),
                Effect::Step(AuthorizationStep::Connected)
            ]
        );
        assert_eq!(state.phase(), Phase::Live);
        // A failed flow on a live session also goes back to connected.
        state.step(Input::AuthorizationStarted);
        let effects = state.step(Input::AuthorizationEnded(Err("denied".into())));
        assert_eq!(statuses(&effects), vec![connected(1)]);
    }

    #[test]
    fn an_authorization_that_ends_during_an_attempt_connects_right_after_it() {
        let mut state = State::new(true, true);
        state.start();
        state.step(Input::PhaseOneDone);
        state.step(Input::Readiness(Readiness::NoGrant(
            "not authorized yet".into(),
        )));
        state.step(Input::AuthorizationStarted);
        state.step(Input::AuthorizationEnded(Ok(())));
        // The attempt without tokens started before the flow ended fails…
        let effects = state.step(Input::ConnectFailed(Failure::fatal(
            ErrorKind::Unauthorized,
            "401",
        )));
        // …and the connection tries again with the new tokens at once.
        assert_eq!(waits(&effects), None, "{effects:?}");
        assert_eq!(effects.last(), Some(&Effect::CheckReadiness));
    }

    #[test]
    fn sign_out_ends_the_session_without_news_of_a_lost_grant() {
        let mut state = live_oauth_server();
        let effects = state.step(Input::SignedOut);
        assert_eq!(
            effects,
            vec![
                Effect::EndSession,
                Effect::Status(needs("signed out")),
                Effect::Wait(None)
            ]
        );
    }

    #[test]
    fn sign_out_while_authorizing_waits_for_the_person() {
        let mut state = oauth_server_needing_consent();
        state.step(Input::AuthorizationStarted);
        state.step(Input::AuthorizationUrl("https://as/authorize".into()));
        let effects = state.step(Input::SignedOut);
        assert_eq!(statuses(&effects), vec![needs("signed out")]);
        // The flow, cancelled by the sign-out, ends.
        let effects = state.step(Input::AuthorizationEnded(Err("cancelled".into())));
        assert_eq!(statuses(&effects), vec![needs("cancelled")]);
        assert_eq!(state.phase(), Phase::Waiting);
        assert!(state.step(Input::WaitOver).is_empty());
    }

    #[test]
    fn sign_out_during_an_attempt_abandons_it() {
        let mut state = State::new(true, true);
        state.start();
        state.step(Input::PhaseOneDone);
        let effects = state.step(Input::SignedOut);
        assert_eq!(
            effects,
            vec![
                Effect::Abandon,
                Effect::Status(needs("signed out")),
                Effect::Wait(None)
            ]
        );
        // The abandoned attempt's outcome, should it arrive, is ignored.
        assert!(state.step(Input::Readiness(Readiness::Ready)).is_empty());
    }

    #[test]
    fn lost_tokens_are_news_once() {
        let mut state = live_oauth_server();
        let effects = state.step(Input::Unauthorized);
        assert_eq!(effects[0], Effect::EndSession);
        assert!(effects.contains(&Effect::ReauthorizationNeeded));
        assert_eq!(waits(&effects), Some(None));
        // A second refusal (no session now) changes nothing.
        assert!(state.step(Input::Unauthorized).is_empty());
    }

    #[test]
    fn a_server_without_its_authorization_server_tries_again_later() {
        let mut state = State::new(true, true);
        state.start();
        state.step(Input::PhaseOneDone);
        let effects = state.step(Input::Readiness(Readiness::Unavailable("down".into())));
        assert_eq!(
            effects,
            vec![
                Effect::Status(ServerStatus::error(ErrorKind::Unreachable, "down")),
                Effect::Wait(Some(UNAVAILABLE_RETRY))
            ]
        );
        // A locked vault waits for the person.
        state.step(Input::WaitOver);
        let effects = state.step(Input::Readiness(Readiness::VaultUnavailable(
            "locked".into(),
        )));
        assert_eq!(waits(&effects), Some(None));
    }

    #[test]
    fn session_requests_apply_only_to_a_live_session() {
        let mut state = State::new(true, false);
        state.start();
        assert!(state.step(Input::Broken).is_empty());
        assert!(state.step(Input::ToolsChanged).is_empty());
        let mut state = live_headers_server();
        assert_eq!(state.step(Input::Broken), vec![Effect::CheckAlive]);
        assert_eq!(state.step(Input::ToolsChanged), vec![Effect::ListTools]);
        assert_eq!(
            state.step(Input::ToolsListed { count: 5 }),
            vec![Effect::Status(connected(5))]
        );
    }
}
