//! The benchmark's MCP client: rmcp's, over Streamable HTTP (to a server
//! directly, or to the gateway with a bearer token) or over the stdio of a
//! process it starts (`gatehouse proxy`, mcp-remote), exactly as an AI
//! client starts them.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, JsonObject,
    ProtocolVersion,
};
use rmcp::service::{Peer, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt as _};
use tokio::process::{Child, Command};

pub type Client = RunningService<RoleClient, ClientConfig>;

/// How long a process may take to answer `initialize`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(180);

fn identity(name: &str) -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new(name.to_owned(), "1.0.0"),
    )
    .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
}

/// A session with the MCP server at `url`, with `Authorization: Bearer
/// <bearer>` when given.
pub async fn http(url: &str, bearer: Option<&str>, name: &str) -> Result<Client> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    if let Some(token) = bearer {
        config = config.auth_header(token.to_owned());
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    tokio::time::timeout(HANDSHAKE_TIMEOUT, identity(name).serve(transport))
        .await
        .with_context(|| format!("{url} did not answer initialize"))?
        .with_context(|| format!("initialize with {url}"))
}

/// A process speaking MCP on its stdio, and our session with it.
pub struct StdioServer {
    pub client: Client,
    pub child: Child,
}

impl StdioServer {
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    pub async fn stop(mut self) {
        let _ = self.client.cancel().await;
        let _ = self.child.kill().await;
    }
}

/// Starts `command` and opens a session over its stdin and stdout.
pub async fn stdio(mut command: Command, name: &str) -> Result<StdioServer> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = command.spawn().context("starting the stdio server")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let stdin = child.stdin.take().context("no stdin")?;
    let client = tokio::time::timeout(HANDSHAKE_TIMEOUT, identity(name).serve((stdout, stdin)))
        .await
        .context("the stdio server did not answer initialize")?
        .context("initialize over stdio")?;
    Ok(StdioServer { client, child })
}

/// One `tools/call` of the fixture's `payload` tool, checking that the
/// whole result arrived.
pub async fn call_payload(peer: &Peer<RoleClient>, bytes: usize) -> Result<()> {
    let mut arguments = JsonObject::new();
    arguments.insert("bytes".into(), bytes.into());
    let result = peer
        .call_tool(CallToolRequestParams::new("payload").with_arguments(arguments))
        .await?;
    let got: usize = result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|text| text.text.len())
        .sum();
    if got != bytes {
        bail!("asked for {bytes} bytes, got {got}");
    }
    Ok(())
}
