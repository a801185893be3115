//! A Gatehouse home in a temporary folder (config file, passphrase vault,
//! HOME and XDG folders), and the `gatehouse` program run against it the
//! way an AI client or a person runs it: `proxy <id>`, `serve`, `gateway
//! token add`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// The vault's passphrase (`GATEHOUSE_VAULT_PASSPHRASE`): the benchmark
/// machine has no keyring session.
const PASSPHRASE: &str = "benchmark passphrase, not a secret";

/// The `[[servers]]` tables of a config with these servers (`id`, `url`), no auth.
pub fn servers_toml(servers: &[(String, String)]) -> String {
    servers
        .iter()
        .map(|(id, url)| format!("[[servers]]\nid = \"{id}\"\nurl = \"{url}\"\n\n"))
        .collect()
}

pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        for sub in ["home", "config", "data", "cache", "state"] {
            std::fs::create_dir_all(dir.path().join(sub))?;
        }
        Ok(Self { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config_file(&self) -> PathBuf {
        self.path().join("gatehouse.toml")
    }

    /// Writes a config with these servers (`id`, `url`), no auth.
    pub fn write_config(&self, servers: &[(String, String)]) -> Result<()> {
        std::fs::write(self.config_file(), servers_toml(servers))?;
        Ok(())
    }

    /// The environment every program started here gets: a private HOME
    /// and XDG folders (mcp-remote keeps its state in `~/.mcp-auth`).
    pub fn env(&self, command: &mut Command) {
        let p = self.path();
        command
            .env("HOME", p.join("home"))
            .env("XDG_CONFIG_HOME", p.join("config"))
            .env("XDG_DATA_HOME", p.join("data"))
            .env("XDG_CACHE_HOME", p.join("cache"))
            .env("XDG_STATE_HOME", p.join("state"))
            .env_remove("GATEHOUSE_LOG")
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
    }

    /// `gatehouse <args>` over this home.
    pub fn gatehouse(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        command
            .arg("--config")
            .arg(self.config_file())
            .arg("--data-dir")
            .arg(self.path().join("gatehouse-data"))
            .args(args)
            .env("GATEHOUSE_VAULT_PASSPHRASE", PASSPHRASE);
        self.env(&mut command);
        command
    }

    /// A new gateway token for `client`.
    pub async fn token(&self, client: &str) -> Result<String> {
        let output = self
            .gatehouse(&["gateway", "token", "add", client])
            .stdin(Stdio::null())
            .output()
            .await?;
        if !output.status.success() {
            bail!(
                "gatehouse gateway token add failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    }

    /// `gatehouse serve --port 0`, once it listens.
    pub async fn serve(&self) -> Result<Serve> {
        let mut child = self
            .gatehouse(&["serve", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("gatehouse serve did not start")??
            .context("gatehouse serve ended")?;
        let port: u16 = first
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("no port in {first:?}"))?;
        // Keep reading what it prints, so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Serve { child, port })
    }
}

/// A running `gatehouse serve`.
pub struct Serve {
    pub child: Child,
    pub port: u16,
}

impl Serve {
    pub fn url(&self, id: &str) -> String {
        format!("http://127.0.0.1:{}/servers/{id}/mcp", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
