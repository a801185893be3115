//! The Activity record as a person checks it: real `gatehouse proxy` and
//! `gatehouse serve` processes in front of the fixture's header server, a
//! client speaking MCP to them by hand (JSON-RPC lines on the proxy's stdin,
//! HTTP POSTs to the gateway), then `gatehouse activity` — run as another
//! process — showing each call with the client's name (from `initialize`,
//! or the gateway token's), the server, the method and tool and the
//! outcome, and never the arguments, the result or a token. A follower
//! started before the calls (`activity --follow --json`) sees them as they
//! are made.

mod support;

use std::time::Duration;

use gatehouse_fixture::{Access, McpFixture, McpOptions};
use serde_json::{Value, json};
use support::Home;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

const SECRET: &str = "s3cr3t-activity-canary-93be";
/// An argument no record may hold.
const ARGUMENT: &str = "argument-canary-5f17e2";
/// What these tests ask of a [`Home`] beyond the shared helpers.
trait ActivityHome {
    async fn activity(&self, args: &[&str]) -> Vec<Value>;
    fn record_files(&self) -> String;
    async fn follow(&self, args: &[&str]) -> Follower;
}

impl ActivityHome for Home {
    /// `gatehouse activity --json` with `args`, read.
    async fn activity(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["activity", "--json"];
        all.extend(args);
        let out = self.ok(&all).await;
        serde_json::from_str::<Vec<Value>>(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// Every byte the Activity record holds on disk.
    fn record_files(&self) -> String {
        let data = self.data_dir();
        ["activity.jsonl", "activity.jsonl.1"]
            .iter()
            .filter_map(|name| std::fs::read_to_string(data.join(name)).ok())
            .collect()
    }

    /// `gatehouse activity --follow --json`, started now.
    async fn follow(&self, args: &[&str]) -> Follower {
        let mut all = vec!["activity", "--follow", "--json"];
        all.extend(args);
        let mut child = self.command(&all).spawn().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Its watch is set before it prints the backlog; give it that long.
        tokio::time::sleep(Duration::from_millis(500)).await;
        Follower {
            _child: child,
            lines,
        }
    }
}

/// A running `gatehouse activity --follow --json`.
struct Follower {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Follower {
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), self.lines.next_line())
            .await
            .expect("the follower printed a record")
            .unwrap()
            .expect("a line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }
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

/// An MCP client on a `gatehouse proxy`'s stdio, JSON-RPC by hand.
struct StdioClient {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl StdioClient {
    async fn start(home: &Home, id: &str, name: &str) -> Self {
        let mut child = home.command(&["proxy", id]).spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut client = Self {
            child,
            stdin,
            stdout,
        };
        let answer = client
            .request(
                1,
                "initialize",
                json!({
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": name, "version": "1.0"}
                }),
            )
            .await;
        assert!(answer.get("result").is_some(), "{answer}");
        client
            .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        client
    }

    async fn send(&mut self, message: Value) {
        let line = format!("{message}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Sends a request and waits for the answer with its id.
    async fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        self.answer(id).await
    }

    async fn answer(&mut self, id: u64) -> Value {
        loop {
            let line = tokio::time::timeout(Duration::from_secs(30), self.stdout.next_line())
                .await
                .expect("the proxy answered")
                .unwrap()
                .expect("the proxy is still running");
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == id {
                return message;
            }
        }
    }

    /// Closes stdin, as a client that goes away does, and waits for the
    /// proxy to end.
    async fn close(mut self) {
        drop(self.stdin);
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the proxy ended with its client")
            .unwrap();
        assert!(status.success());
    }
}

#[tokio::test]
async fn proxy_calls_are_recorded_with_the_client_name_and_no_arguments() {
    let fixture = header_server().await;
    let home = Home::new();
    home.add_header_server("internal", &fixture.url(), SECRET)
        .await;
    assert!(home.activity(&[]).await.is_empty(), "nothing recorded yet");
    let mut follower = home.follow(&["--server", "internal"]).await;

    let mut client = StdioClient::start(&home, "internal", "activity-test-client").await;
    let answer = client
        .request(
            2,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": ARGUMENT}}),
        )
        .await;
    assert!(answer.to_string().contains(ARGUMENT), "{answer}");
    // Seen live, from another process, as soon as it was made.
    let live = follower.next().await;
    assert_eq!(live["client"], "activity-test-client", "{live}");
    assert_eq!(live["tool"], "echo", "{live}");

    let answer = client.request(3, "tools/list", json!({})).await;
    assert!(answer["result"]["tools"].is_array(), "{answer}");
    let answer = client
        .request(
            4,
            "tools/call",
            json!({"name": "no-such-tool", "arguments": {}}),
        )
        .await;
    assert!(answer.get("error").is_some() || answer["result"]["isError"] == true);
    // A call the client cancels.
    client
        .send(json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "wait_for_cancel", "arguments": {}}}))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": 5, "reason": "the test cancelled it"}}),
        )
        .await;
    // The cancelled call is recorded once its cancellation went upstream:
    // wait for it, so that the records come in the order of this test.
    let mut live_tools = Vec::new();
    while !live_tools.iter().any(|t| t == "wait_for_cancel") {
        let record = follower.next().await;
        live_tools.push(record["tool"].as_str().unwrap_or("").to_owned());
    }
    let answer = client.request(6, "resources/list", json!({})).await;
    assert!(answer.get("result").is_some() || answer.get("error").is_some());
    client.close().await;

    let records = home.activity(&[]).await;
    let summary: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            let what = match r["tool"].as_str() {
                Some(tool) => format!("{} {tool}", r["method"].as_str().unwrap()),
                None => r["method"].as_str().unwrap().to_owned(),
            };
            (what, r["outcome"]["kind"].as_str().unwrap().to_owned())
        })
        .collect();
    let expected = [
        ("tools/call echo", "ok"),
        ("tools/list", "ok"),
        ("tools/call no-such-tool", summary[2].1.as_str()),
        ("tools/call wait_for_cancel", "cancelled"),
        ("resources/list", summary[4].1.as_str()),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(summary, expected, "{records:#?}");
    assert!(
        ["error", "tool_error"].contains(&summary[2].1.as_str()),
        "{summary:?}"
    );
    for record in &records {
        assert_eq!(record["client"], "activity-test-client", "{record}");
        assert_eq!(record["server"], "internal");
        assert_eq!(record["via"], "proxy");
        assert!(record["durationMs"].is_u64());
        assert!(record["time"].as_str().unwrap().ends_with('Z'));
    }
    // Filters: by server, by client; and the newest N.
    assert_eq!(home.activity(&["--server", "internal"]).await.len(), 5);
    assert!(home.activity(&["--server", "other"]).await.is_empty());
    assert!(
        home.activity(&["--client", "someone-else"])
            .await
            .is_empty()
    );
    let last = home.activity(&["--limit", "1"]).await;
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["method"], "resources/list");
    // The table prints the same, one call per line.
    let table = home.ok(&["activity"]).await;
    assert_eq!(table.lines().count(), 5, "{table}");
    assert!(table.contains("tools/call echo"), "{table}");
    assert!(table.contains("cancelled"), "{table}");

    // Never an argument, a result or a secret in the record.
    let files = home.record_files();
    assert!(files.contains("activity-test-client"));
    for canary in [ARGUMENT, SECRET] {
        assert!(!files.contains(canary), "{canary} in the record: {files}");
    }
}

/// A POST of `body` to `url` as an MCP client sends it, with `headers`.
async fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
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

#[tokio::test]
async fn gateway_calls_are_recorded_under_the_token_name() {
    let fixture = header_server().await;
    let home = Home::new();
    home.add_header_server("internal", &fixture.url(), SECRET)
        .await;
    let token = home.token("cursor-at-work").await;
    let serve = home.serve().await;
    let url = serve.url("internal");
    let bearer = format!("Bearer {token}");

    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            // What the client says of itself; the record names the token.
            "clientInfo": {"name": "self-styled-name", "version": "1"}
        }
    });
    let answer = post(&url, &[("authorization", &bearer)], &initialize).await;
    assert_eq!(answer.status(), 200);
    let session = answer.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let in_session = [
        ("authorization", bearer.as_str()),
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(post(&url, &in_session, &initialized).await.status(), 202);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": ARGUMENT}}});
    let answer = post(&url, &in_session, &call).await;
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await.unwrap().contains(ARGUMENT));

    let records = home.activity(&["--client", "cursor-at-work"]).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    let record = &records[0];
    assert_eq!(record["via"], "gateway");
    assert_eq!(record["server"], "internal");
    assert_eq!(record["method"], "tools/call");
    assert_eq!(record["tool"], "echo");
    assert_eq!(record["outcome"], json!({"kind": "ok"}));
    assert!(
        home.activity(&["--client", "self-styled-name"])
            .await
            .is_empty()
    );

    let files = home.record_files();
    for canary in [ARGUMENT, SECRET, token.as_str()] {
        assert!(!files.contains(canary), "{canary} in the record: {files}");
    }
    drop(serve);
}
