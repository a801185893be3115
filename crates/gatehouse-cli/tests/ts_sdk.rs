//! End to end against an independent peer: the TypeScript MCP SDK's example
//! server (`simpleStreamableHttp.js`), with OAuth (`--oauth`) exactly as the
//! README's walkthrough does it, and without. `scripts/test.sh` installs the
//! SDK and points `GATEHOUSE_TS_SDK_SERVER` at the example; run with
//! `--ignored`.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The example server, killed on drop.
struct TsServer {
    _child: Child,
    mcp_port: u16,
}

async fn start_ts_server(oauth: bool) -> TsServer {
    let script = std::env::var("GATEHOUSE_TS_SDK_SERVER").expect(
        "GATEHOUSE_TS_SDK_SERVER must name the SDK's simpleStreamableHttp.js (scripts/test.sh sets it)",
    );
    let (mcp_port, auth_port) = (free_port(), free_port());
    let mut child = Command::new("node")
        .arg(script)
        .args(oauth.then_some("--oauth"))
        .env("MCP_PORT", mcp_port.to_string())
        .env("MCP_AUTH_PORT", auth_port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut mcp, mut auth) = (false, !oauth);
    tokio::time::timeout(Duration::from_secs(30), async {
        while !(mcp && auth) {
            let line = lines.next_line().await.unwrap().expect("the server exited");
            mcp |= line.contains("MCP Streamable HTTP Server listening");
            auth |= line.contains("OAuth Authorization Server listening");
        }
    })
    .await
    .expect("the example server started");
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    TsServer {
        _child: child,
        mcp_port,
    }
}

fn gatehouse(dir: &tempfile::TempDir, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .args(["--config", dir.path().join("config.toml").to_str().unwrap()])
        .args(["--data-dir", dir.path().join("data").to_str().unwrap()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

async fn ok(dir: &tempfile::TempDir, args: &[&str]) -> String {
    let output = gatehouse(dir, args).output().await.unwrap();
    assert!(
        output.status.success(),
        "gatehouse {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
#[ignore = "needs the TypeScript SDK's example server; run by scripts/test.sh"]
async fn authorizes_against_the_typescript_sdk_example_server() {
    let server = start_ts_server(true).await;
    let dir = tempfile::tempdir().unwrap();
    // The example's metadata names `localhost`, so that is the URL to use.
    let url = format!("http://localhost:{}/mcp", server.mcp_port);
    ok(&dir, &["servers", "add", "demo", &url, "--oauth"]).await;

    let mut auth = gatehouse(&dir, &["auth", "demo", "--no-browser"])
        .spawn()
        .unwrap();
    let mut out = BufReader::new(auth.stdout.take().unwrap()).lines();
    let authorization_url = tokio::time::timeout(Duration::from_secs(30), out.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        authorization_url.contains("code_challenge_method=S256"),
        "{authorization_url}"
    );
    // The browser: the example approves at once and redirects to the
    // loopback listener, which the browser then loads.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = browser.get(&authorization_url).send().await.unwrap();
    let callback = consent
        .headers()
        .get("location")
        .expect("the example redirects")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
    let page = browser
        .get(&callback)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Gatehouse is now authorized"), "{page}");
    let status = tokio::time::timeout(Duration::from_secs(30), auth.wait())
        .await
        .unwrap()
        .unwrap();
    let last = out.next_line().await.unwrap().unwrap_or_default();
    assert!(status.success(), "{last}");
    assert!(last.starts_with("demo: connected"), "{last}");

    // A new process needs no browser.
    let tools = ok(&dir, &["tools", "demo"]).await;
    assert!(tools.lines().any(|l| l.starts_with("greet\t")), "{tools}");
    let greeting = ok(&dir, &["call", "demo", "greet", r#"{"name": "Gatehouse"}"#]).await;
    assert_eq!(greeting.trim(), "Hello, Gatehouse!");
    // The example knows no `server/discover`: Gatehouse fell back to the
    // `initialize` handshake of 2025-11-25, and says so.
    let list: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["servers", "list", "--json"]).await).unwrap();
    assert_eq!(list[0]["status"]["protocolVersion"], "2025-11-25", "{list}");
    assert_tools_described_whole(&dir, "demo").await;
    drop(server);
}

#[tokio::test]
#[ignore = "needs the TypeScript SDK's example server; run by scripts/test.sh"]
async fn lists_the_typescript_sdk_example_servers_tools_as_it_describes_them() {
    let server = start_ts_server(false).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/mcp", server.mcp_port);
    ok(&dir, &["servers", "add", "plain", &url]).await;
    assert_tools_described_whole(&dir, "plain").await;
    drop(server);
}

/// `tools --json` keeps what the SDK writes of each tool beyond rmcp's
/// model of one: `execution` (MCP 2025-11-25) and the schema's `$schema`.
async fn assert_tools_described_whole(dir: &tempfile::TempDir, id: &str) {
    let tools: serde_json::Value =
        serde_json::from_str(&ok(dir, &["tools", id, "--json"]).await).unwrap();
    let greet = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "greet")
        .unwrap_or_else(|| panic!("{tools}"));
    assert_eq!(greet["execution"]["taskSupport"], "forbidden", "{greet}");
    assert_eq!(greet["title"], "Greeting Tool", "{greet}");
    assert!(greet["inputSchema"]["$schema"].is_string(), "{greet}");
}
