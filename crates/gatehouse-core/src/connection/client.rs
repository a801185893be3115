//! Our side of an MCP session: the rmcp `ClientHandler` that identifies
//! Gatehouse and relays what the server announces to the connection's
//! task, and `connect()`, which opens a session over Streamable HTTP (with
//! the server's resolved headers, or through its OAuth state).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
#[allow(deprecated)] // sampling and roots: still asked by servers
use rmcp::model::{
    ClientCapabilities, ClientConfig, CreateMessageRequestParams, CreateMessageResult,
    ElicitRequestParams, ElicitResult, ElicitationAction, Implementation, ListRootsResult,
    ProtocolVersion,
};
use rmcp::service::{
    ClientInitializeError, ClientLifecycleMode, ClientServiceExt as _, NotificationContext,
    RequestContext, RunningService,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::common::client_side_sse::SseRetryPolicy;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, ErrorData, RoleClient};
use tokio::sync::mpsc;

use super::actor::Command;
use super::downstream::Relay;
use super::failure::Failure;
use crate::config::{AuthMode, ServerConfig};
use crate::elicitation::ElicitationSink;
use crate::events::ErrorKind;
use crate::oauth::ServerAuth;

/// Largest single answer (JSON body or SSE event) taken from a server.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

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

/// Our side of the MCP session: identifies Gatehouse, relays
/// notifications the connection cares about, and takes the server's
/// elicitation to the person (when a front end has one to ask).
#[derive(Clone)]
pub(crate) struct GatehouseClient {
    /// The connection's task (none for a handler that only answers
    /// requests for input, see [`GatehouseClient::answering`]).
    connection: Option<mpsc::WeakUnboundedSender<Command>>,
    server: String,
    person: Option<Arc<dyn ElicitationSink>>,
    /// The person's calls in flight, for a session's handler: sampling and
    /// roots are asked only during one (none: the handler answers within
    /// the person's call).
    person_calls: Option<PersonCalls>,
}

/// The person's own calls in flight, per server. A session's sampling or
/// roots request is taken to the person only while one is: the same
/// request arriving otherwise (a server that lists roots as soon as it is
/// connected, at the app's start; one asking for a gateway client's call)
/// is nobody's to answer, and is refused or answered with no roots without
/// a dialog.
#[derive(Clone, Default)]
pub(crate) struct PersonCalls(Arc<std::sync::Mutex<HashMap<String, usize>>>);

impl PersonCalls {
    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A call of the person's to `server`, until the guard is dropped.
    pub(crate) fn begin(&self, server: &str) -> PersonCall {
        *self.calls().entry(server.to_owned()).or_default() += 1;
        PersonCall {
            calls: self.clone(),
            server: server.to_owned(),
        }
    }

    fn in_flight(&self, server: &str) -> bool {
        self.calls().get(server).is_some_and(|n| *n > 0)
    }
}

/// See [`PersonCalls::begin`].
pub(crate) struct PersonCall {
    calls: PersonCalls,
    server: String,
}

impl Drop for PersonCall {
    fn drop(&mut self) {
        let mut calls = self.calls.calls();
        if let Some(n) = calls.get_mut(&self.server) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                calls.remove(&self.server);
            }
        }
    }
}

impl GatehouseClient {
    pub(crate) fn new(
        connection: mpsc::WeakUnboundedSender<Command>,
        server: &str,
        person: Option<Arc<dyn ElicitationSink>>,
        person_calls: PersonCalls,
    ) -> Self {
        Self {
            connection: Some(connection),
            server: server.to_owned(),
            person,
            person_calls: Some(person_calls),
        }
    }

    /// A handler for answering a server's requests for input during one of
    /// Gatehouse's own calls (multi-round-trip requests): it asks the
    /// person as the session's handler would, and relays nothing.
    pub(crate) fn answering(server: &str, person: Option<Arc<dyn ElicitationSink>>) -> Self {
        Self {
            connection: None,
            server: server.to_owned(),
            person,
            person_calls: None,
        }
    }

    /// The person, when a sampling or roots request may be taken to them.
    fn person_for_stand_in(&self) -> Option<&Arc<dyn ElicitationSink>> {
        let asked_within_a_call = match &self.person_calls {
            Some(calls) => calls.in_flight(&self.server),
            None => true,
        };
        self.person.as_ref().filter(|_| asked_within_a_call)
    }
}

impl ClientHandler for GatehouseClient {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        if self.person.is_some() {
            capabilities.elicitation = Some(crate::elicitation::capability());
            capabilities.sampling = Some(crate::stand_in::sampling_capability());
            capabilities.roots = Some(crate::stand_in::roots_capability());
        }
        // The version named in an `initialize`: the newest that has one
        // (2026-07-28 is reached through `server/discover`, see `connect`).
        ClientConfig::new(
            capabilities,
            Implementation::new("gatehouse", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        Ok(match &self.person {
            Some(person) => crate::elicitation::answer(person, &self.server, request).await,
            None => ElicitResult::new(ElicitationAction::Decline),
        })
    }

    #[allow(deprecated)]
    async fn create_message(
        &self,
        request: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        match (&self.person, self.person_for_stand_in()) {
            (_, Some(person)) => crate::stand_in::sample(person, &self.server, request).await,
            (Some(_), None) => Err(crate::stand_in::nobody_to_ask()),
            (None, None) => Err(ErrorData::method_not_found::<
                rmcp::model::CreateMessageRequestMethod,
            >()),
        }
    }

    #[allow(deprecated)]
    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, ErrorData> {
        Ok(match self.person_for_stand_in() {
            Some(person) => crate::stand_in::roots(person, &self.server).await,
            None => ListRootsResult::default(),
        })
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        if let Some(connection) = self.connection.as_ref().and_then(|c| c.upgrade()) {
            let _ = connection.send(Command::ToolsChanged);
        }
    }
}

/// How a session with a server begins, given the protocol version its
/// last session spoke: a server that spoke a revision with `initialize`
/// gets that handshake at once; any other is first asked `server/discover`
/// (2026-07-28, stateless), and answers with the older handshake when it
/// does not know it.
fn lifecycle(last: Option<&ProtocolVersion>) -> ClientLifecycleMode {
    match last {
        Some(version) if version.has_initialize() => ClientLifecycleMode::Initialize,
        _ => ClientLifecycleMode::Auto {
            preferred_versions: vec![ProtocolVersion::LATEST],
            legacy_version: Some(ProtocolVersion::LATEST_WITH_INITIALIZE),
        },
    }
}

/// Opens a session with `headers` (through `auth` for OAuth servers),
/// within the server's timeout; `last` is the protocol version the
/// server's last session spoke, if any.
pub(crate) async fn connect(
    config: &ServerConfig,
    http: reqwest::Client,
    auth: Option<Arc<ServerAuth>>,
    headers: HashMap<HeaderName, HeaderValue>,
    handler: Relay<GatehouseClient>,
    last: Option<&ProtocolVersion>,
) -> Result<RunningService<RoleClient, Relay<GatehouseClient>>, Failure> {
    let timeout = config.timeout();
    let mut transport_config =
        StreamableHttpClientTransportConfig::with_uri(config.url.as_str()).custom_headers(headers);
    transport_config.retry_config = Arc::new(StreamRetry);
    // rmcp's 16 MiB is too tight for tools that return a large document
    // twice over (as text and as structured content).
    transport_config.max_json_response_size = MAX_RESPONSE_BYTES;
    transport_config.max_sse_event_size = MAX_RESPONSE_BYTES;
    let mode = config.auth_mode();
    let auth = auth.filter(|_| mode == AuthMode::OAuth);
    let serve = |lifecycle: ClientLifecycleMode| {
        let (auth, handler, config) = (auth.clone(), handler.clone(), transport_config.clone());
        let http = http.clone();
        async move {
            match auth {
                Some(auth) => {
                    handler
                        .serve_with_lifecycle(auth.transport(config), lifecycle)
                        .await
                }
                None => {
                    let transport = StreamableHttpClientTransport::with_client(
                        super::transport::SessionAware(super::transport::McpHttp(http)),
                        config,
                    );
                    handler.serve_with_lifecycle(transport, lifecycle).await
                }
            }
        }
    };
    let first = lifecycle(last);
    let probed = matches!(first, ClientLifecycleMode::Auto { .. });
    let serving = async {
        match serve(first).await {
            // A server of an older revision that answers a method it does
            // not know (`server/discover`) with a success of some other
            // shape: it is no 2026-07-28 server, so `initialize` it.
            Err(ClientInitializeError::ExpectedInitResult(_)) if probed => {
                tracing::info!(server = %config.id, "the server answered server/discover with something else; using initialize");
                serve(ClientLifecycleMode::Initialize).await
            }
            other => other,
        }
    };
    let service = tokio::time::timeout(timeout, serving)
        .await
        .map_err(|_| Failure::timeout(timeout))?
        .map_err(|e| Failure::from_initialize(&e, mode))?;
    match unsupported_revision(&service) {
        None => Ok(service),
        Some(failure) => {
            let _ = service.cancel().await;
            Err(failure)
        }
    }
}

/// A server may answer `initialize` with a revision Gatehouse does not
/// speak (a newer one, or not a revision at all): the specification says to
/// disconnect rather than guess. Tried again later, as the server may be
/// updated.
fn unsupported_revision(
    service: &RunningService<RoleClient, Relay<GatehouseClient>>,
) -> Option<Failure> {
    let spoken = &service.peer_info()?.protocol_version;
    if ProtocolVersion::KNOWN_VERSIONS.contains(spoken) {
        return None;
    }
    let known: Vec<&str> = ProtocolVersion::KNOWN_VERSIONS
        .iter()
        .map(ProtocolVersion::as_str)
        .collect();
    Some(Failure::retryable(
        ErrorKind::Protocol,
        format!(
            "the server speaks MCP revision {:?}, which Gatehouse does not support (it speaks {})",
            crate::text::one_line(spoken.as_str(), 40),
            known.join(", ")
        ),
    ))
}
