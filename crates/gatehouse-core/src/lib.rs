//! The Gatehouse engine: configuration, the encrypted vault, OAuth and the
//! connections to remote MCP servers. It has no Tauri dependency; the CLI and
//! the desktop shell are thin front ends over the same API.

pub mod activity;
pub mod api;
pub mod clients;
pub mod config;
pub mod connection;
pub mod diagnostics;
pub mod elicitation;
mod engine;
pub mod error_code;
pub mod events;
mod fsutil;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod gateway;
pub mod http;
pub mod log_file;
pub mod logging;
pub mod oauth;
pub mod paths;
pub mod permissions;
pub mod ssrf;
mod stand_in;
pub mod template;
pub mod text;
pub mod vault;

pub use api::ServerView;
pub use connection::AuthorizationTicket;
pub use engine::{Engine, Error};
pub use error_code::ErrorCode;
pub use oauth::loopback::Delivery;
pub use oauth::{AuthorizationError, ConsentSink};

/// MCP protocol types the API hands out (tools, results, resources, prompts).
pub mod mcp {
    pub use rmcp::model::{
        CallToolResult, ContentBlock, JsonObject, Prompt, Resource, ResourceTemplate, Tool,
    };
}
