//! Gatehouse as an MCP server for the AI clients on this computer: each
//! client talks to Gatehouse, and only Gatehouse talks to the remote server,
//! with the person's headers and tokens. The front ends here forward through
//! the engine's live connections, so authorization, refresh, reconnection
//! and health checks stay the engine's.
//!
//! - [`proxy`]: `gatehouse proxy <id>`, MCP over stdio for one server (a
//!   drop-in for `npx mcp-remote <url>` in a client's config).
//! - [`http`]: the local Streamable HTTP gateway, every server at
//!   `http://127.0.0.1:<port>/servers/<id>/mcp`, with [`guard`] (the
//!   `Host`, `Origin` and token checks) and [`tokens`] (a bearer token per
//!   client, in the vault); `session` is one HTTP client's session and
//!   `sessions` routes a server's traffic among them.
//! - [`host`]: the gateway as the desktop app owns it, started at launch
//!   and reported on in Settings.
//! - `written`: the HTTP gateway's tool lists as servers wrote them.
//! - `forward`: what both front ends share — sending a client's request on
//!   the server's live session, and telling the client why not.

mod forward;
pub mod guard;
pub mod host;
pub mod http;
mod listener;
pub mod proxy;
mod session;
mod sessions;
pub mod tokens;
mod written;
