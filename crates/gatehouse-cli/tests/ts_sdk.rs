//! End to end against an independent peer: the TypeScript MCP SDK's example
//! server (`simpleStreamableHttp.js`), with OAuth (`--oauth`) exactly as the
//! README's walkthrough does it, and without; its tools, which carry
//! `execution` (MCP 2025-11-25, unknown to rmcp's model), as `tools --json`
//! prints them and as a client gets them through `gatehouse proxy` and
//! through the HTTP gateway.
//! `scripts/test.sh` installs the SDK and points
//! `GATEHOUSE_TS_SDK_SERVER` at the example; run with `--ignored`.

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Home, start_ts_server};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
#[ignore = "needs the TypeScript SDK's example server; run by scripts/test.sh"]
async fn authorizes_against_the_typescript_sdk_example_server() {
    let server = start_ts_server(true).await;
    let home = Home::with_keyring();
    // The example's metadata names `localhost`, so that is the URL to use.
    let url = format!("http://localhost:{}/mcp", server.mcp_port);
    home.ok(&["servers", "add", "demo", &url, "--oauth"]).await;

    let mut auth = home
        .command(&["auth", "demo", "--no-browser"])
        .stdin(Stdio::null())
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
    let tools = home.ok(&["tools", "demo"]).await;
    assert!(tools.lines().any(|l| l.starts_with("greet\t")), "{tools}");
    let greeting = home
        .ok(&["call", "demo", "greet", r#"{"name": "Gatehouse"}"#])
        .await;
    assert_eq!(greeting.trim(), "Hello, Gatehouse!");
    // The example knows no `server/discover`: Gatehouse fell back to the
    // `initialize` handshake of 2025-11-25, and says so.
    let list: Value = serde_json::from_str(&home.ok(&["servers", "list", "--json"]).await).unwrap();
    assert_eq!(list[0]["status"]["protocolVersion"], "2025-11-25", "{list}");
    assert_tools_described_whole(&home, "demo").await;
    drop(server);
}

#[tokio::test]
#[ignore = "needs the TypeScript SDK's example server; run by scripts/test.sh"]
async fn lists_the_typescript_sdk_example_servers_tools_as_it_describes_them() {
    let server = start_ts_server(false).await;
    let home = Home::new();
    let url = format!("http://127.0.0.1:{}/mcp", server.mcp_port);
    home.ok(&["servers", "add", "plain", &url]).await;
    assert_tools_described_whole(&home, "plain").await;
    drop(server);
}

/// `tools --json` keeps what the SDK writes of each tool beyond rmcp's
/// model of one: `execution` (MCP 2025-11-25) and the schema's `$schema`.
async fn assert_tools_described_whole(home: &Home, id: &str) {
    let tools: Value = serde_json::from_str(&home.ok(&["tools", id, "--json"]).await).unwrap();
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

#[tokio::test]
#[ignore = "needs the TypeScript SDK's example server; run by scripts/test.sh"]
async fn a_client_of_gatehouse_proxy_gets_the_tools_as_the_server_describes_them() {
    let server = start_ts_server(false).await;
    let home = Home::new();
    let url = format!("http://127.0.0.1:{}/mcp", server.mcp_port);
    home.ok(&["servers", "add", "plain", &url]).await;

    // As a client that launched `gatehouse proxy` reads them.
    let answers = support::through_proxy(&home, "plain", &[list_tools()]).await;
    let listed = &answers[&2];
    assert_described(&listed["result"]);

    drop(server);
}

#[tokio::test]
#[ignore = "needs the TypeScript SDK's example server; run by scripts/test.sh"]
async fn a_client_of_the_gateway_gets_the_tools_as_the_server_describes_them() {
    let server = start_ts_server(false).await;
    let home = Home::new();
    let url = format!("http://127.0.0.1:{}/mcp", server.mcp_port);
    home.ok(&["servers", "add", "plain", &url]).await;
    let token = home.token("raw").await;
    let gateway = home.serve().await;

    // As a client of `gatehouse serve` reads them, over plain HTTP.
    let session = support::RawGatewaySession::open(&gateway.url("plain"), &token).await;
    let listed = session.ask(&list_tools()).await;
    assert_described(&listed["result"]);

    drop(gateway);
    drop(server);
}

fn list_tools() -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
}

/// A tools/list result as the example server wrote it: its `execution`
/// (MCP 2025-11-25), which rmcp's model of a tool lacks, kept.
fn assert_described(result: &Value) {
    let greet = result["tools"]
        .as_array()
        .and_then(|tools| tools.iter().find(|t| t["name"] == "greet"))
        .unwrap_or_else(|| panic!("{result}"));
    assert_eq!(greet["execution"]["taskSupport"], "forbidden", "{greet}");
    assert!(
        greet["inputSchema"]["properties"]["name"].is_object(),
        "{greet}"
    );
}
