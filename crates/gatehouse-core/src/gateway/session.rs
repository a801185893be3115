//! One HTTP client's MCP session with the gateway, for one server: rmcp's
//! Streamable HTTP server builds one per session (it needs a
//! `ServerHandler`), and each of its requests is forwarded, unchanged, to
//! the server's live session as the stdio proxy forwards them
//! ([`Upstream::forward`]); what the server sends back for this client
//! reaches it through the server's [`SessionRouter`].
//!
//! The gateway speaks the `initialize` revisions (up to 2025-11-25) to its
//! clients, each in a session of its own, and answers `server/discover`
//! with "method not found" so that clients that probe for the stateless
//! 2026-07-28 lifecycle fall back to `initialize` — the upstream session
//! has its own lifecycle, negotiated by the engine.

// Logging and resource subscriptions are deprecated for 2026-07-28, yet the
// revisions the gateway speaks still have them, and it forwards them.
#![allow(deprecated)]

use std::borrow::Cow;
use std::sync::Arc;

use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult, ClientNotification,
    ClientRequest, CompleteRequest, CompleteRequestParams, CompleteResult, CustomNotification,
    CustomRequest, CustomResult, DiscoverRequestMethod, DiscoverResult, GetPromptRequest,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation,
    InitializeRequestParams, InitializeResult, ListPromptsRequest, ListPromptsResult,
    ListResourceTemplatesRequest, ListResourceTemplatesResult, ListResourcesRequest,
    ListResourcesResult, ListToolsRequest, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ReadResourceRequest, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, RequestOptionalParam, RootsListChangedNotification, ServerConfig,
    ServerResult, SetLevelRequest, SetLevelRequestParams, SubscribeRequest, SubscribeRequestParams,
    UnsubscribeRequest, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData, RoleServer};
use serde::de::DeserializeOwned;

use super::forward::Upstream;
use super::sessions::{SessionKey, SessionRouter};
use super::written::ListedAsWritten;
use crate::activity::{Caller, Via};

/// The name of the gateway token a request came with, put in the HTTP
/// request's extensions by the guard once the token is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenClient(pub(crate) String);

/// Who made the request, as the Activity record names them: the name of
/// the gateway token it came with (which the person chose and can revoke;
/// the client's own name from `initialize` is only what it says of itself).
fn caller(context: &RequestContext<RoleServer>) -> Caller {
    let token = context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<TokenClient>());
    match token {
        Some(TokenClient(name)) => Caller::new(name.clone(), Via::Gateway),
        None => Caller::new("unknown client", Via::Gateway),
    }
}

/// One client's session with server `upstream.id()`.
pub(crate) struct GatewaySession {
    upstream: Upstream,
    router: Arc<SessionRouter>,
    key: SessionKey,
}

impl GatewaySession {
    pub(crate) fn new(upstream: Upstream, router: Arc<SessionRouter>) -> Self {
        let key = router.open();
        Self {
            upstream,
            router,
            key,
        }
    }

    /// Forwards `request` as this session's, and returns the answer.
    async fn forward(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        self.router.attach(self.key, context.peer.clone());
        let _in_flight = self.router.begin(self.key);
        let caller = caller(&context);
        self.upstream
            .forward(request, context, &self.router.routes(self.key), &caller)
            .await
    }
}

impl Drop for GatewaySession {
    fn drop(&mut self) {
        self.router.close(self.key);
    }
}

/// The answer as the type the method returns. rmcp reads an answer into
/// the first `ServerResult` shape it fits, which need not be the one the
/// request implies; read through JSON then.
fn answer<T: DeserializeOwned>(
    result: ServerResult,
    pick: impl FnOnce(ServerResult) -> Result<T, Box<ServerResult>>,
) -> Result<T, ErrorData> {
    match pick(result) {
        Ok(value) => Ok(value),
        Err(other) => serde_json::to_value(&other)
            .and_then(serde_json::from_value)
            .map_err(|e| {
                ErrorData::internal_error(format!("the server's answer did not fit: {e}"), None)
            }),
    }
}

fn optional<M: Default, P>(params: Option<P>) -> RequestOptionalParam<M, P> {
    RequestOptionalParam {
        method: M::default(),
        params,
        extensions: Default::default(),
    }
}

impl ServerHandler for GatewaySession {
    fn get_info(&self) -> ServerConfig {
        // Only read by rmcp's defaults; `initialize` answers with the
        // remote server's own.
        InitializeResult::new(Default::default())
            .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
            .with_server_info(Implementation::new("gatehouse", env!("CARGO_PKG_VERSION")))
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(super::forward::front_end_versions())
    }

    async fn discover(
        &self,
        _context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        Err(ErrorData::method_not_found::<DiscoverRequestMethod>())
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        tracing::info!(
            server = %self.upstream.id(),
            client = %crate::text::one_line(&request.client_info.name, crate::activity::MAX_CLIENT_CHARS),
            "an MCP client connected to the gateway"
        );
        let arrived = (std::time::SystemTime::now(), std::time::Instant::now());
        context.peer.set_peer_info(request.clone());
        self.router.attach(self.key, context.peer.clone());
        match self
            .upstream
            .initialize_result(&request.protocol_version)
            .await
        {
            Ok(result) => Ok(result),
            Err(error) => {
                self.upstream
                    .record_refused("initialize", None, &caller(&context), arrived, &error)
                    .await;
                Err(error)
            }
        }
    }

    async fn ping(&self, _context: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        Ok(())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let result = self
            .forward(
                ClientRequest::CompleteRequest(CompleteRequest::new(request)),
                context,
            )
            .await?;
        answer(result, |r| match r {
            ServerResult::CompleteResult(r) => Ok(r),
            other => Err(Box::new(other)),
        })
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.forward(
            ClientRequest::SetLevelRequest(SetLevelRequest::new(request)),
            context,
        )
        .await
        .map(drop)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let result = self
            .forward(
                ClientRequest::GetPromptRequest(GetPromptRequest::new(request)),
                context,
            )
            .await?;
        match result {
            ServerResult::InputRequiredResult(r) => Ok(GetPromptResponse::InputRequired(r)),
            other => answer::<GetPromptResult>(other, |r| match r {
                ServerResult::GetPromptResult(r) => Ok(r),
                other => Err(Box::new(other)),
            })
            .map(GetPromptResponse::Complete),
        }
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let request: ListPromptsRequest = optional(request);
        let result = self
            .forward(ClientRequest::ListPromptsRequest(request), context)
            .await?;
        answer(result, |r| match r {
            ServerResult::ListPromptsResult(r) => Ok(r),
            other => Err(Box::new(other)),
        })
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let request: ListResourcesRequest = optional(request);
        let result = self
            .forward(ClientRequest::ListResourcesRequest(request), context)
            .await?;
        answer(result, |r| match r {
            ServerResult::ListResourcesResult(r) => Ok(r),
            other => Err(Box::new(other)),
        })
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let request: ListResourceTemplatesRequest = optional(request);
        let result = self
            .forward(
                ClientRequest::ListResourceTemplatesRequest(request),
                context,
            )
            .await?;
        answer(result, |r| match r {
            ServerResult::ListResourceTemplatesResult(r) => Ok(r),
            other => Err(Box::new(other)),
        })
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let result = self
            .forward(
                ClientRequest::ReadResourceRequest(ReadResourceRequest::new(request)),
                context,
            )
            .await?;
        match result {
            ServerResult::InputRequiredResult(r) => Ok(ReadResourceResponse::InputRequired(r)),
            other => answer::<ReadResourceResult>(other, |r| match r {
                ServerResult::ReadResourceResult(r) => Ok(r),
                other => Err(Box::new(other)),
            })
            .map(ReadResourceResponse::Complete),
        }
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.forward(
            ClientRequest::SubscribeRequest(SubscribeRequest::new(request)),
            context,
        )
        .await
        .map(drop)
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.forward(
            ClientRequest::UnsubscribeRequest(UnsubscribeRequest::new(request)),
            context,
        )
        .await
        .map(drop)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let result = self
            .forward(
                ClientRequest::CallToolRequest(CallToolRequest::new(request)),
                context,
            )
            .await?;
        match result {
            ServerResult::InputRequiredResult(r) => Ok(CallToolResponse::InputRequired(r)),
            ServerResult::CreateTaskResult(r) => Ok(CallToolResponse::Task(r)),
            other => answer::<CallToolResult>(other, |r| match r {
                ServerResult::CallToolResult(r) => Ok(r),
                other => Err(Box::new(other)),
            })
            .map(CallToolResponse::Complete),
        }
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let request: ListToolsRequest = optional(request);
        let written = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<ListedAsWritten>())
            .cloned();
        let result = self
            .forward(ClientRequest::ListToolsRequest(request), context)
            .await?;
        // The list as the server wrote it, for the answer's event to be
        // written again with (rmcp writes its model's reading): forward
        // answers a tool list with the page it made, filtered and shaped.
        if let (Some(written), ServerResult::CustomResult(page)) = (written, &result) {
            written.put(page.0.clone());
        }
        answer(result, |r| match r {
            ServerResult::ListToolsResult(r) => Ok(r),
            other => Err(Box::new(other)),
        })
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        let result = self
            .forward(ClientRequest::CustomRequest(request), context)
            .await?;
        answer(result, |r| match r {
            ServerResult::CustomResult(r) => Ok(r),
            other => Err(Box::new(other)),
        })
    }

    async fn on_roots_list_changed(&self, _context: NotificationContext<RoleServer>) {
        self.upstream
            .notify(ClientNotification::RootsListChangedNotification(
                RootsListChangedNotification::default(),
            ))
            .await;
    }

    async fn on_custom_notification(
        &self,
        notification: CustomNotification,
        _context: NotificationContext<RoleServer>,
    ) {
        self.upstream
            .notify(ClientNotification::CustomNotification(notification))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_read_into_another_shape_is_read_again_through_json() {
        let result = ServerResult::CustomResult(CustomResult::new(serde_json::json!({
            "content": [{"type": "text", "text": "from the server"}]
        })));
        let call: CallToolResult = answer(result, |r| match r {
            ServerResult::CallToolResult(r) => Ok(r),
            other => Err(Box::new(other)),
        })
        .unwrap();
        assert_eq!(
            call.content[0].as_text().map(|t| t.text.as_str()),
            Some("from the server")
        );
        let wrong = ServerResult::CustomResult(CustomResult::new(serde_json::json!(7)));
        assert!(
            answer::<ListToolsResult>(wrong, |r| match r {
                ServerResult::ListToolsResult(r) => Ok(r),
                other => Err(Box::new(other)),
            })
            .is_err()
        );
    }
}
