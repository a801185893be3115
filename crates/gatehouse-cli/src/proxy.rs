//! `gatehouse proxy <id>`: the stdio drop-in for `npx mcp-remote <url>`. An
//! AI client launches it (`{"command": "gatehouse", "args": ["proxy",
//! "<id>"]}`) and speaks MCP on its stdin and stdout; the core's gateway
//! does the forwarding. Nothing but MCP goes to stdout: diagnostics are
//! logged to stderr.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use gatehouse_core::Engine;

/// Serves server `id` on stdin/stdout until the client goes away.
pub async fn run(engine: &Engine, id: &str) -> Result<ExitCode, String> {
    if std::io::stdin().is_terminal() {
        eprintln!(
            "gatehouse proxy speaks MCP on stdin and stdout: an AI client starts it, e.g. {{\"command\": \"gatehouse\", \"args\": [\"proxy\", \"{id}\"]}}"
        );
    }
    gatehouse_core::gateway::proxy::serve_stdio(engine.clone(), id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
