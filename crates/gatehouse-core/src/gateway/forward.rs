//! Forwarding a downstream client's requests to a server's live session,
//! shared by the front ends (the stdio proxy, the HTTP gateway's sessions):
//! the engine's connection does the authentication, refresh and
//! reconnection; this adds what forwarding itself needs — a request sent
//! again once when the session broke under it, cancellation passed on,
//! progress passed back under the client's token, and failures told to the
//! client in words that name the fix, answers shaped for the client's
//! revision. Every forwarded call is recorded in the Activity record here,
//! once for both front ends.

use rmcp::model::{
    CancelledNotification, CancelledNotificationParam, ClientNotification, ClientRequest,
    ClientResult, CustomResult, ErrorCode, Implementation, InitializeResult, ProgressToken,
    ProtocolVersion, ServerRequest, ServerResult,
};
use rmcp::service::{Peer, PeerRequestOptions, RequestContext};
use rmcp::{ErrorData, RoleClient, RoleServer, ServiceError};
use tokio_util::sync::CancellationToken;

use crate::Engine;
use crate::activity::{ActivityRecord, Caller, Outcome};
use crate::connection::RequestError;
use crate::connection::listing::{RawPage, described_page, without_non_object_output_schemas};
use crate::events::ServerStatus;

use super::proxy::SERVER_NOT_READY;

/// The revisions the front ends (proxy, gateway) speak to their clients:
/// those with `initialize`, up to 2025-11-25.
pub(crate) fn front_end_versions() -> &'static [ProtocolVersion] {
    ProtocolVersion::known_up_to(&ProtocolVersion::LATEST_WITH_INITIALIZE)
}

/// Whether the client of `context` speaks MCP 2026-07-28 or later (the
/// revision it names in the request's `_meta`, else at `initialize`), as
/// rmcp's `ServerHandler` decides it.
fn speaks_2026(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|version| version.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

/// The server's answer in the shape the client's revision has, as rmcp's
/// `ServerHandler` shapes its own answers: the server may speak 2026-07-28
/// to the engine while the client speaks an earlier revision, or the other
/// way round. Before 2026-07-28 a result has no `resultType` and a tool's
/// output is an object (a structured output of another type is given to
/// the client as text; SEP-2106); from it, a list carries caching hints.
fn shape_for_client(result: &mut ServerResult, legacy: bool) {
    if !legacy {
        result.fill_missing_cache_hints();
        return;
    }
    result.strip_result_type_for_legacy_peer();
    result.strip_non_object_output_for_legacy_peer();
    // An answer rmcp read as no result of its model (a content block of a
    // kind it does not know) or as a bare acknowledgement has the same
    // fields taken out of its JSON, by the same rules.
    if matches!(
        result,
        ServerResult::CustomResult(_) | ServerResult::TaskAckResult(_)
    ) && let Ok(mut value) = serde_json::to_value(&*result)
    {
        shape_json_for_legacy_client(&mut value);
        *result = ServerResult::CustomResult(CustomResult(value));
    }
}

/// rmcp's shaping for a client before 2026-07-28
/// (`strip_result_type_for_legacy_peer`,
/// `strip_non_object_output_for_legacy_peer`) on an answer's JSON: no
/// `resultType: "complete"`, a structured output that is not an object
/// given as text instead, no output schema whose root is not an object.
fn shape_json_for_legacy_client(value: &mut serde_json::Value) {
    use serde_json::Value;
    let Value::Object(result) = value else {
        return;
    };
    if result.get("resultType").and_then(Value::as_str) == Some("complete") {
        result.remove("resultType");
    }
    if let Some(structured) = result.remove("structuredContent") {
        if structured.is_object() {
            result.insert("structuredContent".to_owned(), structured);
        } else {
            let in_content = result
                .get("content")
                .and_then(|content| content.get(0))
                .filter(|block| block["type"] == "text")
                .and_then(|block| block["text"].as_str())
                .and_then(|text| serde_json::from_str::<Value>(text).ok())
                .is_some_and(|text| text == structured);
            if !in_content {
                let text = serde_json::json!({"type": "text", "text": structured.to_string()});
                match result.get_mut("content").and_then(Value::as_array_mut) {
                    Some(content) => content.insert(0, text),
                    None => {
                        result.insert("content".to_owned(), Value::Array(vec![text]));
                    }
                }
            }
        }
    }
    without_non_object_output_schemas(value);
}

/// Where the server's progress for a forwarded request goes: the upstream
/// token rmcp chose, mapped to the token the client chose, while the
/// request is in flight.
pub(crate) trait ProgressRoutes: Send + Sync {
    fn map_progress(&self, upstream: ProgressToken, client: ProgressToken);
    fn unmap_progress(&self, upstream: &ProgressToken);
}

/// Server `id`'s live session, as the front ends forward to it.
#[derive(Clone)]
pub(crate) struct Upstream {
    engine: Engine,
    id: String,
}

impl Upstream {
    pub(crate) fn new(engine: Engine, id: &str) -> Self {
        Self {
            engine,
            id: id.to_owned(),
        }
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The server's live session, or an error for the client that says why
    /// there is none and what fixes it.
    pub(crate) async fn peer(&self) -> Result<Peer<RoleClient>, ErrorData> {
        self.engine
            .connections()
            .live_peer(&self.id)
            .await
            .map_err(|error| self.not_ready(error))
    }

    pub(crate) fn not_ready(&self, error: RequestError) -> ErrorData {
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

    /// What the server said when its session began, as the answer to the
    /// client's `initialize` naming `requested`. The revision is the
    /// client's when the front ends speak it, else the newest they do: the
    /// server's own (2026-07-28 has no `initialize`) is the engine's
    /// business.
    pub(crate) async fn initialize_result(
        &self,
        requested: &ProtocolVersion,
    ) -> Result<InitializeResult, ErrorData> {
        let upstream = self.peer().await?;
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
        let version = if front_end_versions().contains(requested) {
            requested.clone()
        } else {
            ProtocolVersion::LATEST_WITH_INITIALIZE
        };
        let mut result = InitializeResult::new(info.capabilities.clone())
            .with_protocol_version(version)
            .with_server_info(server_info);
        result.instructions = info.instructions.clone();
        result.meta = info.meta.clone();
        Ok(result)
    }

    /// Passes a client's notification on to the server (when it has a
    /// session); a lost one is logged.
    pub(crate) async fn notify(&self, notification: ClientNotification) {
        if let Ok(upstream) = self.peer().await
            && let Err(error) = upstream.send_notification(notification).await
        {
            tracing::debug!(server = %self.id, %error, "a notification for the server was lost");
        }
    }

    /// Sends `request` on the server's session and returns its answer; a
    /// cancellation by the client cancels it there too. The server's tool
    /// filter (`[servers.tools]`, as it is now: an edit applies to the next
    /// request) is applied here, for every front end: a tool it leaves out
    /// is missing from `tools/list` and refused at `tools/call` without
    /// reaching the server. The call is recorded in the Activity record as
    /// `caller`'s, before the answer goes back (a recording that fails is
    /// logged, and the call goes on).
    pub(crate) async fn forward(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
        routes: &dyn ProgressRoutes,
        caller: &Caller,
    ) -> Result<ServerResult, ErrorData> {
        let (started, clock) = (std::time::SystemTime::now(), std::time::Instant::now());
        let method = request.method().to_owned();
        let tool = called_tool(&request);
        let cancelled = context.ct.clone();
        let (answer, ending) = self.forward_filtered(request, context, routes).await;
        let outcome = match (&answer, ending) {
            (_, Some(ending)) => ending,
            (Ok(result), None) if tool.is_some() && marks_tool_error(result) => Outcome::ToolError,
            (Ok(_), None) => Outcome::Ok,
            (Err(_), None) if cancelled.is_cancelled() => Outcome::Cancelled,
            (Err(error), None) => refusal_outcome(error),
        };
        self.record(caller, &method, tool.as_deref(), started, clock, outcome)
            .await;
        answer
    }

    /// Records a call that could not even be forwarded (the server's
    /// session could not start, or it needs authorization; `initialize`
    /// included): it arrived at `arrived`, and `error` is what the client
    /// was told.
    pub(crate) async fn record_refused(
        &self,
        method: &str,
        tool: Option<&str>,
        caller: &Caller,
        arrived: (std::time::SystemTime, std::time::Instant),
        error: &ErrorData,
    ) {
        self.record(
            caller,
            method,
            tool,
            arrived.0,
            arrived.1,
            refusal_outcome(error),
        )
        .await;
    }

    /// Appends a call to the Activity record.
    async fn record(
        &self,
        caller: &Caller,
        method: &str,
        tool: Option<&str>,
        started: std::time::SystemTime,
        clock: std::time::Instant,
        outcome: Outcome,
    ) {
        let record = ActivityRecord::new(
            started,
            clock.elapsed(),
            &caller.client,
            caller.via,
            &self.id,
            method,
            tool,
            outcome,
        );
        self.engine.record_activity(record).await;
    }

    /// [`Upstream::forward`] without the record, and how the call ended
    /// when its error alone does not say (the tool filter refused it, the
    /// server timed out).
    async fn forward_filtered(
        &self,
        mut request: ClientRequest,
        context: RequestContext<RoleServer>,
        routes: &dyn ProgressRoutes,
    ) -> (Result<ServerResult, ErrorData>, Option<Outcome>) {
        let tools = self
            .engine
            .server_config(&self.id)
            .map(|server| server.tools)
            .unwrap_or_default();
        if let ClientRequest::CallToolRequest(call) = &request
            && !tools.offers(&call.params.name)
        {
            return (
                Err(self.filtered_out(&call.params.name)),
                Some(Outcome::Filtered),
            );
        }
        // A tool list goes to the client as the server wrote it, as rmcp's
        // reading drops what its model lacks (a tool's `execution`): so
        // through the stdio proxy; the HTTP gateway's session reads it back
        // into rmcp's model, as rmcp's HTTP server wants.
        let listing = matches!(request, ClientRequest::ListToolsRequest(_));
        let raw = match &mut request {
            ClientRequest::ListToolsRequest(list) => {
                let raw = RawPage::default();
                list.extensions.insert(raw.clone());
                Some(raw)
            }
            _ => None,
        };
        // A server of 2026-07-28 asks for input by answering "input
        // required"; the client is asked as the server would have asked it
        // in a session of its own, and the request goes again with its
        // answers.
        let legacy = !speaks_2026(&context);
        let (client, cancel) = (context.peer.clone(), context.ct.clone());
        let sent = crate::connection::rounds::drive(
            request,
            |request| self.send(request, context.clone(), routes),
            |asked| {
                let (client, cancel) = (client.clone(), cancel.clone());
                async move { ask_client(&client, asked, cancel).await }
            },
            Failed::from,
        )
        .await;
        let mut result = match sent {
            Ok(result) => result,
            Err(Failed { error, timed_out }) => {
                return (Err(error), timed_out.then_some(Outcome::Timeout));
            }
        };
        // A tool list rmcp could not read as one (an entry it cannot read,
        // a duplicate key) is read entry by entry, as the engine's own
        // listings are, so that the filter and the shaping apply to it too.
        if listing && !matches!(result, ServerResult::ListToolsResult(_)) {
            let list = serde_json::to_value(&result)
                .ok()
                .and_then(|page| crate::connection::listing::tool_page(&page));
            match list {
                Some(list) => result = ServerResult::ListToolsResult(list),
                None => {
                    let error = ErrorData::internal_error(
                        format!(
                            "Gatehouse: the tool list of server \"{}\" could not be read.",
                            self.id
                        ),
                        None,
                    );
                    return (Err(error), None);
                }
            }
        }
        shape_for_client(&mut result, legacy);
        if let ServerResult::ListToolsResult(list) = &mut result {
            list.tools.retain(|tool| tools.offers(&tool.name));
            let mut page = described_page(list, raw.and_then(|raw| raw.take()));
            if legacy {
                // What the server wrote is put back, its output schemas too:
                // the page is shaped as any answer's JSON is.
                shape_json_for_legacy_client(&mut page);
            }
            result = ServerResult::CustomResult(CustomResult(page));
        }
        (Ok(result), None)
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

    /// [`Upstream::forward`] without the tool filter.
    async fn send(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
        routes: &dyn ProgressRoutes,
    ) -> Result<ServerResult, Failed> {
        let client_token = context.meta.get_progress_token();
        let mut meta = context.meta.clone();
        meta.remove("progressToken");
        let connections = self.engine.connections();
        let mut upstream = self.peer().await?;
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
                    upstream = self.peer().await?;
                }
                Err(error) => return Err(self.failed_upstream(&error)),
            }
        };
        let upstream_token = handle.progress_token.clone();
        if let Some(token) = client_token {
            routes.map_progress(upstream_token.clone(), token);
        }
        let (upstream_id, upstream_peer) = (handle.id.clone(), handle.peer.clone());
        let mut outcome = tokio::select! {
            outcome = handle.await_response() => Some(outcome),
            () = context.ct.cancelled() => None,
        };
        routes.unmap_progress(&upstream_token);
        // The connection broke under the request (a server that restarted
        // leaves pooled connections that fail the next request): once the
        // session is back, send it again, once.
        if let Some(Err(error @ ServiceError::TransportSend(_))) = &outcome
            && !retried
            && !error.is_authorization_required()
            && error.auth_challenge().is_none()
        {
            connections.report_failure(&self.id, error);
            let upstream = self.peer().await?;
            let options = PeerRequestOptions::no_options().with_meta(meta.clone());
            match upstream.send_cancellable_request(request, options).await {
                Ok(handle) => {
                    let token = handle.progress_token.clone();
                    if let Some(client_token) = context.meta.get_progress_token() {
                        routes.map_progress(token.clone(), client_token);
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
                    routes.unmap_progress(&token);
                    if outcome.is_none() {
                        return Err(ErrorData::new(
                            ErrorCode::INTERNAL_ERROR,
                            "cancelled by the client",
                            None,
                        )
                        .into());
                    }
                }
                Err(error) => outcome = Some(Err(error)),
            }
        }
        match outcome {
            Some(Ok(result)) => Ok(result),
            Some(Err(error)) => Err(self.failed_upstream(&error)),
            None => {
                // The client cancelled: pass it on. Its answer is dropped.
                let reason = Some("cancelled by the client".to_owned());
                let cancelled = CancelledNotification::new(CancelledNotificationParam::new(
                    Some(upstream_id),
                    reason,
                ));
                let _ = upstream_peer.send_notification(cancelled.into()).await;
                Err(
                    ErrorData::new(ErrorCode::INTERNAL_ERROR, "cancelled by the client", None)
                        .into(),
                )
            }
        }
    }

    /// [`Upstream::failed`], remembering whether the server timed out.
    fn failed_upstream(&self, error: &ServiceError) -> Failed {
        Failed {
            error: self.failed(error),
            timed_out: timed_out(error),
        }
    }

    /// A failed upstream request as the client's error: the server's own
    /// errors as they were (secrets cut out), transport failures in words.
    pub(crate) fn failed(&self, error: &ServiceError) -> ErrorData {
        let connections = self.engine.connections();
        match error {
            ServiceError::McpError(data) => {
                let mut data = data.clone();
                data.message = connections
                    .redact(&self.id, data.message.into_owned())
                    .into();
                if let Some(more) = &mut data.data {
                    redact_strings(more, &|text| connections.redact(&self.id, text));
                }
                data
            }
            other => match connections.report_failure(&self.id, other) {
                error @ RequestError::NotConnected { .. } => self.not_ready(error),
                error => ErrorData::new(SERVER_NOT_READY, format!("Gatehouse: {error}"), None),
            },
        }
    }
}

/// Every string in `value` (keys too) passed through `redact`.
fn redact_strings(value: &mut serde_json::Value, redact: &dyn Fn(String) -> String) {
    use serde_json::Value;
    match value {
        Value::String(text) => *text = redact(std::mem::take(text)),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| redact_strings(item, redact)),
        Value::Object(fields) => {
            let old = std::mem::take(fields);
            for (key, mut item) in old {
                redact_strings(&mut item, redact);
                fields.insert(redact(key), item);
            }
        }
        _ => {}
    }
}

/// How a call the client got `error` for ended: Gatehouse's refusal for a
/// server that needs authorization (what the desktop app watches for), or
/// the error's code.
fn refusal_outcome(error: &ErrorData) -> Outcome {
    // `not_ready` names the server's state (`ServerStatus::label`).
    let state = error.data.as_ref().and_then(|data| data["state"].as_str());
    if error.code == SERVER_NOT_READY && state == Some("needs_authorization") {
        Outcome::NeedsAuthorization
    } else {
        Outcome::error(error.code.0)
    }
}

/// The tool a `tools/call` names.
pub(crate) fn called_tool(request: &ClientRequest) -> Option<String> {
    match request {
        ClientRequest::CallToolRequest(call) => Some(call.params.name.to_string()),
        _ => None,
    }
}

/// A forwarded request that failed: the error for the client, and whether
/// it was the server (or the connection to it) that timed out, for the
/// Activity record.
struct Failed {
    error: ErrorData,
    timed_out: bool,
}

impl From<ErrorData> for Failed {
    fn from(error: ErrorData) -> Self {
        Self {
            error,
            timed_out: false,
        }
    }
}

/// Whether `error` is a timeout: rmcp's own, or one of the HTTP client or
/// the socket somewhere in its causes.
fn timed_out(error: &ServiceError) -> bool {
    if matches!(error, ServiceError::Timeout { .. }) {
        return true;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if error
            .downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
            || error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Whether a `tools/call` answer is a result marked `isError` (read as
/// JSON when rmcp read the answer into another shape).
fn marks_tool_error(result: &ServerResult) -> bool {
    match result {
        ServerResult::CallToolResult(result) => result.is_error == Some(true),
        other => {
            serde_json::to_value(other)
                .ok()
                .and_then(|value| value.get("isError")?.as_bool())
                == Some(true)
        }
    }
}

/// Sends a server's request to the client behind `peer` and returns its
/// answer; `cancel` (the server cancelled) cancels it there too.
pub(crate) async fn ask_client(
    peer: &Peer<RoleServer>,
    request: ServerRequest,
    cancel: CancellationToken,
) -> Result<ClientResult, ErrorData> {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rmcp::ServiceError;
    use rmcp::transport::DynamicTransportError;

    use rmcp::model::ServerResult;
    use serde_json::{Value, json};

    use super::{redact_strings, shape_for_client, timed_out};
    use crate::connection::listing::tool_page;

    /// `answer` as rmcp reads it from the server, shaped for a client before
    /// 2026-07-28, as the client gets it.
    fn for_legacy_client(answer: Value) -> Value {
        let mut result: ServerResult = serde_json::from_value(answer).unwrap();
        shape_for_client(&mut result, true);
        serde_json::to_value(&result).unwrap()
    }

    #[test]
    fn answers_rmcp_reads_as_no_result_of_its_model_are_shaped_too() {
        // A content block of a kind rmcp does not know: no CallToolResult.
        let call = json!({"resultType": "complete", "content": [{"type": "widget"}],
            "structuredContent": [1, 2]});
        assert_eq!(
            for_legacy_client(call),
            json!({"content": [{"type": "text", "text": "[1,2]"}, {"type": "widget"}]})
        );
        // The text is there already; an object stays.
        let call = json!({"content": [{"type": "text", "text": "[1, 2]"}, {"type": "widget"}],
            "structuredContent": [1, 2]});
        assert_eq!(
            for_legacy_client(call),
            json!({"content": [{"type": "text", "text": "[1, 2]"}, {"type": "widget"}]})
        );
        let call = json!({"content": [{"type": "widget"}], "structuredContent": {"a": 1}});
        assert_eq!(for_legacy_client(call.clone()), call);
        // A bare acknowledgement, as an answer to logging/setLevel.
        assert_eq!(
            for_legacy_client(json!({"resultType": "complete"})),
            json!({})
        );
        // Another revision's input-required answer is not a complete result.
        let other = json!({"resultType": "incomplete", "widget": 1});
        assert_eq!(for_legacy_client(other.clone()), other);
    }

    #[test]
    fn a_tool_list_rmcp_cannot_read_is_read_entry_by_entry() {
        let page = json!({"tools": [
            {"name": "ok", "inputSchema": {"type": "object"}},
            {"name": "broken"},
            {"name": "dup", "description": "b", "inputSchema": {"type": "object"}},
        ], "nextCursor": "2"});
        let list = tool_page(&page).unwrap();
        let names: Vec<&str> = list.tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["ok", "dup"]);
        assert_eq!(list.next_cursor.as_deref(), Some("2"));
        assert!(tool_page(&json!({"content": []})).is_none());
    }

    #[test]
    fn every_string_of_an_errors_data_is_redacted() {
        let mut data = json!({"echo": "X-Api-Key: s3cr3t", "list": ["s3cr3t", 7],
            "s3cr3t": {"deep": "a s3cr3t b"}});
        redact_strings(&mut data, &|text| text.replace("s3cr3t", "[secret]"));
        assert_eq!(
            data,
            json!({"echo": "X-Api-Key: [secret]", "list": ["[secret]", 7],
                "[secret]": {"deep": "a [secret] b"}})
        );
    }

    fn transport_failure(error: std::io::Error) -> ServiceError {
        ServiceError::TransportSend(DynamicTransportError::from_parts(
            "test",
            std::any::TypeId::of::<()>(),
            Box::new(error),
        ))
    }

    #[test]
    fn timeouts_are_told_from_other_failures() {
        assert!(timed_out(&ServiceError::Timeout {
            timeout: Duration::from_secs(1)
        }));
        assert!(timed_out(&transport_failure(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "read timed out"
        ))));
        assert!(!timed_out(&transport_failure(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset"
        ))));
        assert!(!timed_out(&ServiceError::TransportClosed));
    }
}
