//! `gatehouse proxy <id>` as AI clients use it: real MCP clients from the
//! package registries — the TypeScript SDK's (npm `@modelcontextprotocol/sdk`,
//! `StdioClientTransport`) and the Python SDK's (PyPI `mcp` 2.x) — launch the
//! real binary and drive it over stdio against the fixture's header and OAuth
//! servers: initialize, tools/list, tools/call, progress, cancellation and
//! elicitation, sampling and roots round trips; a never-authorized server
//! (and the running app asked to show Authorize); a dropped session.
//!
//! A structured output that is not an object (MCP 2026-07-28) reaches
//! them as their earlier revision has it; so it does a client writing
//! JSON-RPC by hand (run by plain `cargo test`).
//!
//! The client scripts are in `tests/peers/`. `scripts/test.sh` installs the
//! SDKs and names them (`GATEHOUSE_TS_SDK_SERVER`, `GATEHOUSE_PYTHON_MCP`);
//! run with `--ignored`.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use gatehouse_fixture::{Access, ConsentMode, McpFixture, McpOptions, OAuthFixture, OAuthOptions};
use serde_json::{Value, json};
use support::{Home, PASSPHRASE};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

const SECRET: &str = "s3cr3t-proxy-canary-7c2a";

/// The two real clients.
#[derive(Clone, Copy, Debug)]
enum Peer {
    TypeScript,
    Python,
}

fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

impl Peer {
    /// The name the client gives at `initialize`.
    fn client_name(self) -> &'static str {
        match self {
            Self::TypeScript => "ts-sdk-proxy-test",
            Self::Python => "py-sdk-proxy-test",
        }
    }

    /// The client running `mode` against `gatehouse proxy` with `args`.
    fn command(self, mode: &str, gatehouse_args: &[String]) -> Command {
        let mut command = match self {
            Self::TypeScript => {
                let server = std::env::var("GATEHOUSE_TS_SDK_SERVER").expect(
                    "GATEHOUSE_TS_SDK_SERVER must name the SDK's simpleStreamableHttp.js (scripts/test.sh sets it)",
                );
                // …/sdk/dist/esm/examples/server/simpleStreamableHttp.js
                let sdk = PathBuf::from(server)
                    .ancestors()
                    .nth(5)
                    .expect("the SDK folder")
                    .to_path_buf();
                let mut command = Command::new("node");
                command.arg(peers_dir().join("ts_client.mjs")).arg(sdk);
                command
            }
            Self::Python => {
                let python = std::env::var("GATEHOUSE_PYTHON_MCP").expect(
                    "GATEHOUSE_PYTHON_MCP must name a Python with PyPI `mcp` 2.x (scripts/test.sh sets it)",
                );
                let mut command = Command::new(python);
                command.arg(peers_dir().join("py_client.py"));
                command
            }
        };
        command
            .arg(mode)
            .arg(env!("CARGO_BIN_EXE_gatehouse"))
            .args(gatehouse_args)
            .env("GATEHOUSE_VAULT_PASSPHRASE", PASSPHRASE)
            .env_remove("GATEHOUSE_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        command
    }
}

/// Runs `peer` in `mode` to the end; returns the JSON objects it printed.
async fn run_peer(peer: Peer, mode: &str, home: &Home, id: &str) -> Vec<Value> {
    let child = peer.command(mode, &home.proxy_args(id)).spawn().unwrap();
    let output = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the {peer:?} client finished"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the {peer:?} client failed: {stdout}"
    );
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect()
}

/// The whole round: what a person would check in their AI client.
async fn full_round(peer: Peer, home: &Home, id: &str, server_name: &str) -> Value {
    let out = run_peer(peer, "full", home, id).await.remove(0);
    assert_eq!(out["server"], server_name, "{peer:?}: {out}");
    let tools: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for tool in [
        "add",
        "ask_model",
        "ask_name",
        "ask_roots",
        "count",
        "echo",
        "primes",
        "wait_for_cancel",
        "whoami",
    ] {
        assert!(
            tools.contains(&tool),
            "{peer:?}: {tool} missing from {tools:?}"
        );
    }
    assert_eq!(out["echo"], "hello through the proxy", "{peer:?}: {out}");
    support::check_primes_for_an_earlier_revision(&format!("{peer:?}"), &out["primes"]);
    assert_eq!(out["count"], "counted to 3", "{peer:?}: {out}");
    // Every step, under the client's token. (rmcp hands each notification
    // to its own task, so two may pass each other.)
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
    assert!(
        out["cancel"]["ms"].as_u64().unwrap() < 5000,
        "{peer:?}: cancelling took {}",
        out["cancel"]["ms"]
    );
    assert_eq!(
        out["elicited"], "Hello, Ada (asked: What is your name?)!",
        "{peer:?}: {out}"
    );
    // Sampling and roots: asked by the server, answered by the client.
    assert_eq!(
        out["sampled"], "test-model said: hello (asked: Say hello)",
        "{peer:?}: {out}"
    );
    assert_eq!(
        out["roots"], "roots: file:///home/ada/project",
        "{peer:?}: {out}"
    );
    assert_eq!(out["after"], "5", "{peer:?}: {out}");
    out
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

/// A client of a revision before 2026-07-28, writing JSON-RPC by hand, of
/// a server that speaks 2026-07-28 to the engine: answers in the shape of
/// the client's revision (no `resultType`; `primes`, whose output is an
/// array, without its output schema and with its value as text).
#[tokio::test]
async fn answers_reach_a_client_in_the_shape_of_its_revision() {
    let fixture = header_server().await;
    let home = Home::new();
    home.add_header_server("internal", &fixture.url(), SECRET)
        .await;
    let answers = support::through_proxy(
        &home,
        "internal",
        &[
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "primes", "arguments": {"count": 4}}}),
        ],
    )
    .await;
    let (list, call) = (&answers[&2], &answers[&3]);

    assert!(list["result"].get("resultType").is_none(), "{list}");
    let primes = list["result"]["tools"]
        .as_array()
        .and_then(|tools| tools.iter().find(|t| t["name"] == "primes"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(primes.get("outputSchema").is_none(), "{list}");
    assert!(
        primes["inputSchema"]["properties"]["count"].is_object(),
        "{list}"
    );
    let result = &call["result"];
    assert!(result.get("resultType").is_none(), "{call}");
    assert!(result.get("structuredContent").is_none(), "{call}");
    assert_eq!(result["content"][0]["text"], "[2,3,5,7]", "{call}");
}

/// A server whose answers rmcp cannot read as its model's (a duplicate
/// key in a tool, a tool without `inputSchema`, a content block of an
/// unknown kind, a bare acknowledgement): the tool filter and the client's
/// revision still apply to what reaches the client; and an error of its
/// that repeats a secret has it cut out of its data too.
#[tokio::test]
async fn answers_rmcp_cannot_read_are_still_filtered_and_shaped() {
    let server = support::HostileServer::start(&[
        (
            "tools/list",
            r#""result":{"resultType":"complete","tools":[
                {"name":"ok","inputSchema":{"type":"object"},"outputSchema":{"type":"array"}},
                {"name":"hidden","inputSchema":{"type":"object"}},
                {"name":"broken"},
                {"name":"dup","description":"a","description":"b","inputSchema":{"type":"object"}}]}"#,
        ),
        (
            "tools/call",
            r#""result":{"resultType":"complete","content":[{"type":"widget"}],"structuredContent":[1,2]}"#,
        ),
        ("logging/setLevel", r#""result":{"resultType":"complete"}"#),
        // An error that repeats the server's API key back.
        (
            "prompts/list",
            r#""error":{"code":-32000,"message":"bad key k3y-hostile-51","data":{"echo":["X-Api-Key: k3y-hostile-51"]}}"#,
        ),
    ])
    .await;
    let home = Home::new();
    home.ok_with_stdin(&["secrets", "set", "KEY"], "k3y-hostile-51\n")
        .await;
    home.ok(&[
        "servers",
        "add",
        "hostile",
        &server.url,
        "--header",
        "X-Api-Key: ${KEY}",
        "--deny-tool",
        "hidden",
    ])
    .await;
    let answers = support::through_proxy(
        &home,
        "hostile",
        &[
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "ok", "arguments": {}}}),
            json!({"jsonrpc": "2.0", "id": 4, "method": "logging/setLevel",
                "params": {"level": "info"}}),
            json!({"jsonrpc": "2.0", "id": 5, "method": "prompts/list"}),
        ],
    )
    .await;

    let list = &answers[&2];
    let tools = list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"));
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["ok", "dup"], "{list}");
    assert!(list["result"].get("resultType").is_none(), "{list}");
    assert!(tools[0].get("outputSchema").is_none(), "{list}");
    assert_eq!(tools[1]["description"], "b", "{list}");
    let call = &answers[&3];
    assert_eq!(
        call["result"],
        json!({"content": [{"type": "text", "text": "[1,2]"}, {"type": "widget"}]}),
        "{call}"
    );
    assert_eq!(answers[&4]["result"], json!({}), "{}", answers[&4]);
    // The server's error, with the secret cut out of all of it.
    let refused = &answers[&5];
    assert_eq!(refused["error"]["code"], -32000, "{refused}");
    assert!(!refused.to_string().contains("k3y-hostile-51"), "{refused}");
    assert!(
        refused["error"]["data"]["echo"][0]
            .as_str()
            .is_some_and(|echo| echo.starts_with("X-Api-Key: ")),
        "{refused}"
    );
}

async fn through_a_header_server(peer: Peer) {
    let fixture = header_server().await;
    let home = Home::new();
    home.add_header_server("internal", &fixture.url(), SECRET)
        .await;
    full_round(peer, &home, "internal", "gatehouse-fixture").await;
    assert_eq!(
        eventually(1, || fixture.cancelled_calls()).await,
        1,
        "{peer:?}: the server never saw the cancellation"
    );
    let requests = fixture.requests();
    assert!(!requests.is_empty());
    for request in requests {
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
    full_round(peer, &home, "demo", "gatehouse-demo").await;
    assert_eq!(
        eventually(1, || fixture.cancelled_calls()).await,
        1,
        "{peer:?}: the server never saw the cancellation"
    );
    // The proxy used the tokens in the vault: no second consent.
    assert_eq!(fixture.authorization_requests().len(), authorizations);
}

/// A server nobody authorized: the client gets an error in words that
/// names the fix, promptly — no hang; and the running desktop app is asked
/// to show its Authorize prompt, naming the client.
async fn refused_when_never_authorized(peer: Peer) {
    let fixture = oauth_server().await;
    let home = Home::new();
    home.ok(&["servers", "add", "demo", &fixture.url(), "--oauth"])
        .await;
    let app = home.app_engine();
    let mut events = app.subscribe();
    app.publish_activity().await.unwrap();
    let out = run_peer(peer, "refused", &home, "demo").await.remove(0);
    assert_eq!(out["connected"], false, "{peer:?}: {out}");
    let error = out["error"].as_str().unwrap();
    assert!(error.contains("needs authorization"), "{peer:?}: {error}");
    assert!(error.contains("gatehouse auth demo"), "{peer:?}: {error}");
    assert!(
        out["ms"].as_u64().unwrap() < 15_000,
        "{peer:?}: took {} ms",
        out["ms"]
    );
    assert!(fixture.authorization_requests().is_empty());

    let wanted = support::authorization_wanted(&mut events)
        .await
        .unwrap_or_else(|| panic!("{peer:?}: the app was never asked to show Authorize"));
    assert_eq!(wanted.0, "demo", "{peer:?}");
    assert_eq!(wanted.1, peer.client_name(), "{peer:?}");
}

/// The server is redeployed under a live session: the client's next call
/// works.
async fn recovers_a_dropped_session(peer: Peer) {
    let mut fixture = header_server().await;
    let home = Home::new();
    home.add_header_server("internal", &fixture.url(), SECRET)
        .await;
    let mut child = peer
        .command("reconnect", &home.proxy_args("internal"))
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || -> Value {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the client answered")
            .unwrap()
            .expect("the client printed a line");
        serde_json::from_str(&line).unwrap()
    };
    let first = next().await;
    assert_eq!(first["echo"], "before", "{peer:?}: {first}");
    fixture.restart().await.unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"go\n").await.unwrap();
    stdin.flush().await.unwrap();
    let second = next().await;
    assert_eq!(second["echo"], "after", "{peer:?}: {second}");
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

/// The server's tool filter, set with `servers add --allow-tool/--deny-tool`:
/// the client lists only what it lets through, and a call of a tool it
/// leaves out is refused by Gatehouse without reaching the server.
#[tokio::test]
#[ignore = "needs the TypeScript SDK; run by scripts/test.sh"]
async fn typescript_client_sees_only_the_tools_the_filter_offers() {
    let fixture = header_server().await;
    let home = Home::new();
    home.ok_with_stdin(&["secrets", "set", "TOKEN"], &format!("{SECRET}\n"))
        .await;
    home.ok(&[
        "servers",
        "add",
        "filtered",
        &fixture.url(),
        "--header",
        "Authorization: Bearer ${TOKEN}",
        "--allow-tool",
        "e*",
        "--allow-tool",
        "who?mi",
        "--deny-tool",
        "whoami",
    ])
    .await;
    let out = run_peer(Peer::TypeScript, "filtered", &home, "filtered")
        .await
        .remove(0);
    assert_eq!(out["tools"], serde_json::json!(["echo"]), "{out}");
    assert_eq!(out["echo"], "allowed", "{out}");
    let refused = out["whoami"]["error"].as_str().unwrap_or_default();
    assert!(
        refused.contains("not offered") && refused.contains("whoami"),
        "{out}"
    );
    assert_eq!(out["whoami"]["code"], -32602, "{out}");
    let called: Vec<String> = fixture
        .requests()
        .iter()
        .flat_map(|r| {
            r.calls
                .iter()
                .filter_map(|c| c.called_tool().map(str::to_owned))
        })
        .collect();
    assert_eq!(called, ["echo"], "the server saw only the allowed call");
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
async fn typescript_client_is_told_to_authorize() {
    refused_when_never_authorized(Peer::TypeScript).await;
}

#[tokio::test]
#[ignore = "needs the TypeScript SDK; run by scripts/test.sh"]
async fn typescript_client_survives_a_dropped_session() {
    recovers_a_dropped_session(Peer::TypeScript).await;
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
async fn python_client_is_told_to_authorize() {
    refused_when_never_authorized(Peer::Python).await;
}

#[tokio::test]
#[ignore = "needs the Python SDK; run by scripts/test.sh"]
async fn python_client_survives_a_dropped_session() {
    recovers_a_dropped_session(Peer::Python).await;
}
