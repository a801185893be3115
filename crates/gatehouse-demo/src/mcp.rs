//! The demo's MCP server (rmcp's Streamable HTTP server): two small tools,
//! behind the bearer-token gate of [`crate::oauth`].

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;

use crate::oauth::Gate;

pub(crate) fn routes(gate: Gate) -> Router {
    let service = StreamableHttpService::new(
        || Ok(DemoMcp::new()),
        Arc::new(LocalSessionManager::default()),
        // Only loopback reaches it; the Host check would refuse 127.0.0.1:PORT.
        StreamableHttpServerConfig::default().disable_allowed_hosts(),
    );
    Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn_with_state(gate, crate::oauth::admit))
}

#[derive(Clone)]
struct DemoMcp {
    #[expect(dead_code, reason = "read through the code #[tool_handler] generates")]
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to send back.
    text: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct AddArgs {
    a: f64,
    b: f64,
}

#[tool_router]
impl DemoMcp {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Returns the text it is given")]
    fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        text
    }

    #[tool(description = "Adds two numbers")]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> String {
        (a + b).to_string()
    }
}

#[tool_handler]
impl ServerHandler for DemoMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "gatehouse-demo",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions("Gatehouse's demo server: try its echo and add tools")
    }
}
