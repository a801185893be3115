//! `gatehouse-fixture`: runs a fixture MCP server for end-to-end tests and
//! screenshots (header-authenticated, or with `--oauth` the OAuth-protected
//! demo server), printing its MCP URL on the first line of stdout.
//!
//! With `--control`, an OAuth fixture takes commands on stdin, one per line,
//! so a test can change what the authorization server does while the app
//! under test holds its tokens: `revoke-all`, `expire-access-tokens`,
//! `reject-refresh on|off`. Each is acknowledged with `ok <command>`.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use gatehouse_fixture::{Access, ConsentMode, McpFixture, McpOptions, OAuthFixture, OAuthOptions};

#[derive(Parser)]
#[command(about = "Runs a Gatehouse fixture MCP server on 127.0.0.1")]
struct Args {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Require `Authorization: Bearer <TOKEN>`.
    #[arg(long, value_name = "TOKEN", conflicts_with = "oauth")]
    bearer: Option<String>,
    /// Server name reported at initialize.
    #[arg(long)]
    name: Option<String>,
    /// Protect the server with OAuth 2.1 (authorization server on the same origin).
    #[arg(long)]
    oauth: bool,
    /// Also offer the tools that ask the client back (`ask_name`: elicitation,
    /// `count`: progress, …); without --oauth.
    #[arg(long, conflicts_with = "oauth")]
    interactive: bool,
    /// With --oauth: what /authorize does.
    #[arg(long, value_enum, default_value_t = Consent::Page, requires = "oauth")]
    consent: Consent,
    /// With --oauth: access token lifetime in seconds.
    #[arg(long, value_name = "SECONDS", requires = "oauth")]
    token_ttl: Option<u64>,
    /// With --oauth: a tool that needs an extra scope, as TOOL=SCOPE (repeatable).
    #[arg(long, value_name = "TOOL=SCOPE", value_parser = tool_scope, requires = "oauth")]
    tool_scope: Vec<(String, String)>,
    /// With --oauth: take control commands on stdin (see the crate docs).
    #[arg(long, requires = "oauth")]
    control: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Consent {
    /// Show a consent page with Approve and Deny.
    Page,
    /// Approve at once.
    Approve,
    /// Deny at once.
    Deny,
}

fn tool_scope(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(tool, scope)| !tool.is_empty() && !scope.is_empty())
        .map(|(tool, scope)| (tool.to_owned(), scope.to_owned()))
        .ok_or_else(|| format!("{text} is not TOOL=SCOPE"))
}

/// The server this process runs until Ctrl-C.
enum Running {
    Header(McpFixture),
    OAuth(OAuthFixture),
}

impl Running {
    fn url(&self) -> String {
        match self {
            Self::Header(fixture) => fixture.url(),
            Self::OAuth(fixture) => fixture.url(),
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let running = if args.oauth {
        let mut options = OAuthOptions {
            port: args.port,
            consent: match args.consent {
                Consent::Page => ConsentMode::Page,
                Consent::Approve => ConsentMode::AutoApprove,
                Consent::Deny => ConsentMode::Deny,
            },
            tool_scopes: args.tool_scope.into_iter().collect(),
            ..OAuthOptions::default()
        };
        if let Some(name) = args.name {
            options.server_name = name;
        }
        if let Some(seconds) = args.token_ttl {
            options.access_token_ttl = Duration::from_secs(seconds);
        }
        Running::OAuth(OAuthFixture::start(options).await?)
    } else {
        let options = McpOptions {
            name: args.name.unwrap_or_else(|| "gatehouse-fixture".into()),
            access: args.bearer.map(Access::Bearer).unwrap_or_default(),
            interactive: args.interactive,
            ..McpOptions::default()
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
        Running::Header(McpFixture::start_with(options, None, addr).await?)
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", running.url())?;
    stdout.flush()?;
    drop(stdout);
    match (&running, args.control) {
        (Running::OAuth(fixture), true) => {
            tokio::select! {
                result = control(fixture) => result?,
                result = tokio::signal::ctrl_c() => result?,
            }
        }
        _ => tokio::signal::ctrl_c().await?,
    }
    drop(running);
    Ok(())
}

/// Carries out the commands on stdin until it ends.
async fn control(fixture: &OAuthFixture) -> std::io::Result<()> {
    // A blocking reader on its own thread (tokio's stdin is not built here).
    let (sender, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = lines.recv().await {
        let command = line.trim();
        match command {
            "revoke-all" => fixture.revoke_all(),
            "expire-access-tokens" => fixture.expire_access_tokens(),
            "reject-refresh on" => fixture.reject_refresh(true),
            "reject-refresh off" => fixture.reject_refresh(false),
            "" => continue,
            other => {
                eprintln!("unknown control command {other:?}");
                continue;
            }
        }
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "ok {command}")?;
        stdout.flush()?;
    }
    // The test closed stdin: keep serving until Ctrl-C.
    tokio::signal::ctrl_c().await
}
