//! The Activity record, written by the proxy as it forwards real calls to
//! the fixture's header server: one record per call with the client's name
//! from `initialize`, the method, tool and outcome (ok, a JSON-RPC error,
//! filtered out by the tool filter, cancelled) — and never an argument,
//! a result or the server's secret. A follower started before the calls
//! (the engine's follow API, and the `Event::Activity` the desktop app
//! forwards) sees them as they are written.

mod common;

use std::time::Duration;

use common::{Setup, is_connected, wait_for};
use gatehouse_core::activity::{ActivityLog, ActivityRecord, Outcome, Via};
use gatehouse_core::config::ServerConfig;
use gatehouse_core::events::Event;
use gatehouse_fixture::{Access, McpFixture, McpOptions};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf,
};

const SECRET: &str = "s3cr3t-core-activity-canary-a71c";
/// An argument (and so a result: the fixture echoes it) no record may hold.
const ARGUMENT: &str = "argument-canary-core-0be4d9";

/// An MCP client speaking JSON-RPC lines to the proxy through a pipe.
struct Client {
    write: WriteHalf<DuplexStream>,
    read: Lines<BufReader<ReadHalf<DuplexStream>>>,
}

impl Client {
    async fn send(&mut self, message: Value) {
        self.write
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
    }

    async fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let line = tokio::time::timeout(Duration::from_secs(30), self.read.next_line())
                .await
                .expect("the proxy answered")
                .unwrap()
                .expect("the proxy is running");
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == id {
                return message;
            }
        }
    }
}

async fn next_records(feed: &mut gatehouse_core::activity::ActivityFeed) -> Vec<ActivityRecord> {
    tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await
        .expect("the feed woke up")
        .expect("the feed goes on")
        .unwrap()
}

#[tokio::test]
async fn the_proxy_records_each_call_and_no_argument_or_secret() {
    let s = Setup::new();
    let fixture = McpFixture::start(McpOptions {
        access: Access::Bearer(SECRET.into()),
        interactive: true,
        ..McpOptions::default()
    })
    .await
    .unwrap();
    s.engine
        .set_secret("TOKEN", &SecretString::from(SECRET))
        .await
        .unwrap();
    let mut server = ServerConfig::new("good", fixture.url());
    server
        .headers
        .insert("Authorization".into(), "Bearer ${TOKEN}".into());
    server.tools.deny = vec!["add".into()];
    s.engine.add_server(server).await.unwrap();

    let (backlog, mut feed) = s.engine.follow_activity().await.unwrap();
    assert!(backlog.is_empty());
    let mut events = s.engine.subscribe();
    s.engine.publish_activity().await.unwrap();

    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let engine = s.engine.clone();
    let proxy =
        tokio::spawn(
            async move { gatehouse_core::gateway::proxy::serve(engine, "good", theirs).await },
        );
    let (read, write) = tokio::io::split(ours);
    let mut client = Client {
        write,
        read: BufReader::new(read).lines(),
    };
    let init = client
        .request(
            1,
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "core-activity-client", "version": "1"}
            }),
        )
        .await;
    assert!(init.get("result").is_some(), "{init}");
    client
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    wait_for(&s.engine, "good", Duration::from_secs(20), is_connected).await;

    let echo = client
        .request(
            2,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": ARGUMENT}}),
        )
        .await;
    assert!(echo.to_string().contains(ARGUMENT), "{echo}");
    // Followed as it was written.
    let live = next_records(&mut feed).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].tool.as_deref(), Some("echo"));
    assert_eq!(live[0].client, "core-activity-client");

    let filtered = client
        .request(
            3,
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
        )
        .await;
    assert!(filtered.get("error").is_some(), "{filtered}");
    let listed = client.request(4, "tools/list", json!({})).await;
    assert!(listed["result"]["tools"].is_array(), "{listed}");
    let unknown = client
        .request(5, "prompts/get", json!({"name": "no-such-prompt"}))
        .await;
    assert!(unknown.get("error").is_some(), "{unknown}");
    // A call the client cancels.
    client
        .send(json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
            "params": {"name": "wait_for_cancel", "arguments": {}}}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    client
        .send(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": 6}}),
        )
        .await;
    // The cancelled call is recorded once its cancellation went upstream:
    // wait for it, so that the records come in the order of this test.
    let mut live_tools: Vec<Option<String>> = Vec::new();
    while !live_tools.contains(&Some("wait_for_cancel".to_owned())) {
        live_tools.extend(next_records(&mut feed).await.into_iter().map(|r| r.tool));
    }
    client.request(7, "tools/list", json!({})).await;
    drop(client);
    tokio::time::timeout(Duration::from_secs(10), proxy)
        .await
        .expect("the proxy ended with its client")
        .unwrap()
        .unwrap();

    let log = ActivityLog::new(&s.dir.path().join("data"));
    let records = log.read_all().unwrap();
    let seen: Vec<(String, Outcome)> = records
        .iter()
        .map(|r| (r.what(), r.outcome.clone()))
        .collect();
    let unknown_code = unknown["error"]["code"].as_i64().unwrap() as i32;
    assert_eq!(
        seen,
        [
            ("tools/call echo".to_owned(), Outcome::Ok),
            ("tools/call add".to_owned(), Outcome::Filtered),
            ("tools/list".to_owned(), Outcome::Ok),
            ("prompts/get".to_owned(), Outcome::error(unknown_code)),
            ("tools/call wait_for_cancel".to_owned(), Outcome::Cancelled),
            ("tools/list".to_owned(), Outcome::Ok),
        ],
        "{records:#?}"
    );
    for record in &records {
        assert_eq!(record.client, "core-activity-client");
        assert_eq!(record.server, "good");
        assert_eq!(record.via, Via::Proxy);
    }
    let engine_view = s.engine.activity(Default::default(), 2).await.unwrap();
    assert_eq!(engine_view, records[4..]);

    // The same calls reached the event stream the desktop app forwards.
    let mut announced = Vec::new();
    while announced.len() < records.len() {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Ok(Event::Activity { records })) => announced.extend(records),
            Ok(Ok(_)) => {}
            other => panic!("no activity event: {other:?}"),
        }
    }
    assert_eq!(announced, records);

    let file = std::fs::read_to_string(log.path()).unwrap();
    assert!(file.contains("core-activity-client"));
    for canary in [ARGUMENT, SECRET] {
        assert!(!file.contains(canary), "{canary} is in the record: {file}");
    }
}
