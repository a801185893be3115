//! Desktop: the app (built in this benchmark's profile) launched on the
//! session's display with 20 servers — the time until its window has painted
//! the server list, and the memory of its process tree (the app and
//! WebKit's processes) once all 20 are connected and it sits idle.
//!
//! The window tells the app when it painted its first server list (two
//! animation frames after rendering it) and the app logs that once; the
//! launch time is from spawning the program to that log line. Each of the 20
//! servers is its own fixture, so "connected" is read from the fixtures:
//! every one has answered `tools/list`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use gatehouse_fixture::{McpFixture, McpOptions};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::procs::{self, Memory};
use crate::stats::Summary;

pub const SERVERS: usize = 20;
/// What the app logs when its window painted the first server list.
const PAINTED: &str = "the window painted its server list";
/// How long the app sits with its servers connected before its memory is read.
const IDLE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct DesktopFigures {
    pub launch: Summary,
    pub idle: Memory,
}

/// Launches `app` `runs` times (one after another, the same config and
/// folders, as a person starting it again) and reads the memory in the last.
pub async fn measure(app: &Path, runs: usize) -> Result<DesktopFigures> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        bail!("no display: scripts/bench.sh runs the benchmark in a desktop session (Xvfb)");
    }
    let mut fixtures = Vec::with_capacity(SERVERS);
    for i in 0..SERVERS {
        fixtures.push(
            McpFixture::start(McpOptions {
                name: format!("desktop-{i}"),
                ..McpOptions::default()
            })
            .await?,
        );
    }
    let dir = tempfile::tempdir()?;
    let servers: Vec<(String, String)> = fixtures
        .iter()
        .enumerate()
        .map(|(i, fixture)| (format!("s{}", i + 1), fixture.url()))
        .collect();
    let mut config = crate::home::servers_toml(&servers);
    // Its own gateway port, so a Gatehouse already running here is not in the way.
    config.push_str(&format!("[gateway]\nport = {}\n", free_port()?));
    std::fs::write(dir.path().join("config.toml"), config)?;

    let mut launches = Vec::with_capacity(runs);
    let mut idle = Memory::default();
    for run in 0..runs {
        let listed_before: Vec<usize> = fixtures.iter().map(tool_lists).collect();
        let mut app = App::launch(app, dir.path()).await?;
        launches.push(app.painted().await?);
        if run + 1 == runs {
            let deadline = Instant::now() + Duration::from_secs(60);
            while fixtures
                .iter()
                .zip(&listed_before)
                .any(|(fixture, &before)| tool_lists(fixture) == before)
            {
                if Instant::now() > deadline {
                    bail!("the app did not connect its {SERVERS} servers within 60 s");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(IDLE).await;
            idle = procs::tree_memory(&[app.pid()]);
        }
        app.stop().await;
    }
    for fixture in &mut fixtures {
        fixture.stop().await;
    }
    Ok(DesktopFigures {
        launch: Summary::of(launches),
        idle,
    })
}

/// How many `tools/list` requests the fixture has answered: a server
/// counts as connected once Gatehouse has listed its tools.
fn tool_lists(fixture: &McpFixture) -> usize {
    fixture
        .requests()
        .iter()
        .flat_map(|request| &request.calls)
        .filter(|call| call.method == "tools/list")
        .count()
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

struct App {
    child: Child,
    started: Instant,
    /// The app's log, until the line that says its window painted.
    log: Option<tokio::io::Lines<BufReader<tokio::process::ChildStderr>>>,
}

impl App {
    async fn launch(program: &Path, dir: &Path) -> Result<Self> {
        let mut command = Command::new(program);
        command
            .env("GATEHOUSE_CONFIG", dir.join("config.toml"))
            .env("GATEHOUSE_DATA_DIR", dir.join("data"))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("XDG_DATA_HOME", dir.join("share"))
            .env_remove("GATEHOUSE_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let log = BufReader::new(child.stderr.take().context("no stderr")?).lines();
        Ok(Self {
            child,
            started,
            log: Some(log),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// The time from launch until the app logged its painted window; then
    /// keeps draining its log so it never blocks on a full pipe.
    async fn painted(&mut self) -> Result<Duration> {
        let mut log = self.log.take().context("already painted")?;
        let mut seen = Vec::new();
        let wait = async {
            while let Some(line) = log.next_line().await? {
                if line.contains(PAINTED) {
                    return Ok(Some(self.started.elapsed()));
                }
                seen.push(line);
            }
            Ok::<_, std::io::Error>(None)
        };
        let painted = tokio::time::timeout(Duration::from_secs(60), wait).await;
        match painted {
            Ok(Ok(Some(elapsed))) => {
                tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
                Ok(elapsed)
            }
            Ok(Ok(None)) => bail!(
                "the app ended before painting its window:\n{}",
                seen.join("\n")
            ),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => bail!(
                "the app did not paint its window within 60 s:\n{}",
                seen.join("\n")
            ),
        }
    }

    /// Asks the app to end (SIGTERM), as the session does at logout; then
    /// waits until it and its WebKit processes are gone.
    async fn stop(mut self) {
        let tree = procs::trees(&[self.pid()]);
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on our own child's pid, which we have not yet reaped.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        }
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while tree
            .iter()
            .any(|pid| Path::new(&format!("/proc/{pid}")).exists())
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
