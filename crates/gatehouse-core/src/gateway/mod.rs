//! Gatehouse as an MCP server for the AI clients on this computer: each
//! client talks to Gatehouse, and only Gatehouse talks to the remote server,
//! with the person's headers and tokens. The front ends here forward through
//! the engine's live connections, so authorization, refresh, reconnection
//! and health checks stay the engine's.
//!
//! - [`proxy`]: `gatehouse proxy <id>`, MCP over stdio for one server (a
//!   drop-in for `npx mcp-remote <url>` in a client's config).
//! - `forward`: what the front ends share — sending a client's request on
//!   the server's live session, and telling the client why not.

mod forward;
pub mod proxy;
