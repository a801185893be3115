//! `gatehouse proxy <id>`: the stdio drop-in for `npx mcp-remote <url>`. An
//! AI client launches it (`{"command": "gatehouse", "args": ["proxy",
//! "<id>"]}`) and speaks MCP on its stdin and stdout; the core's gateway
//! does the forwarding. Nothing but MCP goes to stdout: diagnostics are
//! logged to stderr.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::Result;
use gatehouse_core::Engine;

/// Serves server `id` on stdin/stdout until the client goes away.
pub async fn run(engine: &Engine, id: &str) -> Result<ExitCode> {
    if std::io::stdin().is_terminal() {
        eprintln!(
            "gatehouse proxy speaks MCP on stdin and stdout: an AI client starts it, e.g. {{\"command\": \"gatehouse\", \"args\": [\"proxy\", \"{id}\"]}}"
        );
    }
    gatehouse_core::gateway::proxy::serve_stdio(engine.clone(), id).await?;
    Ok(ExitCode::SUCCESS)
}
