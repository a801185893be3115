//! A small but real MCP server (rmcp's Streamable HTTP server on axum) with
//! tools, a resource and a prompt, optionally behind a bearer token, that
//! records every request's headers so tests can see exactly what a client
//! sent.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::InputResponses;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{
    CallToolResponse, CallToolResult, ClientResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Implementation, InputRequest, InputRequiredResult,
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams,
    ProgressNotificationParam, Prompt, PromptMessage, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role,
    ServerCapabilities, ServerConfig, ServerRequest,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One HTTP request as the fixture received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    /// The JSON-RPC messages of a POST body (empty for GET and DELETE).
    pub calls: Vec<RpcCall>,
}

/// One JSON-RPC message of a POST body, as far as an access check cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcCall {
    /// `initialize`, `tools/call`, `notifications/initialized`, …; empty for
    /// a response (a message without `method`).
    pub method: String,
    /// `params.name` of a `tools/call`.
    pub tool: Option<String>,
    /// The message's JSON-RPC id (`Null` for a notification).
    pub id: serde_json::Value,
}

impl RpcCall {
    /// The tool a `tools/call` names, `None` for any other message.
    pub fn called_tool(&self) -> Option<&str> {
        (self.method == "tools/call")
            .then_some(self.tool.as_deref())
            .flatten()
    }
}

/// What an [`Access::CustomCall`] check sees of a request.
#[derive(Debug)]
pub struct GatedRequest<'a> {
    pub method: &'a http::Method,
    pub headers: &'a HeaderMap,
    /// The JSON-RPC messages of a POST body (empty for GET and DELETE).
    pub calls: &'a [RpcCall],
}

/// A custom access check: `Ok(())` lets the request in, `Err` is the response.
pub type AccessCheck = Arc<dyn Fn(&HeaderMap) -> Result<(), Response> + Send + Sync>;

/// A custom access check that also sees the JSON-RPC calls of the request,
/// so a tool call can demand more than the rest of the server does.
pub type CallCheck = Arc<dyn Fn(&GatedRequest<'_>) -> Result<(), Response> + Send + Sync>;

/// What requests must carry to be let in.
#[derive(Clone, Default)]
pub enum Access {
    /// Anyone.
    #[default]
    Open,
    /// `Authorization: Bearer <token>` with exactly this token.
    Bearer(String),
    /// A custom check on the headers.
    Custom(AccessCheck),
    /// A custom check on the headers and the JSON-RPC calls.
    CustomCall(CallCheck),
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Open => f.write_str("Open"),
            Self::Bearer(_) => f.write_str("Bearer(<token>)"),
            Self::Custom(_) => f.write_str("Custom(<check>)"),
            Self::CustomCall(_) => f.write_str("CustomCall(<check>)"),
        }
    }
}

/// How to run the fixture MCP server.
#[derive(Debug, Clone)]
pub struct McpOptions {
    pub name: String,
    pub access: Access,
    /// Answer a request for an unknown session the way older servers do
    /// (the TypeScript SDK before 1.10): 400 with a JSON-RPC error that has
    /// no `id`, instead of the specification's 404.
    pub unknown_session_400: bool,
    /// Also offer the tools that talk back to the client: `count`
    /// (progress), `wait_for_cancel` (cancellation), `ask_name`
    /// (elicitation), `ask_model` (sampling) and `ask_roots` (roots); and
    /// `primes`, whose structured output is an array (MCP 2026-07-28). Off
    /// by default, so the tool list stays the three that other tests count.
    pub interactive: bool,
    /// Also offer `payload`, a tool whose result is a text of the size the
    /// call asks for (the benchmark's small and 1 MB results).
    pub payload_tool: bool,
    /// With `interactive`: ask the client for its roots as soon as a
    /// session is initialized (as filesystem servers do), outside any call;
    /// the answers are in [`McpFixture::roots_on_connect`].
    pub roots_on_connect: bool,
    /// How long the server takes to answer its handshake (`initialize` or
    /// `server/discover`: a slow one, as a remote server far away has).
    pub initialize_delay: std::time::Duration,
}

impl Default for McpOptions {
    fn default() -> Self {
        Self {
            name: "gatehouse-fixture".into(),
            access: Access::Open,
            unknown_session_400: false,
            interactive: false,
            payload_tool: false,
            roots_on_connect: false,
            initialize_delay: std::time::Duration::ZERO,
        }
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<RecordedRequest>>,
    /// How many `wait_for_cancel` calls saw their cancellation.
    cancelled_calls: std::sync::atomic::AtomicUsize,
    /// With `roots_on_connect`: what each session's client answered.
    roots_on_connect: Mutex<Vec<String>>,
}

/// A running fixture MCP server on 127.0.0.1.
pub struct McpFixture {
    addr: SocketAddr,
    options: McpOptions,
    shared: Arc<Shared>,
    running: Option<(CancellationToken, JoinHandle<()>)>,
    extra: Option<Router>,
}

impl McpFixture {
    /// Starts on an ephemeral port.
    pub async fn start(options: McpOptions) -> std::io::Result<Self> {
        Self::start_with(options, None, "127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts with `extra` routes merged in (e.g. OAuth endpoints) on `addr`.
    pub async fn start_with(
        options: McpOptions,
        extra: Option<Router>,
        addr: SocketAddr,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Self::start_on(options, extra, listener)
    }

    /// Starts on an already bound listener, for callers that must know the
    /// address before the routes are built (an OAuth server names itself).
    pub fn start_on(
        options: McpOptions,
        extra: Option<Router>,
        listener: TcpListener,
    ) -> std::io::Result<Self> {
        let mut fixture = Self {
            addr: listener.local_addr()?,
            options,
            shared: Arc::new(Shared::default()),
            running: None,
            extra,
        };
        fixture.serve(listener);
        Ok(fixture)
    }

    fn serve(&mut self, listener: TcpListener) {
        let app = self.router();
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            // As real servers do: no Nagle delay on small answers.
            let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
                let _ = stream.set_nodelay(true);
            });
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
        self.running = Some((cancel, task));
    }

    fn router(&self) -> Router {
        let name = self.options.name.clone();
        let interactive = self.options.interactive.then(|| self.shared.clone());
        let payload_tool = self.options.payload_tool;
        let roots_on_connect = self.options.roots_on_connect;
        let mcp_cancel = CancellationToken::new();
        let service = StreamableHttpService::new(
            move || {
                let mcp = match &interactive {
                    Some(shared) => FixtureMcp::interactive(name.clone(), shared.clone())
                        .asking_roots_on_connect(roots_on_connect),
                    None => FixtureMcp::new(name.clone()),
                };
                Ok(if payload_tool {
                    mcp.with_payload()
                } else {
                    mcp
                })
            },
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default()
                .disable_allowed_hosts()
                .with_cancellation_token(mcp_cancel),
        );
        let gate = Gate {
            shared: self.shared.clone(),
            access: self.options.access.clone(),
            initialize_delay: self.options.initialize_delay,
        };
        let mut mcp = Router::new().nest_service("/mcp", service);
        if self.options.unknown_session_400 {
            mcp = mcp.layer(middleware::from_fn(unknown_session_as_400));
        }
        let mcp = mcp.layer(middleware::from_fn_with_state(gate, check_access));
        match &self.extra {
            Some(extra) => mcp.merge(extra.clone()),
            None => mcp,
        }
    }

    /// `http://127.0.0.1:PORT/mcp`
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// How many `wait_for_cancel` calls were cancelled by their client.
    /// With `roots_on_connect`: each session's client's answer at
    /// connect (its root URIs, or its error).
    pub fn roots_on_connect(&self) -> Vec<String> {
        self.shared.roots_on_connect.lock().unwrap().clone()
    }

    pub fn cancelled_calls(&self) -> usize {
        self.shared
            .cancelled_calls
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops serving: connections are dropped and the port is released.
    pub async fn stop(&mut self) {
        if let Some((cancel, task)) = self.running.take() {
            cancel.cancel();
            task.abort();
            let _ = task.await;
        }
    }

    /// Restarts on the same port with no sessions, as a server that was
    /// redeployed: clients holding a session id get 404 and must start over.
    pub async fn restart(&mut self) -> std::io::Result<()> {
        self.stop().await;
        let listener = bind_again(self.addr).await?;
        self.serve(listener);
        Ok(())
    }
}

impl Drop for McpFixture {
    fn drop(&mut self) {
        if let Some((cancel, task)) = self.running.take() {
            cancel.cancel();
            task.abort();
        }
    }
}

async fn bind_again(addr: SocketAddr) -> std::io::Result<TcpListener> {
    // The old socket may take a moment to be released after the abort.
    let mut last = None;
    for _ in 0..50 {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Err(last.unwrap())
}

#[derive(Clone)]
struct Gate {
    shared: Arc<Shared>,
    access: Access,
    initialize_delay: std::time::Duration,
}

/// The largest POST body the gate reads to find the JSON-RPC calls; the
/// same limit rmcp's server applies by default.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// See `McpOptions::unknown_session_400`.
async fn unknown_session_as_400(request: Request, next: Next) -> Response {
    let had_session = request.headers().contains_key("mcp-session-id");
    let response = next.run(request).await;
    if had_session && response.status() == StatusCode::NOT_FOUND {
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "error": {"code": -32000, "message": "Bad Request: No valid session ID provided"},
            "id": null,
        });
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    response
}

async fn check_access(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let (body, calls) = if parts.method == http::Method::POST {
        match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
            Ok(bytes) => {
                let calls = rpc_calls(&bytes);
                (axum::body::Body::from(bytes), calls)
            }
            Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response(),
        }
    } else {
        (body, Vec::new())
    };
    let request = Request::from_parts(parts, body);
    gate.shared.requests.lock().unwrap().push(RecordedRequest {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        headers: request.headers().clone(),
        calls: calls.clone(),
    });
    let verdict = match &gate.access {
        Access::Open => Ok(()),
        Access::Bearer(token) => {
            let expected = format!("Bearer {token}");
            match request.headers().get(header::AUTHORIZATION) {
                Some(value) if value.as_bytes() == expected.as_bytes() => Ok(()),
                _ => Err((
                    StatusCode::UNAUTHORIZED,
                    [(
                        header::WWW_AUTHENTICATE,
                        "Bearer realm=\"gatehouse-fixture\", error=\"invalid_token\"",
                    )],
                    "missing or wrong bearer token",
                )
                    .into_response()),
            }
        }
        Access::Custom(check) => check(request.headers()),
        Access::CustomCall(check) => check(&GatedRequest {
            method: request.method(),
            headers: request.headers(),
            calls: &calls,
        }),
    };
    match verdict {
        Ok(()) => {
            // The handshake: `initialize`, or `server/discover` for a
            // client of 2026-07-28.
            let handshake =
                |c: &RpcCall| matches!(c.method.as_str(), "initialize" | "server/discover");
            if !gate.initialize_delay.is_zero() && calls.iter().any(handshake) {
                tokio::time::sleep(gate.initialize_delay).await;
            }
            next.run(request).await
        }
        Err(response) => response,
    }
}

/// The JSON-RPC messages in a POST body: one object or a batch array.
/// Anything that is not JSON-RPC yields nothing; rmcp answers it.
fn rpc_calls(body: &[u8]) -> Vec<RpcCall> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let messages = match value {
        serde_json::Value::Array(items) => items,
        single => vec![single],
    };
    messages
        .iter()
        .filter(|message| message.is_object())
        .map(|message| RpcCall {
            method: message["method"].as_str().unwrap_or_default().to_owned(),
            tool: message["params"]["name"].as_str().map(str::to_owned),
            id: message["id"].clone(),
        })
        .collect()
}

/// The MCP handler: tools `echo`, `add` and `whoami`, one resource, one
/// prompt; with `interactive`, also `primes`, `count`, `wait_for_cancel`,
/// `ask_name`, `ask_model` and `ask_roots`.
#[derive(Clone)]
pub struct FixtureMcp {
    name: String,
    shared: Option<Arc<Shared>>,
    roots_on_connect: bool,
    /// The tools this instance offers (more with `interactive`).
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct EchoArgs {
    /// The text to send back.
    pub text: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AddArgs {
    pub a: f64,
    pub b: f64,
}

#[tool_router]
impl FixtureMcp {
    pub fn new(name: String) -> Self {
        Self {
            name,
            shared: None,
            roots_on_connect: false,
            tool_router: Self::tool_router(),
        }
    }

    fn interactive(name: String, shared: Arc<Shared>) -> Self {
        Self {
            name,
            shared: Some(shared),
            roots_on_connect: false,
            tool_router: Self::tool_router() + Self::interactive_router(),
        }
    }

    fn asking_roots_on_connect(mut self, ask: bool) -> Self {
        self.roots_on_connect = ask;
        self
    }

    #[tool(description = "Returns the text it is given")]
    fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        text
    }

    #[tool(description = "Adds two numbers")]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> String {
        (a + b).to_string()
    }

    #[tool(description = "Says which fixture server answered")]
    fn whoami(&self) -> String {
        self.name.clone()
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PayloadArgs {
    /// How many bytes of text the result holds.
    pub bytes: usize,
}

/// The largest result `payload` makes (16 MiB).
const MAX_PAYLOAD_BYTES: usize = 16 << 20;

/// `payload`, for measuring what a result's size costs.
#[tool_router(router = payload_router)]
impl FixtureMcp {
    fn with_payload(mut self) -> Self {
        self.tool_router += Self::payload_router();
        self
    }

    #[tool(description = "Returns a text of `bytes` bytes")]
    fn payload(
        &self,
        Parameters(PayloadArgs { bytes }): Parameters<PayloadArgs>,
    ) -> Result<String, ErrorData> {
        if bytes > MAX_PAYLOAD_BYTES {
            return Err(ErrorData::invalid_params("at most 16 MiB", None));
        }
        Ok("x".repeat(bytes))
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PrimesArgs {
    /// How many prime numbers to list.
    pub count: u8,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CountArgs {
    /// How many steps to count (each reported as progress).
    pub steps: u32,
}

/// The tools that talk back to the client.
#[tool_router(router = interactive_router)]
impl FixtureMcp {
    /// Structured output that is not an object (SEP-2106, MCP 2026-07-28):
    /// its output schema's root is an array.
    #[tool(description = "Lists the first `count` prime numbers")]
    fn primes(&self, Parameters(PrimesArgs { count }): Parameters<PrimesArgs>) -> Json<Vec<u32>> {
        let primes = (2u32..)
            .filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0))
            .take(usize::from(count))
            .collect();
        Json(primes)
    }

    #[tool(description = "Counts to `steps`, reporting progress after each step")]
    async fn count(
        &self,
        Parameters(CountArgs { steps }): Parameters<CountArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        let token = context.meta.get_progress_token();
        for step in 1..=steps {
            if let Some(token) = &token {
                let progress = ProgressNotificationParam::new(token.clone(), f64::from(step))
                    .with_total(f64::from(steps))
                    .with_message(format!("step {step} of {steps}"));
                context
                    .peer
                    .notify_progress(progress)
                    .await
                    .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Ok(format!("counted to {steps}"))
    }

    #[tool(description = "Waits until the call is cancelled (at most a minute)")]
    async fn wait_for_cancel(&self, context: RequestContext<RoleServer>) -> String {
        tokio::select! {
            () = context.ct.cancelled() => {
                if let Some(shared) = &self.shared {
                    shared
                        .cancelled_calls
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                "cancelled".into()
            }
            () = tokio::time::sleep(std::time::Duration::from_secs(60)) => "not cancelled".into(),
        }
    }

    #[tool(description = "Asks the person for their name (elicitation) and greets them")]
    async fn ask_name(
        &self,
        context: RequestContext<RoleServer>,
        InputResponses(answers): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        let request = serde_json::from_value(serde_json::json!({
            "method": "elicitation/create",
            "params": {
                "mode": "form",
                "message": "What is your name?",
                "requestedSchema": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}},
                    "required": ["name"],
                },
            },
        }))
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let answer = match ask_client(&context, answers, "name", request).await? {
            Asked::Answer(answer) => answer,
            Asked::Needed(needed) => return Ok(needed),
        };
        let text = match (
            answer["action"].as_str(),
            answer["content"]["name"].as_str(),
        ) {
            (Some("accept"), Some(name)) => format!("Hello, {name}!"),
            (Some("accept"), None) => "Hello, whoever you are!".to_owned(),
            (action, _) => format!("no name given ({})", action.unwrap_or("no answer")),
        };
        Ok(text_result(text))
    }

    // Sampling and roots are deprecated by 2026-07-28 (SEP-2577) but still
    // asked by servers of the revisions before it.
    #[tool(description = "Asks the client's model to say hello (sampling) and returns its answer")]
    async fn ask_model(
        &self,
        context: RequestContext<RoleServer>,
        InputResponses(answers): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        let request = serde_json::from_value(serde_json::json!({
            "method": "sampling/createMessage",
            "params": {
                "messages": [{"role": "user", "content": {"type": "text", "text": "Say hello"}}],
                "maxTokens": 20,
            },
        }))
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let answer = match ask_client(&context, answers, "model", request).await? {
            Asked::Answer(answer) => answer,
            Asked::Needed(needed) => return Ok(needed),
        };
        // The content is one block or a list of them; the text is what counts.
        let content = &answer["content"];
        let text = [content, &content[0]]
            .into_iter()
            .find_map(|block| block["text"].as_str())
            .unwrap_or("(no text)");
        let model = answer["model"].as_str().unwrap_or("(no model)");
        Ok(text_result(format!("{model} said: {text}")))
    }

    #[tool(description = "Lists the client's roots")]
    async fn ask_roots(
        &self,
        context: RequestContext<RoleServer>,
        InputResponses(answers): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        let request = serde_json::from_value(serde_json::json!({"method": "roots/list"}))
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let answer = match ask_client(&context, answers, "roots", request).await? {
            Asked::Answer(answer) => answer,
            Asked::Needed(needed) => return Ok(needed),
        };
        let roots: Vec<&str> = answer["roots"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|root| root["uri"].as_str())
            .collect();
        Ok(text_result(format!("roots: {}", roots.join(", "))))
    }
}

fn text_result(text: String) -> CallToolResponse {
    CallToolResult::success(vec![ContentBlock::text(text)]).into()
}

/// What a tool asked the client: the client's answer, or the result that
/// asks for it.
enum Asked {
    Answer(serde_json::Value),
    Needed(CallToolResponse),
}

/// Asks the client during a tool call, as the session's revision wants it:
/// before 2026-07-28 a request of the server's own, from 2026-07-28 on
/// (SEP-2322) an "input required" result naming the request under `key`,
/// whose answer comes with the call sent again.
async fn ask_client(
    context: &RequestContext<RoleServer>,
    answers: Option<rmcp::model::InputResponses>,
    key: &str,
    request: InputRequest,
) -> Result<Asked, ErrorData> {
    let stateless = context
        .protocol_version()
        .is_some_and(|version| !version.has_initialize());
    if stateless {
        return Ok(match answers.and_then(|mut answers| answers.remove(key)) {
            Some(answer) => Asked::Answer(answer),
            None => Asked::Needed(
                InputRequiredResult::from_input_requests(
                    [(key.to_owned(), request)].into_iter().collect(),
                )
                .into(),
            ),
        });
    }
    #[allow(deprecated)] // sampling and roots
    let request = match request {
        InputRequest::Elicitation(request) => ServerRequest::ElicitRequest(request),
        InputRequest::CreateMessage(request) => ServerRequest::CreateMessageRequest(request),
        InputRequest::ListRoots(request) => ServerRequest::ListRootsRequest(request),
        _ => {
            return Err(ErrorData::internal_error(
                "not a request for the client",
                None,
            ));
        }
    };
    let answer: ClientResult =
        context.peer.send_request(request).await.map_err(|e| {
            ErrorData::internal_error(format!("the client's answer failed: {e}"), None)
        })?;
    serde_json::to_value(answer)
        .map(Asked::Answer)
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for FixtureMcp {
    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let Some(shared) = self.shared.clone().filter(|_| self.roots_on_connect) else {
            return;
        };
        let peer = context.peer.clone();
        tokio::spawn(async move {
            #[allow(deprecated)] // roots: still asked by servers
            let answer = match peer.list_roots().await {
                Ok(result) => result
                    .roots
                    .iter()
                    .map(|r| r.uri.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
                Err(error) => format!("error: {error}"),
            };
            shared.roots_on_connect.lock().unwrap().push(answer);
        });
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new(self.name.clone(), "1.2.3"))
        .with_instructions("A Gatehouse test server")
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let readme = Resource::new("fixture://readme", "readme")
            .with_description("What this server is")
            .with_mime_type("text/plain");
        Ok(ListResourcesResult::with_all_items(vec![readme]))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let notes = ResourceTemplate::new("fixture://notes/{name}", "note")
            .with_description("A note, by name");
        Ok(ListResourceTemplatesResult::with_all_items(vec![notes]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != "fixture://readme" {
            return Err(ErrorData::resource_not_found("no such resource", None));
        }
        Ok(ReadResourceResult::new(vec![ResourceContents::text(
            "This is the Gatehouse fixture server.",
            request.uri,
        )])
        .into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(vec![Prompt::new(
            "greeting",
            Some("A friendly greeting"),
            None,
        )]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if request.name != "greeting" {
            return Err(ErrorData::invalid_params("no such prompt", None));
        }
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            "Hello from the fixture",
        )])
        .into())
    }
}

/// A TCP server that accepts connections and never answers: a hung server.
pub struct Blackhole {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Blackhole {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        Ok(Self { addr, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}
