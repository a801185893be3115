//! One server's connection as one task: it alone writes the connection's
//! state. Front ends talk to it through a [`ServerHandle`], which sends
//! [`Command`]s on a channel and reads what the task publishes on `watch`es:
//! the status, the live session's peer and tools, the secrets to keep out of
//! what the server says, and the server's OAuth state.
//!
//! The task selects over its commands, the network work of the moment
//! (waiting for startup, checking tokens, connecting, or the live session)
//! and its timers; each outcome goes through the state machine
//! (`state.rs`), whose effects it carries out. Requests (`tools/call` and
//! the like) do not pass through it: they go straight to the published
//! peer, so they never queue behind a reconnect or an authorization.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::RoleClient;
use rmcp::model::{ProtocolVersion, Tool};
use rmcp::service::Peer;
use secrecy::SecretString;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::client::GatehouseClient;
use super::downstream::Relay;
use super::failure::Failure;
use super::headers::without_secrets;
use super::session::{Opened, Session, SessionEvent, SessionSettings};
use super::state::{Effect, Ended, Input, Readiness, State};
use crate::config::{AuthMode, ServerConfig};
use crate::events::{ErrorKind, Event, ServerStatus};
use crate::oauth::{AuthorizationError, ConsentSink, FlowOrigin, Recovery, ServerAuth};

/// An authorization that is waiting for the browser.
pub struct AuthorizationTicket {
    /// Where the browser was (or should be) sent.
    pub url: String,
    /// Resolves when the authorization ends.
    pub done: oneshot::Receiver<Result<(), AuthorizationError>>,
}

type FlowResult = Result<(), AuthorizationError>;

/// What the connection's task is asked to do, or told.
pub(crate) enum Command {
    /// Try to connect now (after a secret was stored, say).
    RetryNow,
    /// A request failed at the transport: check the session.
    Broken,
    /// The server announced a changed tool list.
    ToolsChanged,
    /// A request was refused for want of authorization.
    Unauthorized,
    /// Start a browser flow.
    Authorize {
        sink: Arc<dyn ConsentSink>,
        origin: FlowOrigin,
        url: oneshot::Sender<String>,
        done: oneshot::Sender<FlowResult>,
    },
    /// The flow has its consent URL; pass it on to `reply`.
    FlowUrl {
        url: String,
        reply: oneshot::Sender<String>,
    },
    /// The browser came back.
    FlowExchanging,
    /// The flow ended; pass the result on to `done`.
    FlowEnded {
        result: FlowResult,
        done: oneshot::Sender<FlowResult>,
    },
    /// The tokens were forgotten; answers once the status says so.
    SignedOut { done: oneshot::Sender<()> },
}

/// The live session as requests see it.
#[derive(Clone)]
pub(crate) struct Live {
    pub(crate) peer: Peer<RoleClient>,
    /// Its tools, as listed when it connected (or when the server last
    /// announced a change); `tools` answers from here.
    pub(crate) tools: Option<Arc<Vec<Tool>>>,
}

type AuthSlot = Option<Result<Arc<ServerAuth>, AuthorizationError>>;

/// The front ends' side of a server's connection task.
pub(crate) struct ServerHandle {
    pub(crate) config: ServerConfig,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<ServerStatus>,
    live: watch::Receiver<Option<Live>>,
    secrets: watch::Receiver<Arc<Vec<SecretString>>>,
    auth: watch::Receiver<AuthSlot>,
}

impl ServerHandle {
    /// Starts the server's task; it runs until `cancel` fires.
    pub(crate) fn spawn(
        config: ServerConfig,
        shared: Arc<Shared>,
        cancel: CancellationToken,
    ) -> (Arc<Self>, JoinHandle<()>) {
        let (commands, inbox) = mpsc::unbounded_channel();
        let state = State::new(config.enabled, config.auth_mode() == AuthMode::OAuth);
        let status = watch::Sender::new(state.status().clone());
        let live = watch::Sender::new(None);
        let secrets = watch::Sender::new(Arc::new(Vec::new()));
        let auth = watch::Sender::new(None);
        let handle = Arc::new(Self {
            config: config.clone(),
            shared: shared.clone(),
            commands: commands.clone(),
            status: status.subscribe(),
            live: live.subscribe(),
            secrets: secrets.subscribe(),
            auth: auth.subscribe(),
        });
        let actor = Actor {
            config,
            shared,
            inbox,
            outbox: commands.downgrade(),
            state,
            status,
            live,
            secrets,
            auth,
            work: Work::Idle,
            protocol: None,
        };
        let task = tokio::spawn(actor.run(cancel));
        (handle, task)
    }

    fn send(&self, command: Command) {
        // The task only ends when the connection is stopped: nothing is
        // left to tell then.
        let _ = self.commands.send(command);
    }

    pub(crate) fn status(&self) -> ServerStatus {
        self.status.borrow().clone()
    }

    pub(crate) fn watch_status(&self) -> watch::Receiver<ServerStatus> {
        self.status.clone()
    }

    /// The live session's peer, if connected.
    pub(crate) fn peer(&self) -> Option<Peer<RoleClient>> {
        self.live.borrow().as_ref().map(|live| live.peer.clone())
    }

    /// The live session's tools, when they were listed.
    pub(crate) fn cached_tools(&self) -> Option<Arc<Vec<Tool>>> {
        self.live
            .borrow()
            .as_ref()
            .and_then(|live| live.tools.clone())
    }

    pub(crate) fn retry_now(&self) {
        self.send(Command::RetryNow);
    }

    pub(crate) fn report_broken(&self) {
        self.send(Command::Broken);
    }

    /// The server's OAuth state (set up by the task when it starts).
    pub(crate) async fn auth(&self) -> Result<Arc<ServerAuth>, AuthorizationError> {
        let mut slot = self.auth.clone();
        match slot.wait_for(Option::is_some).await {
            Ok(slot) => slot.clone().unwrap_or(Err(AuthorizationError::Cancelled)),
            Err(_) => Err(AuthorizationError::Cancelled),
        }
    }

    /// The OAuth state if it is set up already (never waits).
    pub(crate) fn existing_auth(&self) -> Option<Arc<ServerAuth>> {
        self.auth.borrow().as_ref()?.as_ref().ok().cloned()
    }

    /// `text` from the server with the secrets its headers carried cut out.
    pub(crate) fn redacted(&self, text: String) -> String {
        without_secrets(text, &self.secrets.borrow())
    }

    /// A request was refused for want of authorization: reconnect through
    /// "needs authorization".
    pub(crate) fn report_unauthorized(&self, challenge: Option<String>) {
        if let Some(auth) = self.existing_auth() {
            auth.note_challenge(challenge);
        }
        self.send(Command::Unauthorized);
    }

    /// Starts an authorization; returns once the browser has somewhere to
    /// go (or the flow failed before that).
    pub(crate) async fn start_authorization(
        &self,
        sink: Arc<dyn ConsentSink>,
        origin: FlowOrigin,
    ) -> Result<AuthorizationTicket, AuthorizationError> {
        if self.config.auth_mode() != AuthMode::OAuth {
            return Err(AuthorizationError::NotOAuth);
        }
        self.auth().await?;
        let (url, url_rx) = oneshot::channel();
        let (done, mut done_rx) = oneshot::channel();
        self.send(Command::Authorize {
            sink,
            origin,
            url,
            done,
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

    /// Re-authorizes with more scopes after a 403 `insufficient_scope`,
    /// keeping the session. At most three times until a request succeeds.
    pub(crate) async fn step_up(
        &self,
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

    /// Forgets (and revokes where possible) the server's tokens; returns
    /// once the status says so.
    pub(crate) async fn sign_out(&self) -> Result<Option<String>, AuthorizationError> {
        let auth = self.auth().await?;
        let warning = auth.sign_out().await?;
        let (done, signed_out) = oneshot::channel();
        self.send(Command::SignedOut { done });
        let _ = signed_out.await;
        Ok(warning)
    }
}

/// What finished among the task's work.
enum Done {
    PhaseOne,
    WaitOver,
    Readiness(Readiness),
    Attempt(Box<Attempt>),
    Session(SessionEvent),
}

/// The outcome of an attempt to connect.
struct Attempt {
    /// The secrets its headers carry, when they were read.
    secrets: Option<Vec<SecretString>>,
    result: Result<Opened, Failed>,
}

enum Failed {
    Connect(Failure),
    /// It connected, but the session ended at once.
    Session(Ended),
}

/// The network work of the moment.
enum Work {
    Idle,
    Pending(BoxFuture<'static, Done>),
    Live(Box<Session>),
}

impl Work {
    /// Waits until the work has something to say. Cancel-safe.
    async fn next(&mut self) -> Done {
        match self {
            Work::Idle => std::future::pending().await,
            Work::Pending(work) => {
                let done = work.await;
                *self = Work::Idle;
                done
            }
            Work::Live(session) => Done::Session(session.next().await),
        }
    }
}

/// The task: the only writer of the connection's state.
struct Actor {
    config: ServerConfig,
    shared: Arc<Shared>,
    inbox: mpsc::UnboundedReceiver<Command>,
    /// For the browser flow and the rmcp handler to report back.
    outbox: mpsc::WeakUnboundedSender<Command>,
    state: State,
    status: watch::Sender<ServerStatus>,
    live: watch::Sender<Option<Live>>,
    secrets: watch::Sender<Arc<Vec<SecretString>>>,
    auth: watch::Sender<AuthSlot>,
    work: Work,
    /// The protocol version the last session spoke (forgotten when a
    /// connection fails): it decides how the next one begins.
    protocol: Option<ProtocolVersion>,
}

impl Actor {
    async fn run(mut self, cancel: CancellationToken) {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = self.set_up_auth() => {}
        }
        let effects = self.state.start();
        self.apply(effects);
        loop {
            enum Woke {
                Command(Command),
                Done(Done),
            }
            let woke = tokio::select! {
                () = cancel.cancelled() => break,
                command = self.inbox.recv() => match command {
                    Some(command) => Woke::Command(command),
                    None => break,
                },
                done = self.work.next() => Woke::Done(done),
            };
            let input = match woke {
                Woke::Command(command) => self.command(command),
                Woke::Done(done) => Some(self.done(done)),
            };
            if let Some(input) = input {
                let effects = self.state.step(input);
                self.apply(effects);
            }
        }
        if let Work::Live(session) = std::mem::replace(&mut self.work, Work::Idle) {
            (*session).close().await;
        }
        self.live.send_replace(None);
    }

    /// Sets up the server's OAuth state (no network I/O) and publishes it.
    async fn set_up_auth(&mut self) {
        let auth = ServerAuth::new(
            &self.config,
            self.shared.vault.clone(),
            self.shared.http.clone(),
        )
        .await
        .map(Arc::new);
        self.auth.send_replace(Some(auth));
    }

    fn existing_auth(&self) -> Option<Arc<ServerAuth>> {
        self.auth.borrow().as_ref()?.as_ref().ok().cloned()
    }

    /// Turns a command into an input of the state machine, doing what only
    /// the task may do on the way.
    fn command(&mut self, command: Command) -> Option<Input> {
        match command {
            Command::RetryNow => Some(Input::RetryNow),
            Command::Broken => Some(Input::Broken),
            Command::ToolsChanged => Some(Input::ToolsChanged),
            Command::Unauthorized => Some(Input::Unauthorized),
            Command::Authorize {
                sink,
                origin,
                url,
                done,
            } => {
                self.start_flow(sink, origin, url, done);
                Some(Input::AuthorizationStarted)
            }
            Command::FlowUrl { url, reply } => {
                let effects = self.state.step(Input::AuthorizationUrl(url.clone()));
                self.apply(effects);
                let _ = reply.send(url);
                None
            }
            Command::FlowExchanging => Some(Input::AuthorizationExchanging),
            Command::FlowEnded { result, done } => {
                let input = Input::AuthorizationEnded(result.clone().map_err(|e| e.to_string()));
                let effects = self.state.step(input);
                self.apply(effects);
                let _ = done.send(result);
                None
            }
            Command::SignedOut { done } => {
                let effects = self.state.step(Input::SignedOut);
                self.apply(effects);
                let _ = done.send(());
                None
            }
        }
    }

    /// Runs the browser flow beside the task; it reports back by command.
    fn start_flow(
        &self,
        sink: Arc<dyn ConsentSink>,
        origin: FlowOrigin,
        url: oneshot::Sender<String>,
        done: oneshot::Sender<FlowResult>,
    ) {
        let (Some(auth), Some(outbox)) = (self.existing_auth(), self.outbox.upgrade()) else {
            let _ = done.send(Err(AuthorizationError::Cancelled));
            return;
        };
        tokio::spawn(async move {
            let result = auth
                .authorize(
                    sink,
                    origin,
                    |found| {
                        let command = Command::FlowUrl {
                            url: found.to_owned(),
                            reply: url,
                        };
                        // With the task gone, the caller still hears it.
                        if let Err(mpsc::error::SendError(Command::FlowUrl { url, reply })) =
                            outbox.send(command)
                        {
                            let _ = reply.send(url);
                        }
                    },
                    || {
                        let _ = outbox.send(Command::FlowExchanging);
                    },
                )
                .await;
            if let Err(mpsc::error::SendError(Command::FlowEnded { result, done })) =
                outbox.send(Command::FlowEnded { result, done })
            {
                let _ = done.send(result);
            }
        });
    }

    /// Turns finished work into an input of the state machine.
    fn done(&mut self, done: Done) -> Input {
        match done {
            Done::PhaseOne => Input::PhaseOneDone,
            Done::WaitOver => Input::WaitOver,
            Done::Readiness(readiness) => Input::Readiness(readiness),
            Done::Attempt(attempt) => {
                let attempt = *attempt;
                if let Some(secrets) = attempt.secrets {
                    self.secrets.send_replace(Arc::new(secrets));
                }
                match attempt.result {
                    Ok(opened) => {
                        let holds_token = opened.session.holds_token();
                        self.protocol = opened
                            .session
                            .peer()
                            .peer_info()
                            .map(|info| info.protocol_version.clone());
                        self.live.send_replace(Some(Live {
                            peer: opened.session.peer().clone(),
                            tools: opened.tools.map(Arc::new),
                        }));
                        self.work = Work::Live(Box::new(opened.session));
                        Input::Connected {
                            status: opened.status,
                            holds_token,
                        }
                    }
                    Err(Failed::Connect(failure)) => {
                        self.protocol = None;
                        if failure.kind == ErrorKind::Unauthorized
                            && let Some(auth) = self.existing_auth()
                        {
                            auth.note_challenge(failure.challenge.clone());
                        }
                        if self.config.auth_mode() != AuthMode::OAuth
                            || failure.kind != ErrorKind::Unauthorized
                        {
                            tracing::info!(server = %self.config.id, kind = ?failure.kind, "connection failed");
                        }
                        Input::ConnectFailed(failure)
                    }
                    Err(Failed::Session(ended)) => Input::SessionEnded {
                        ended,
                        lasted: Duration::ZERO,
                    },
                }
            }
            Done::Session(SessionEvent::ToolsListed(tools)) => {
                let count = tools.len();
                self.live.send_modify(|live| {
                    if let Some(live) = live {
                        live.tools = Some(Arc::new(tools));
                    }
                });
                Input::ToolsListed { count }
            }
            Done::Session(SessionEvent::Ended(ended)) => {
                let lasted = match std::mem::replace(&mut self.work, Work::Idle) {
                    Work::Live(session) => session.lasted(),
                    _ => Duration::ZERO,
                };
                self.live.send_replace(None);
                if let Ended::Dropped(why) = &ended {
                    tracing::info!(server = %self.config.id, %why, "session ended; reconnecting");
                }
                Input::SessionEnded { ended, lasted }
            }
        }
    }

    /// Carries out the state machine's effects.
    fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Status(status) => self.set_status(status),
                Effect::ReauthorizationNeeded => self.emit(Event::ReauthorizationNeeded {
                    server: self.config.id.clone(),
                }),
                Effect::Step(step) => self.emit(Event::Authorization {
                    server: self.config.id.clone(),
                    step,
                }),
                Effect::AwaitPhaseOne => {
                    let mut phase_one = self.shared.phase_one.subscribe();
                    self.work = Work::Pending(Box::pin(async move {
                        let _ = phase_one.wait_for(|done| *done).await;
                        Done::PhaseOne
                    }));
                }
                Effect::CheckReadiness => self.check_readiness(),
                Effect::Connect { .. } => self.connect(),
                Effect::Abandon => self.work = Work::Idle,
                Effect::Wait(delay) => {
                    self.work = match delay {
                        Some(delay) => Work::Pending(Box::pin(async move {
                            tokio::time::sleep(delay).await;
                            Done::WaitOver
                        })),
                        None => Work::Idle,
                    };
                }
                Effect::EndSession => {
                    if let Work::Live(mut session) = std::mem::replace(&mut self.work, Work::Idle) {
                        session.end();
                    }
                    self.live.send_replace(None);
                }
                Effect::CheckAlive => {
                    if let Work::Live(session) = &mut self.work {
                        session.check_alive();
                    }
                }
                Effect::ListTools => {
                    self.live.send_modify(|live| {
                        if let Some(live) = live {
                            live.tools = None;
                        }
                    });
                    if let Work::Live(session) = &mut self.work {
                        session.list_tools();
                    }
                }
            }
        }
    }

    fn check_readiness(&mut self) {
        let auth = self.auth.borrow().clone();
        self.work = Work::Pending(Box::pin(async move {
            let auth = match auth {
                Some(Ok(auth)) => auth,
                Some(Err(error)) => return Done::Readiness(Readiness::NoAuth(error.to_string())),
                None => return Done::Readiness(Readiness::NoAuth("not set up".into())),
            };
            Done::Readiness(match auth.ensure_ready().await {
                crate::oauth::Readiness::Ready => Readiness::Ready,
                crate::oauth::Readiness::NeedsConsent(reason) => Readiness::NoGrant(reason),
                crate::oauth::Readiness::Unavailable(detail) => Readiness::Unavailable(detail),
                crate::oauth::Readiness::VaultUnavailable(detail) => {
                    Readiness::VaultUnavailable(detail)
                }
                crate::oauth::Readiness::Refused(detail) => Readiness::NoAuth(detail),
            })
        }));
    }

    fn connect(&mut self) {
        let config = self.config.clone();
        let shared = self.shared.clone();
        let auth = self
            .existing_auth()
            .filter(|_| config.auth_mode() == AuthMode::OAuth);
        let outbox = self.outbox.clone();
        let downstream = self.shared.downstream(&config.id);
        let person = self.shared.elicitation_sink();
        let person_calls = self.shared.person_calls.clone();
        let protocol = self.protocol.clone();
        self.work = Work::Pending(Box::pin(async move {
            let mut secrets = None;
            let headers = match super::headers::resolve(&config, &shared.vault, &mut secrets).await
            {
                Ok(headers) => headers,
                Err(failure) => {
                    return Done::Attempt(Box::new(Attempt {
                        secrets,
                        result: Err(Failed::Connect(failure)),
                    }));
                }
            };
            let mut recovered = false;
            let running = loop {
                let client = GatehouseClient::new(
                    outbox.clone(),
                    &config.id,
                    person.clone(),
                    person_calls.clone(),
                );
                let handler = Relay::new(client, downstream.clone());
                let failure = match super::client::connect(
                    &config,
                    shared.http.clone(),
                    auth.clone(),
                    headers.clone(),
                    handler,
                    protocol.as_ref(),
                )
                .await
                {
                    Ok(running) => break running,
                    Err(failure) => failure,
                };
                // The token may have expired on the way, or another process
                // replaced it: once, try the newest or a refreshed one.
                if failure.kind == ErrorKind::Unauthorized
                    && !failure.insufficient_scope
                    && !recovered
                    && let Some(auth) = &auth
                    && auth.recover_from_rejection().await == Recovery::Retry
                {
                    recovered = true;
                    continue;
                }
                return Done::Attempt(Box::new(Attempt {
                    secrets,
                    result: Err(Failed::Connect(failure)),
                }));
            };
            let settings = SessionSettings {
                server: config.id.clone(),
                timeout: config.timeout(),
                mode: config.auth_mode(),
                health_interval: shared.health_interval(),
                auth,
            };
            Done::Attempt(Box::new(Attempt {
                secrets,
                result: Session::open(running, settings)
                    .await
                    .map_err(Failed::Session),
            }))
        }));
    }

    fn emit(&self, event: Event) {
        let _ = self.shared.events.send(event);
    }

    fn set_status(&self, status: ServerStatus) {
        let status = match status {
            ServerStatus::Error { kind, message } => ServerStatus::Error {
                kind,
                message: without_secrets(message, &self.secrets.borrow()),
            },
            other => other,
        };
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
}
