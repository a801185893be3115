//! The local HTTP gateway as AI clients and a person use it: the real
//! `gatehouse serve` in front of the fixture's header and OAuth servers.
//!
//! - Without SDKs (run by plain `cargo test`): the guard's answers over
//!   real HTTP — 401 without or with a bad or revoked token (also inside an
//!   open session), 403 for a foreign `Origin` or `Host`, 404 for an
//!   unknown server; a port in use; `gatehouse gateway token add|list|revoke`
//!   and `gatehouse gateway status --json`; a client of an earlier revision
//!   than the server's given answers in its own revision's shape.
//! - With the real clients from the package registries — the TypeScript
//!   SDK's `StreamableHTTPClientTransport` (npm `@modelcontextprotocol/sdk`)
//!   and the Python SDK's Streamable HTTP client (PyPI `mcp` 2.x) —
//!   initialize, tools/list, tools/call, progress, cancellation and
//!   elicitation through the gateway; a structured output that is not an
//!   object (MCP 2026-07-28) passed on as its revision has it; refused without a token (401) and
//!   with a foreign `Origin` (403); a never-authorized server (an error
//!   naming `gatehouse auth`, no hang). Those need the SDKs that
//!   `scripts/test.sh` installs and are run with `--ignored`.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use gatehouse_fixture::{Access, ConsentMode, McpFixture, McpOptions, OAuthFixture, OAuthOptions};
use serde_json::{Value, json};
use support::Home;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

const SECRET: &str = "s3cr3t-gateway-canary-41d9";
const FOREIGN_ORIGIN: &str = "https://evil.example";

fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

fn initialize_body() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw-http-test", "version": "1"}
        }
    })
}

/// A POST of `body` to `url` as an MCP client sends it, with `headers`.
async fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> reqwest::Response {
    let client = reqwest::Client::new();
    let mut request = client
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    tokio::time::timeout(Duration::from_secs(30), request.send())
        .await
        .expect("the gateway answered")
        .unwrap()
}

/// A request written by hand, for headers an HTTP client will not forge:
/// returns the status code.
async fn raw_status(port: u16, host: &str, token: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let body = initialize_body().to_string();
    let request = format!(
        "POST /servers/internal/mcp HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0; 64];
    let read = stream.read(&mut answer).await.unwrap();
    let head = String::from_utf8_lossy(&answer[..read]).into_owned();
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {head:?}"))
}

async fn header_server() -> McpFixture {
    McpFixture::start(McpOptions {
        access: Access::Bearer(SECRET.into()),
        interactive: true,
        ..McpOptions::default()
    })
    .await
    .unwrap()
}

async fn oauth_server() -> OAuthFixture {
    OAuthFixture::start(OAuthOptions {
        consent: ConsentMode::AutoApprove,
        interactive_tools: true,
        ..OAuthOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_gateway_refuses_what_it_must() {
    let fixture = header_server().await;
    let home = Home::new();
    home.add_header_server("internal", &fixture.url(), SECRET)
        .await;
    let token = home.token("cursor").await;
    let gateway = home.serve().await;
    let url = gateway.url("internal");
    let bearer = format!("Bearer {token}");

    // No token, a wrong one: 401 with a Bearer challenge.
    for headers in [vec![], vec![("authorization", "Bearer ghgw_wrong")]] {
        let answer = post(&url, &headers, &initialize_body()).await;
        assert_eq!(answer.status(), 401, "{headers:?}");
        let challenge = answer.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        let body = answer.text().await.unwrap();
        assert!(!body.contains(&token));
    }
    // A web page's Origin: 403, token or not.
    let answer = post(
        &url,
        &[("authorization", &bearer), ("origin", FOREIGN_ORIGIN)],
        &initialize_body(),
    )
    .await;
    assert_eq!(answer.status(), 403);
    // A DNS-rebound name in Host: 403.
    assert_eq!(
        raw_status(
            gateway.port,
            &format!("rebound.evil.example:{}", gateway.port),
            &token
        )
        .await,
        403
    );
    assert_eq!(
        raw_status(gateway.port, &format!("localhost:{}", gateway.port), &token).await,
        200
    );
    // An unknown server: 404 with a JSON error.
    let answer = post(
        &gateway.url("nope"),
        &[("authorization", &bearer)],
        &initialize_body(),
    )
    .await;
    assert_eq!(answer.status(), 404);
    let error: Value = answer.json().await.unwrap();
    assert_eq!(error["error"]["data"]["code"], "unknown_server", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"nope\""),
        "{error}"
    );

    // The token works: a session starts, and answers.
    let answer = post(&url, &[("authorization", &bearer)], &initialize_body()).await;
    assert_eq!(answer.status(), 200);
    let session = answer.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = answer.text().await.unwrap();
    assert!(text.contains("gatehouse-fixture"), "{text}");
    let in_session = [
        ("authorization", bearer.as_str()),
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(post(&url, &in_session, &initialized).await.status(), 202);
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let answer = post(&url, &in_session, &list).await;
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await.unwrap().contains("\"echo\""));

    // Revoked from another process: the open session's next request is
    // refused.
    home.ok(&["gateway", "token", "revoke", "cursor"]).await;
    let answer = post(&url, &in_session, &list).await;
    assert_eq!(answer.status(), 401);
    // Only the fixture's own secret went upstream; never the client token.
    for request in fixture.requests() {
        assert_eq!(request.headers["authorization"], format!("Bearer {SECRET}"));
    }
    drop(gateway);
}

#[tokio::test]
async fn tokens_and_status_from_the_command_line() {
    let home = Home::new();
    home.ok(&["servers", "add", "one", "https://one.example/mcp"])
        .await;
    home.ok(&[
        "servers",
        "add",
        "two",
        "https://two.example/mcp",
        "--disabled",
    ])
    .await;
    // Not running, at the configured port.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let config = std::fs::read_to_string(home.config_file()).unwrap();
    std::fs::write(
        home.config_file(),
        format!("[gateway]\nport = {port}\n\n{config}"),
    )
    .unwrap();
    let status: Value =
        serde_json::from_str(&home.ok(&["gateway", "status", "--json"]).await).unwrap();
    assert_eq!(
        status,
        json!({
            "port": port,
            "listening": false,
            "servers": [
                {"id": "one", "url": format!("http://127.0.0.1:{port}/servers/one/mcp"), "enabled": true},
                {"id": "two", "url": format!("http://127.0.0.1:{port}/servers/two/mcp"), "enabled": false},
            ]
        })
    );
    let text = home.ok(&["gateway", "status"]).await;
    assert!(text.contains(&format!("http://127.0.0.1:{port}/servers/one/mcp")));

    // Tokens: printed once, listed by name only, unique, revocable.
    let first = home.token("claude-desktop").await;
    let second = home.token("zed").await;
    assert_ne!(first, second);
    let (ok, _, stderr) = home.run(&["gateway", "token", "add", "zed"], "").await;
    assert!(!ok);
    assert!(stderr.contains("already exists"), "{stderr}");
    let (ok, _, stderr) = home
        .run(&["gateway", "token", "add", "not a name"], "")
        .await;
    assert!(!ok);
    assert!(stderr.contains("not allowed"), "{stderr}");
    let listed = home.ok(&["gateway", "token", "list"]).await;
    assert_eq!(listed, "claude-desktop\nzed\n");
    let listed: Value =
        serde_json::from_str(&home.ok(&["gateway", "token", "list", "--json"]).await).unwrap();
    assert_eq!(listed[0]["name"], "claude-desktop");
    assert!(listed[0]["createdAt"].as_u64().unwrap() > 0);
    assert!(!listed.to_string().contains(&first));
    // Not among the person's secrets.
    assert_eq!(home.ok(&["secrets", "list"]).await, "");
    home.ok(&["gateway", "token", "revoke", "zed"]).await;
    assert_eq!(
        home.ok(&["gateway", "token", "list"]).await,
        "claude-desktop\n"
    );
    let (ok, _, stderr) = home.run(&["gateway", "token", "revoke", "zed"], "").await;
    assert!(!ok);
    assert!(stderr.contains("no gateway token"), "{stderr}");
    // The vault file never holds a token in the clear (it is encrypted
    // anyway; this guards the JSON inside against a plain copy).
    let vault = std::fs::read(home.dir.path().join("data/vault.age")).unwrap();
    assert!(!String::from_utf8_lossy(&vault).contains(&first));

    // Running: `serve` takes the configured port, status sees it.
    let mut child = home.command(&["serve"]).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first_line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        first_line.contains(&format!("http://127.0.0.1:{port}")),
        "{first_line}"
    );
    let status: Value =
        serde_json::from_str(&home.ok(&["gateway", "status", "--json"]).await).unwrap();
    assert_eq!(status["listening"], true);
    // A second gateway on the same port is refused, naming it.
    let (ok, _, stderr) = home.run(&["serve"], "").await;
    assert!(!ok);
    assert!(
        stderr.contains(&format!("port {port}")) && stderr.contains("in use"),
        "{stderr}"
    );
    drop(child);
}

/// The two real HTTP clients.
#[derive(Clone, Copy, Debug)]
enum Peer {
    TypeScript,
    Python,
}

impl Peer {
    fn command(self, mode: &str, url: &str) -> Command {
        let mut command = match self {
            Self::TypeScript => {
                let server = std::env::var("GATEHOUSE_TS_SDK_SERVER").expect(
                    "GATEHOUSE_TS_SDK_SERVER must name the SDK's simpleStreamableHttp.js (scripts/test.sh sets it)",
                );
                let sdk = PathBuf::from(server)
                    .ancestors()
                    .nth(5)
                    .expect("the SDK folder")
                    .to_path_buf();
                let mut command = Command::new("node");
                command.arg(peers_dir().join("ts_http_client.mjs")).arg(sdk);
                command
            }
            Self::Python => {
                let python = std::env::var("GATEHOUSE_PYTHON_MCP").expect(
                    "GATEHOUSE_PYTHON_MCP must name a Python with PyPI `mcp` 2.x (scripts/test.sh sets it)",
                );
                let mut command = Command::new(python);
                command.arg(peers_dir().join("py_http_client.py"));
                command
            }
        };
        command
            .arg(mode)
            .arg(url)
            .env_remove("GATEHOUSE_GW_TOKEN")
            .env_remove("GATEHOUSE_GW_ORIGIN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        command
    }

    /// Runs the client in `mode` to the end; returns its one JSON line.
    async fn run(self, mode: &str, url: &str, token: Option<&str>, origin: Option<&str>) -> Value {
        let mut command = self.command(mode, url);
        if let Some(token) = token {
            command.env("GATEHOUSE_GW_TOKEN", token);
        }
        if let Some(origin) = origin {
            command.env("GATEHOUSE_GW_ORIGIN", origin);
        }
        let child = command.spawn().unwrap();
        let output = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("the {self:?} client finished"))
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "the {self:?} client failed: {stdout}"
        );
        let line = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
    }
}

/// Waits (a few seconds at most) until `count()` reaches `want`.
async fn eventually(want: usize, count: impl Fn() -> usize) -> usize {
    for _ in 0..100 {
        if count() >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    count()
}

/// What a person would check in their AI client.
fn check_full_round(peer: Peer, out: &Value, server_name: &str) {
    assert_eq!(out["server"], server_name, "{peer:?}: {out}");
    let tools: Vec<&str> = out["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{peer:?}: {out}"))
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for tool in [
        "add",
        "ask_model",
        "ask_name",
        "count",
        "echo",
        "primes",
        "wait_for_cancel",
    ] {
        assert!(tools.contains(&tool), "{peer:?}: {tool} missing: {tools:?}");
    }
    assert_eq!(out["echo"], "hello through the gateway", "{peer:?}: {out}");
    support::check_primes_for_an_earlier_revision(&format!("{peer:?}"), &out["primes"]);
    assert_eq!(out["count"], "counted to 3", "{peer:?}: {out}");
    let mut progress: Vec<(f64, f64, String)> = out["progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_f64().unwrap(),
                p[1].as_f64().unwrap(),
                p[2].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    progress.sort_by(|a, b| a.0.total_cmp(&b.0));
    let expected: Vec<(f64, f64, String)> = (1..=3)
        .map(|step| (f64::from(step), 3.0, format!("step {step} of 3")))
        .collect();
    assert_eq!(progress, expected, "{peer:?}");
    assert!(
        !out["cancel"]["error"].is_null(),
        "{peer:?}: the cancelled call completed: {out}"
    );
    assert_eq!(
        out["elicited"], "Hello, Ada (asked: What is your name?)!",
        "{peer:?}: {out}"
    );
    // Sampling: asked by the server, answered by the client whose call
    // asked for it.
    assert_eq!(
        out["sampled"], "test-model said: hello (asked: Say hello)",
        "{peer:?}: {out}"
    );
    assert_eq!(out["after"], "5", "{peer:?}: {out}");
}

/// A client of a revision before 2026-07-28, speaking plain HTTP, of a
/// server that speaks 2026-07-28 to the engine: answers in the shape of the
/// client's revision (no `resultType`; `primes`, whose output is an array,
/// without its output schema and with its value as text).
#[tokio::test]
async fn answers_reach_a_client_in_the_shape_of_its_revision() {
    let fixture = header_server().await;
    let home = Home::new();
    home.add_header_server("internal", &fixture.url(), SECRET)
        .await;
    let token = home.token("raw").await;
    let gateway = home.serve().await;
    let session = support::RawGatewaySession::open(&gateway.url("internal"), &token).await;
    let ask = |id: u32, method: &str, params: Value| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});

    let list = session.ask(&ask(2, "tools/list", json!({}))).await;
    let tools = &list["result"]["tools"];
    assert!(list["result"].get("resultType").is_none(), "{list}");
    let listed = |name: &str| {
        tools
            .as_array()
            .and_then(|tools| tools.iter().find(|t| t["name"] == name))
            .unwrap_or_else(|| panic!("{name} missing: {list}"))
            .clone()
    };
    assert!(listed("primes").get("outputSchema").is_none(), "{list}");
    assert_eq!(listed("echo")["inputSchema"]["type"], "object", "{list}");

    let call = ask(
        3,
        "tools/call",
        json!({"name": "primes", "arguments": {"count": 4}}),
    );
    let call = session.ask(&call).await;
    let result = &call["result"];
    assert!(result.get("resultType").is_none(), "{call}");
    assert!(result.get("structuredContent").is_none(), "{call}");
    assert_eq!(result["content"][0]["text"], "[2,3,5,7]", "{call}");
    drop(gateway);
}

/// A server whose tool list rmcp cannot read as one (a duplicate key, a
/// tool without `inputSchema`): through the gateway too, the tools it can
/// read, the tool filter applied, in the shape of the client's revision.
#[tokio::test]
async fn a_tool_list_rmcp_cannot_read_is_still_filtered_and_shaped() {
    let server = support::HostileServer::start(&[(
        "tools/list",
        r#""result":{"resultType":"complete","tools":[
            {"name":"ok","inputSchema":{"type":"object"},"outputSchema":{"type":"array"},"x-vendor":1},
            {"name":"hidden","inputSchema":{"type":"object"}},
            {"name":"broken"},
            {"name":"dup","description":"a","description":"b","inputSchema":{"type":"object"}}]}"#,
    )])
    .await;
    let home = Home::new();
    home.ok(&[
        "servers",
        "add",
        "hostile",
        &server.url,
        "--deny-tool",
        "hidden",
    ])
    .await;
    let token = home.token("raw").await;
    let gateway = home.serve().await;
    let session = support::RawGatewaySession::open(&gateway.url("hostile"), &token).await;
    let list = session
        .ask(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    let tools = list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"));
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["ok", "dup"], "{list}");
    assert!(list["result"].get("resultType").is_none(), "{list}");
    assert!(tools[0].get("outputSchema").is_none(), "{list}");
    // What rmcp's model lacks, as the server wrote it.
    assert_eq!(tools[0]["x-vendor"], 1, "{list}");
    drop(gateway);
}

async fn through_a_header_server(peer: Peer) {
    let fixture = header_server().await;
    let home = Home::new();
    home.add_header_server("internal", &fixture.url(), SECRET)
        .await;
    let token = home.token("sdk-client").await;
    let gateway = home.serve().await;
    assert!(
        gateway
            .urls
            .iter()
            .any(|line| line.contains(&gateway.url("internal"))),
        "{:?}",
        gateway.urls
    );
    let out = peer
        .run("full", &gateway.url("internal"), Some(&token), None)
        .await;
    check_full_round(peer, &out, "gatehouse-fixture");
    assert_eq!(
        eventually(1, || fixture.cancelled_calls()).await,
        1,
        "{peer:?}: the server never saw the cancellation"
    );
    for request in fixture.requests() {
        assert_eq!(request.headers["authorization"], format!("Bearer {SECRET}"));
    }
}

async fn through_an_oauth_server(peer: Peer) {
    let fixture = oauth_server().await;
    let home = Home::new();
    home.ok(&["servers", "add", "demo", &fixture.url(), "--oauth"])
        .await;
    home.authorize("demo").await;
    let authorizations = fixture.authorization_requests().len();
    let token = home.token("sdk-client").await;
    let gateway = home.serve().await;
    let out = peer
        .run("full", &gateway.url("demo"), Some(&token), None)
        .await;
    check_full_round(peer, &out, "gatehouse-demo");
    // The gateway used the tokens in the vault: no second consent.
    assert_eq!(fixture.authorization_requests().len(), authorizations);
}

/// No token, then a foreign Origin: the client cannot connect, and says
/// why (401, then 403).
async fn refused_without_a_token_or_from_a_web_page(peer: Peer) {
    let fixture = header_server().await;
    let home = Home::new();
    home.add_header_server("internal", &fixture.url(), SECRET)
        .await;
    let token = home.token("sdk-client").await;
    let gateway = home.serve().await;
    let url = gateway.url("internal");

    let out = peer.run("connect", &url, None, None).await;
    assert_eq!(out["connected"], false, "{peer:?}: {out}");
    let error = out["error"].as_str().unwrap();
    assert!(
        error.contains("401") || error.contains("gateway token is required"),
        "{peer:?}: {out}"
    );

    let out = peer
        .run("connect", &url, Some(&token), Some(FOREIGN_ORIGIN))
        .await;
    assert_eq!(out["connected"], false, "{peer:?}: {out}");
    let error = out["error"].as_str().unwrap();
    assert!(
        error.contains("403") || error.contains("requests from web pages are not accepted"),
        "{peer:?}: {out}"
    );

    // And with the token, from no web page, it works.
    let out = peer.run("connect", &url, Some(&token), None).await;
    assert_eq!(out["connected"], true, "{peer:?}: {out}");
    assert!(
        out["tools"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("echo"))),
        "{peer:?}: {out}"
    );
}

/// A server nobody authorized: the client gets an error in words that
/// names the fix, promptly — no hang; the running app is asked to show its
/// Authorize prompt.
async fn told_to_authorize(peer: Peer) {
    let fixture = oauth_server().await;
    let home = Home::new();
    home.ok(&["servers", "add", "demo", &fixture.url(), "--oauth"])
        .await;
    let token = home.token("sdk-client").await;
    let gateway = home.serve().await;
    let app = home.app_engine();
    let mut events = app.subscribe();
    app.publish_activity().await.unwrap();
    let out = peer
        .run("connect", &gateway.url("demo"), Some(&token), None)
        .await;
    assert_ne!(
        out["tools"].as_array().map(Vec::len).unwrap_or(0),
        6,
        "{peer:?}: {out}"
    );
    let error = out["error"].as_str().unwrap_or_else(|| panic!("{out}"));
    assert!(error.contains("needs authorization"), "{peer:?}: {error}");
    assert!(error.contains("gatehouse auth demo"), "{peer:?}: {error}");
    assert!(
        out["ms"].as_u64().unwrap_or(0) < 15_000,
        "{peer:?}: took {} ms",
        out["ms"]
    );
    assert!(fixture.authorization_requests().is_empty());
    // The running app is asked to show its Authorize prompt, naming the
    // client by its token.
    assert_eq!(
        support::authorization_wanted(&mut events).await,
        Some(("demo".to_owned(), "sdk-client".to_owned())),
        "{peer:?}"
    );
}

#[tokio::test]
#[ignore = "needs the TypeScript SDK; run by scripts/test.sh"]
async fn typescript_client_through_a_header_server() {
    through_a_header_server(Peer::TypeScript).await;
}

#[tokio::test]
#[ignore = "needs the TypeScript SDK; run by scripts/test.sh"]
async fn typescript_client_through_an_oauth_server() {
    through_an_oauth_server(Peer::TypeScript).await;
}

#[tokio::test]
#[ignore = "needs the TypeScript SDK; run by scripts/test.sh"]
async fn typescript_client_is_refused_without_a_token_or_from_a_web_page() {
    refused_without_a_token_or_from_a_web_page(Peer::TypeScript).await;
}

#[tokio::test]
#[ignore = "needs the TypeScript SDK; run by scripts/test.sh"]
async fn typescript_client_is_told_to_authorize() {
    told_to_authorize(Peer::TypeScript).await;
}

#[tokio::test]
#[ignore = "needs the Python SDK; run by scripts/test.sh"]
async fn python_client_through_a_header_server() {
    through_a_header_server(Peer::Python).await;
}

#[tokio::test]
#[ignore = "needs the Python SDK; run by scripts/test.sh"]
async fn python_client_through_an_oauth_server() {
    through_an_oauth_server(Peer::Python).await;
}

#[tokio::test]
#[ignore = "needs the Python SDK; run by scripts/test.sh"]
async fn python_client_is_refused_without_a_token_or_from_a_web_page() {
    refused_without_a_token_or_from_a_web_page(Peer::Python).await;
}

#[tokio::test]
#[ignore = "needs the Python SDK; run by scripts/test.sh"]
async fn python_client_is_told_to_authorize() {
    told_to_authorize(Peer::Python).await;
}
