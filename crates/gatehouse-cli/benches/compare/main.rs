//! Gatehouse side by side with what people run instead (one mcp-remote per
//! server per client), in one run: `scripts/bench.sh` builds this bench in
//! the `benchmark` profile, installs mcp-remote and Node 22 into .tools/,
//! and runs it. It starts its own fixture servers on 127.0.0.1, prints
//! tables of medians and 99th percentiles with the goals met or not, and
//! with `--out DIR` writes DIR/BENCHMARKS.md and its charts.
//!
//! `--quick`: few iterations and N up to 10, a smoke run.
//! `--remote-max N`: run mcp-remote only up to N servers.
//! `--remote-pair-max N` (10): above N servers, start one client's
//! mcp-remote processes and count them twice (200 Node processes take
//! minutes to start on two cores).

mod calls;
mod chart;
mod clients;
mod desktop;
mod home;
mod machine;
mod procs;
mod report;
mod startup;
mod stats;
mod vault;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use gatehouse_fixture::{McpFixture, McpOptions};
use tokio::process::Command;

use crate::home::Home;

/// mcp-remote (npm) and the Node that runs it, from scripts/bench.sh.
pub struct McpRemote {
    pub node: PathBuf,
    pub script: PathBuf,
    pub version: String,
}

impl McpRemote {
    fn from_env() -> Option<Self> {
        let node = PathBuf::from(std::env::var_os("GATEHOUSE_BENCH_NODE")?);
        let script = PathBuf::from(std::env::var_os("GATEHOUSE_BENCH_MCP_REMOTE")?);
        let version = std::env::var("GATEHOUSE_BENCH_MCP_REMOTE_VERSION").unwrap_or_default();
        (node.exists() && script.exists()).then_some(Self {
            node,
            script,
            version,
        })
    }

    /// `node mcp-remote/dist/proxy.js <url> --transport http-only --silent`,
    /// what `npx mcp-remote <url>` runs once installed.
    pub fn command(&self, home: &Home, url: &str) -> Command {
        let mut command = Command::new(&self.node);
        command
            .arg(&self.script)
            .arg(url)
            .args(["--transport", "http-only", "--silent"]);
        home.env(&mut command);
        command
    }
}

pub struct Options {
    pub quick: bool,
    pub out: Option<PathBuf>,
    pub remote_max: usize,
    pub remote_pair_max: usize,
}

fn options() -> Result<Options> {
    let mut options = Options {
        quick: false,
        out: None,
        remote_max: usize::MAX,
        remote_pair_max: 10,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--out" => options.out = Some(args.next().context("--out DIR")?.into()),
            "--remote-max" => {
                options.remote_max = args.next().context("--remote-max N")?.parse()?;
            }
            // cargo bench passes --bench.
            "--remote-pair-max" => {
                options.remote_pair_max = args.next().context("--remote-pair-max N")?.parse()?;
            }
            "--bench" => {}
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(options)
}

/// Progress on stderr, with the time since the start.
pub fn progress(started: Instant, what: &str) {
    eprintln!("[{:>5.1}s] {what}", started.elapsed().as_secs_f64());
}

pub struct Results {
    pub quick: bool,
    pub mcp_remote_version: Option<String>,
    pub calls: Vec<(report::Route, Result<calls::RouteCalls, String>)>,
    pub machine: Vec<machine::MachineRow>,
    pub startup: Vec<(usize, stats::Summary)>,
    /// The largest N again, with handshakes that take no time.
    pub startup_instant: (usize, stats::Summary),
    pub oauth: startup::OAuthFigures,
    pub vault: Vec<vault::VaultRow>,
    /// `Err` says why it was not measured.
    pub desktop: Result<desktop::DesktopFigures, String>,
    pub duration: Duration,
}

#[tokio::main]
async fn main() -> Result<()> {
    let options = options()?;
    let started = Instant::now();
    let remote = McpRemote::from_env();
    if remote.is_none() {
        eprintln!(
            "mcp-remote not found (GATEHOUSE_BENCH_NODE, GATEHOUSE_BENCH_MCP_REMOTE): its columns stay empty; scripts/bench.sh sets them"
        );
    }
    let quick = options.quick;
    let plan = if quick {
        calls::Plan {
            small_runs: 30,
            large_runs: 5,
            throughput_for: Duration::from_millis(300),
        }
    } else {
        calls::Plan {
            small_runs: 300,
            large_runs: 40,
            throughput_for: Duration::from_millis(1500),
        }
    };

    // Per call: one fixture server, four routes to it.
    progress(
        started,
        "per call: starting the fixture server and the routes",
    );
    let fixture = McpFixture::start(McpOptions {
        payload_tool: true,
        ..McpOptions::default()
    })
    .await?;
    let home = Home::new()?;
    home.write_config(&[("bench".to_owned(), fixture.url())])?;
    let token = home.token("bench-client").await?;
    let serve = home.serve().await?;
    let mut routes = Vec::new();
    for route in report::Route::ALL {
        progress(started, &format!("per call: {}", route.name()));
        let measured = async {
            match route {
                report::Route::Direct => {
                    let client = clients::http(&fixture.url(), None, "bench").await?;
                    let r = calls::measure(client.peer(), None, plan).await;
                    let _ = client.cancel().await;
                    r
                }
                report::Route::Gateway => {
                    let client = clients::http(&serve.url("bench"), Some(&token), "bench").await?;
                    let r = calls::measure(client.peer(), Some(serve.pid()), plan).await;
                    let _ = client.cancel().await;
                    r
                }
                report::Route::Proxy | report::Route::McpRemote => {
                    let command = if route == report::Route::Proxy {
                        home.gatehouse(&["proxy", "bench"])
                    } else {
                        match &remote {
                            Some(remote) => remote.command(&home, &fixture.url()),
                            None => anyhow::bail!("mcp-remote not installed"),
                        }
                    };
                    let server = clients::stdio(command, "bench").await?;
                    let r = calls::measure(server.client.peer(), Some(server.pid()), plan).await;
                    server.stop().await;
                    r
                }
            }
        }
        .await
        .map_err(|e| format!("{e:#}"));
        if let Err(e) = &measured {
            eprintln!("  {}: {e}", route.name());
        }
        routes.push((route, measured));
    }
    serve.stop().await;
    drop(fixture);

    // Per machine: N servers, two clients.
    let ns: &[usize] = if quick { &[1, 10] } else { &[1, 10, 100] };
    let machine_home = Home::new()?;
    let tokens = [
        machine_home.token("client-a").await?,
        machine_home.token("client-b").await?,
    ];
    let mut machine = Vec::new();
    for &n in ns {
        progress(
            started,
            &format!("per machine: {n} server(s), two clients (gateway, proxies, mcp-remote)"),
        );
        let row = machine::measure(
            n,
            &machine_home,
            &tokens,
            remote.as_ref(),
            options.remote_max,
            options.remote_pair_max,
        )
        .await?;
        machine.push(row);
    }

    let mut startup_rows = Vec::new();
    for &n in ns {
        progress(
            started,
            &format!("startup: {n} header server(s), 300 ms handshakes"),
        );
        startup_rows.push((
            n,
            startup::header_servers(n, if quick { 2 } else { 5 }).await?,
        ));
    }
    let largest = *ns.last().unwrap();
    progress(
        started,
        &format!("startup: {largest} header servers, instant handshakes (the engine's own cost)"),
    );
    let startup_instant = (
        largest,
        startup::connect_all(largest, Duration::ZERO, if quick { 2 } else { 5 }).await?,
    );
    progress(
        started,
        "OAuth: callback to connected; stored tokens while five wait",
    );
    let oauth = startup::oauth(if quick { 3 } else { 10 }).await?;

    let mut vault_rows = Vec::new();
    for secrets in [10, 1_000, 10_000] {
        progress(started, &format!("vault: {secrets} secrets"));
        let runs = match (quick, secrets) {
            (true, _) => 5,
            (false, 10_000) => 15,
            (false, _) => 30,
        };
        vault_rows.push(tokio::task::block_in_place(|| {
            vault::measure(secrets, runs)
        })?);
    }

    let desktop = match std::env::var_os("GATEHOUSE_BENCH_APP") {
        Some(app) => {
            progress(
                started,
                &format!("desktop: the app with {} servers", desktop::SERVERS),
            );
            desktop::measure(std::path::Path::new(&app), if quick { 2 } else { 5 })
                .await
                .map_err(|e| format!("{e:#}"))
        }
        None => Err(
            "not measured: GATEHOUSE_BENCH_APP names no app (scripts/bench.sh builds it)"
                .to_owned(),
        ),
    };
    if let Err(e) = &desktop {
        eprintln!("  desktop: {e}");
    }

    let results = Results {
        quick,
        mcp_remote_version: remote.as_ref().map(|r| r.version.clone()),
        calls: routes,
        machine,
        startup: startup_rows,
        startup_instant,
        oauth,
        vault: vault_rows,
        desktop,
        duration: started.elapsed(),
    };
    let tables = report::tables(&results);
    println!("{tables}");
    if let Some(out) = &options.out {
        report::write(out, &results)?;
        progress(
            started,
            &format!("wrote {}", out.join("BENCHMARKS.md").display()),
        );
    }
    Ok(())
}
