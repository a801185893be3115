//! Per machine: the resident memory of serving N servers to two clients,
//! and how long one client waits until its N servers all answer.
//!
//! Three set-ups on the same N fixture servers (each handshake 300 ms):
//! - the gateway: one `gatehouse serve`, each client holding a session
//!   with every server's endpoint;
//! - proxies: each client starting `gatehouse proxy <id>` per server, as
//!   Claude Desktop does with a `{"command": "gatehouse", ...}` entry;
//! - the anchor: each client starting one mcp-remote per server.
//!
//! Every session is initialized and has made one `tools/call` before the
//! memory is read; the client side (this benchmark) is not counted.

use std::time::{Duration, Instant};

use anyhow::Result;
use futures::future::try_join_all;
use gatehouse_fixture::{McpFixture, McpOptions};

use crate::McpRemote;
use crate::clients::{self, StdioServer, call_payload};
use crate::home::Home;
use crate::procs::{self, Memory};

/// The handshake every fixture server takes.
pub const HANDSHAKE: Duration = Duration::from_millis(300);

#[derive(Debug, Clone)]
pub struct Setup {
    /// For two clients: measured, or twice one client's when only one
    /// client's processes were started (`clients_run` is 1).
    pub memory: Memory,
    pub clients_run: usize,
    /// Until the first client's N sessions were all initialized.
    pub ready: Duration,
}

#[derive(Debug, Clone)]
pub struct MachineRow {
    pub servers: usize,
    pub gateway: Setup,
    pub proxies: Setup,
    /// `Err` says why it was not measured.
    pub mcp_remote: Result<Setup, String>,
}

pub async fn fixtures(n: usize, handshake: Duration) -> Result<Vec<McpFixture>> {
    let mut all = Vec::with_capacity(n);
    for i in 0..n {
        all.push(
            McpFixture::start(McpOptions {
                name: format!("fixture-{i}"),
                payload_tool: true,
                initialize_delay: handshake,
                ..McpOptions::default()
            })
            .await?,
        );
    }
    Ok(all)
}

fn settle() -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_millis(1500))
}

pub async fn measure(
    n: usize,
    home: &Home,
    tokens: &[String; 2],
    mcp_remote: Option<&McpRemote>,
    remote_max: usize,
    remote_pair_max: usize,
) -> Result<MachineRow> {
    let servers = fixtures(n, HANDSHAKE).await?;
    let ids: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let entries: Vec<(String, String)> = ids
        .iter()
        .cloned()
        .zip(servers.iter().map(McpFixture::url))
        .collect();
    home.write_config(&entries)?;

    // The gateway.
    let serve = home.serve().await?;
    let urls: Vec<String> = ids.iter().map(|id| serve.url(id)).collect();
    let mut sessions = Vec::new();
    let mut ready = Duration::ZERO;
    for (c, token) in tokens.iter().enumerate() {
        let start = Instant::now();
        let opened = try_join_all(
            urls.iter()
                .map(|url| clients::http(url, Some(token), "bench-client")),
        )
        .await?;
        if c == 0 {
            ready = start.elapsed();
        }
        try_join_all(opened.iter().map(|s| call_payload(s.peer(), 64))).await?;
        sessions.extend(opened);
    }
    settle().await;
    let gateway = Setup {
        memory: procs::tree_memory(&[serve.pid()]),
        clients_run: 2,
        ready,
    };
    for session in sessions {
        let _ = session.cancel().await;
    }
    serve.stop().await;

    let proxies = stdio_setup(&ids, 2, |id| home.gatehouse(&["proxy", id])).await?;
    let mcp_remote = match mcp_remote {
        None => Err("mcp-remote not installed (run scripts/bench.sh)".to_owned()),
        Some(_) if n > remote_max => Err(format!("not run: over --remote-max {remote_max}")),
        Some(remote) => {
            let urls: Vec<String> = servers.iter().map(McpFixture::url).collect();
            let by_id = |id: &str| {
                let i: usize = id[1..].parse().unwrap();
                remote.command(home, &urls[i])
            };
            // Past `remote_pair_max`, one client's processes are started
            // and measured, and counted twice: each mcp-remote is a
            // process of its own, sharing nothing with the other client's.
            let clients = if n > remote_pair_max { 1 } else { 2 };
            Ok(stdio_setup(&ids, clients, by_id).await?)
        }
    };
    Ok(MachineRow {
        servers: n,
        gateway,
        proxies,
        mcp_remote,
    })
}

/// `clients` clients (of two), each starting one process per server.
async fn stdio_setup(
    ids: &[String],
    clients: usize,
    command: impl Fn(&str) -> tokio::process::Command,
) -> Result<Setup> {
    let mut running: Vec<StdioServer> = Vec::new();
    let mut ready = Duration::ZERO;
    for c in 0..clients {
        let start = Instant::now();
        let started = try_join_all(
            ids.iter()
                .map(|id| clients::stdio(command(id), "bench-client")),
        )
        .await?;
        if c == 0 {
            ready = start.elapsed();
        }
        try_join_all(started.iter().map(|s| call_payload(s.client.peer(), 64))).await?;
        running.extend(started);
    }
    settle().await;
    let pids: Vec<u32> = running.iter().map(StdioServer::pid).collect();
    let mut memory = procs::tree_memory(&pids);
    for server in running {
        server.stop().await;
    }
    if clients == 1 {
        memory.processes *= 2;
        memory.rss *= 2;
        memory.pss *= 2;
    }
    Ok(Setup {
        memory,
        clients_run: clients,
        ready,
    })
}
