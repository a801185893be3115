//! Connections to real MCP servers on 127.0.0.1: header authentication with
//! vault secrets, concurrency, timeouts and reconnects.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::Engine;
use gatehouse_core::config::ServerConfig;
use gatehouse_core::events::{ErrorKind, Event, ServerStatus};
use gatehouse_core::paths::Paths;
use gatehouse_core::vault::{MemoryKeyStore, Vault};
use gatehouse_fixture::{Access, Blackhole, McpFixture, McpOptions};
use secrecy::SecretString;

struct Setup {
    _dir: tempfile::TempDir,
    engine: Engine,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("config.toml"), dir.path().join("data"));
    let vault = Vault::new(
        paths.vault_file(),
        Arc::new(MemoryKeyStore::default()),
        None,
    );
    let engine = Engine::with_vault(paths, vault).unwrap();
    Setup { _dir: dir, engine }
}

fn header_server(id: &str, url: &str, value: &str) -> ServerConfig {
    let mut server = ServerConfig::new(id, url);
    server.headers.insert("Authorization".into(), value.into());
    server
}

async fn bearer_fixture(token: &str) -> McpFixture {
    McpFixture::start(McpOptions {
        access: Access::Bearer(token.into()),
        ..McpOptions::default()
    })
    .await
    .unwrap()
}

async fn settled(engine: &Engine, id: &str) -> ServerStatus {
    engine
        .wait_server_settled(id, Duration::from_secs(20))
        .await
        .unwrap()
}

#[tokio::test]
async fn header_secret_is_resolved_and_sent() {
    let s = setup();
    let fixture = bearer_fixture("tok-123").await;
    s.engine
        .set_secret("TOKEN", &SecretString::from("tok-123"))
        .await
        .unwrap();
    let mut server = header_server("internal", &fixture.url(), "Bearer ${TOKEN}");
    server
        .headers
        .insert("X-Tenant".into(), "acme-$${literal}-${TOKEN}".into());
    s.engine.add_server(server).await.unwrap();

    match settled(&s.engine, "internal").await {
        ServerStatus::Connected {
            server_name,
            server_version,
            tool_count,
            protocol_version,
        } => {
            assert_eq!(server_name, "gatehouse-fixture");
            assert_eq!(server_version, "1.2.3");
            assert_eq!(tool_count, 3);
            // The fixture (rmcp 3.11) speaks MCP 2026-07-28: reached through
            // `server/discover`, without `initialize`.
            assert_eq!(protocol_version, "2026-07-28");
        }
        other => panic!("expected connected, got {other:?}"),
    }
    let requests = fixture.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.headers["authorization"], "Bearer tok-123");
        assert_eq!(request.headers["x-tenant"], "acme-${literal}-tok-123");
    }

    let tools = s.engine.list_tools("internal").await.unwrap();
    let mut names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["add", "echo", "whoami"]);
    let resources = s.engine.list_resources("internal").await.unwrap();
    assert_eq!(resources[0].uri, "fixture://readme");
    let templates = s.engine.list_resource_templates("internal").await.unwrap();
    assert_eq!(templates[0].uri_template, "fixture://notes/{name}");
    let prompts = s.engine.list_prompts("internal").await.unwrap();
    assert_eq!(prompts[0].name, "greeting");

    let args = serde_json::json!({"a": 2, "b": 40});
    let result = s
        .engine
        .call_tool("internal", "add", args.as_object().cloned())
        .await
        .unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "42");
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_missing_secret_is_named_and_nothing_is_sent() {
    let s = setup();
    let fixture = bearer_fixture("x").await;
    s.engine
        .add_server(header_server("internal", &fixture.url(), "Bearer ${NOPE}"))
        .await
        .unwrap();
    match settled(&s.engine, "internal").await {
        ServerStatus::Error { kind, message } => {
            assert_eq!(kind, ErrorKind::MissingSecret);
            assert!(message.contains("\"NOPE\""), "{message}");
        }
        other => panic!("expected a missing-secret error, got {other:?}"),
    }
    assert!(
        fixture.requests().is_empty(),
        "no request without the secret"
    );

    // Storing the secret brings the server up without a restart.
    let mut events = s.engine.subscribe();
    s.engine
        .set_secret("NOPE", &SecretString::from("x"))
        .await
        .unwrap();
    let connected = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(Event::Status {
                status: ServerStatus::Connected { .. },
                ..
            }) = events.recv().await
            {
                break;
            }
        }
    })
    .await;
    assert!(connected.is_ok(), "server connects once the secret exists");
    s.engine.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_are_an_unauthorized_error() {
    let s = setup();
    let fixture = bearer_fixture("right").await;
    s.engine
        .add_server(header_server("internal", &fixture.url(), "Bearer wrong"))
        .await
        .unwrap();
    match settled(&s.engine, "internal").await {
        ServerStatus::Error { kind, message } => {
            assert_eq!(kind, ErrorKind::Unauthorized, "{message}");
            assert!(message.contains("refused the credentials"), "{message}");
        }
        other => panic!("expected unauthorized, got {other:?}"),
    }
    s.engine.shutdown().await;
}

#[tokio::test]
async fn twenty_servers_connect_concurrently() {
    let s = setup();
    let mut fixtures = Vec::new();
    for i in 0..20 {
        let fixture = bearer_fixture(&format!("t{i}")).await;
        s.engine
            .set_secret(&format!("T{i}"), &SecretString::from(format!("t{i}")))
            .await
            .unwrap();
        s.engine
            .add_server(header_server(
                &format!("s{i:02}"),
                &fixture.url(),
                &format!("Bearer ${{T{i}}}"),
            ))
            .await
            .unwrap();
        fixtures.push(fixture);
    }
    // Re-open as a fresh start would, and connect everything at once.
    s.engine.shutdown().await;
    let started = Instant::now();
    s.engine.start();
    s.engine.wait_settled().await;
    let elapsed = started.elapsed();
    for view in s.engine.servers().await {
        assert!(
            matches!(view.status, ServerStatus::Connected { .. }),
            "{}: {:?}",
            view.id,
            view.status
        );
    }
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_hung_server_times_out_without_delaying_others() {
    let s = setup();
    let hung = Blackhole::start().await.unwrap();
    let healthy = McpFixture::start(McpOptions::default()).await.unwrap();
    let mut slow = ServerConfig::new("hung", hung.url());
    slow.timeout = Some(5);
    s.engine.add_server(slow).await.unwrap();
    let started = Instant::now();
    s.engine
        .add_server(ServerConfig::new("healthy", healthy.url()))
        .await
        .unwrap();
    assert!(matches!(
        settled(&s.engine, "healthy").await,
        ServerStatus::Connected { .. }
    ));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "healthy server waited for the hung one: {:?}",
        started.elapsed()
    );
    match settled(&s.engine, "hung").await {
        ServerStatus::Error { kind, .. } => assert_eq!(kind, ErrorKind::Timeout),
        other => panic!("expected timeout, got {other:?}"),
    }
    let err = s.engine.list_tools("hung").await.unwrap_err();
    assert!(err.to_string().contains("not connected"), "{err}");
    s.engine.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_server_is_reported() {
    let s = setup();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    s.engine
        .add_server(ServerConfig::new(
            "gone",
            format!("http://127.0.0.1:{port}/mcp"),
        ))
        .await
        .unwrap();
    match settled(&s.engine, "gone").await {
        ServerStatus::Error { kind, message } => {
            assert_eq!(kind, ErrorKind::Unreachable, "{message}");
            assert!(message.contains("cannot connect"), "{message}");
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
    s.engine.shutdown().await;
}

/// Waits for the server's status to satisfy `pred`, returning it.
async fn wait_for_status(
    engine: &Engine,
    id: &str,
    limit: Duration,
    pred: impl Fn(&ServerStatus) -> bool,
) -> Result<ServerStatus, ServerStatus> {
    let deadline = Instant::now() + limit;
    loop {
        let status = engine.status(id).unwrap();
        if pred(&status) {
            return Ok(status);
        }
        if Instant::now() > deadline {
            return Err(status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_server_that_goes_away_is_reconnected_when_it_returns() {
    let s = setup();
    let mut fixture = McpFixture::start(McpOptions::default()).await.unwrap();
    s.engine
        .add_server(ServerConfig::new("flaky", fixture.url()))
        .await
        .unwrap();
    assert!(matches!(
        settled(&s.engine, "flaky").await,
        ServerStatus::Connected { .. }
    ));

    // The server goes away: a request fails, and the connection notices.
    // (A call: the tool list is answered from what the session listed.)
    fixture.stop().await;
    let err = s
        .engine
        .call_tool(
            "flaky",
            "echo",
            serde_json::json!({"text": "anyone?"}).as_object().cloned(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot connect"), "{err}");
    let down = wait_for_status(&s.engine, "flaky", Duration::from_secs(10), |s| {
        !matches!(s, ServerStatus::Connected { .. })
    })
    .await;
    assert!(down.is_ok(), "still shown connected: {down:?}");

    // It comes back (without the old session): the connection recovers alone.
    fixture.restart().await.unwrap();
    let up = wait_for_status(&s.engine, "flaky", Duration::from_secs(30), |s| {
        matches!(s, ServerStatus::Connected { .. })
    })
    .await;
    assert!(up.is_ok(), "did not reconnect: {up:?}");
    let tools = s.engine.list_tools("flaky").await.unwrap();
    assert_eq!(tools.len(), 3);
    s.engine.shutdown().await;
}

#[tokio::test]
async fn an_idle_connection_notices_a_dead_server_by_its_health_check() {
    let s = setup();
    s.engine.set_health_interval(Duration::from_millis(500));
    let mut fixture = McpFixture::start(McpOptions::default()).await.unwrap();
    s.engine
        .add_server(ServerConfig::new("idle", fixture.url()))
        .await
        .unwrap();
    assert!(matches!(
        settled(&s.engine, "idle").await,
        ServerStatus::Connected { .. }
    ));
    // No request is made: only the health check can notice.
    fixture.stop().await;
    let down = wait_for_status(&s.engine, "idle", Duration::from_secs(10), |s| {
        !matches!(s, ServerStatus::Connected { .. })
    })
    .await;
    assert!(
        down.is_ok(),
        "a dead server still shows connected: {down:?}"
    );
    fixture.restart().await.unwrap();
    let up = wait_for_status(&s.engine, "idle", Duration::from_secs(30), |s| {
        matches!(s, ServerStatus::Connected { .. })
    })
    .await;
    assert!(up.is_ok(), "did not reconnect: {up:?}");
    s.engine.shutdown().await;
}

#[tokio::test]
async fn an_expired_session_is_renewed_transparently() {
    let s = setup();
    let mut fixture = McpFixture::start(McpOptions::default()).await.unwrap();
    s.engine
        .add_server(ServerConfig::new("redeployed", fixture.url()))
        .await
        .unwrap();
    assert!(matches!(
        settled(&s.engine, "redeployed").await,
        ServerStatus::Connected { .. }
    ));
    // Same port, no sessions: the old session id now gets 404.
    fixture.restart().await.unwrap();
    let result = s
        .engine
        .call_tool(
            "redeployed",
            "echo",
            serde_json::json!({"text": "still here"})
                .as_object()
                .cloned(),
        )
        .await
        .unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "still here");
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_server_that_forgot_the_session_with_an_id_less_400_is_renewed_quickly() {
    let s = setup();
    let mut fixture = McpFixture::start(McpOptions {
        unknown_session_400: true,
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let mut server = ServerConfig::new("legacy", fixture.url());
    server.timeout = Some(20);
    s.engine.add_server(server).await.unwrap();
    assert!(matches!(
        settled(&s.engine, "legacy").await,
        ServerStatus::Connected { .. }
    ));
    // Same port, no sessions: the old session id now gets 400 with an
    // error that belongs to no request.
    fixture.restart().await.unwrap();
    let started = std::time::Instant::now();
    let result = s
        .engine
        .call_tool(
            "legacy",
            "echo",
            serde_json::json!({"text": "still here"})
                .as_object()
                .cloned(),
        )
        .await
        .unwrap();
    assert_eq!(result.content[0].as_text().unwrap().text, "still here");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the call waited {:?} for an answer that was never coming",
        started.elapsed()
    );
    s.engine.shutdown().await;
}

#[tokio::test]
async fn a_failing_server_shows_its_error_steadily_while_retrying() {
    let s = setup();
    // Nothing listens on the discard port.
    s.engine
        .add_server(ServerConfig::new("down", "http://127.0.0.1:9/mcp"))
        .await
        .unwrap();
    let failed = wait_for_status(&s.engine, "down", Duration::from_secs(10), |s| {
        matches!(s, ServerStatus::Error { .. })
    })
    .await;
    assert!(failed.is_ok(), "{failed:?}");
    // Retries happen meanwhile (with backoff); the status does not flicker
    // back to "connecting" in between.
    let mut events = s.engine.subscribe();
    tokio::time::sleep(Duration::from_secs(3)).await;
    while let Ok(event) = events.try_recv() {
        if let gatehouse_core::events::Event::Status { status, .. } = event {
            assert!(
                matches!(status, ServerStatus::Error { .. }),
                "flickered to {status:?}"
            );
        }
    }
    s.engine.shutdown().await;
}

#[tokio::test]
async fn changes_made_to_the_config_file_by_others_are_followed() {
    let s = setup();
    let fixture = McpFixture::start(McpOptions::default()).await.unwrap();
    s.engine.start();
    s.engine.follow_config_file(Duration::from_millis(100));
    // The CLI, in another process, adds a server.
    let paths = Paths::new(
        s._dir.path().join("config.toml"),
        s._dir.path().join("data"),
    );
    let other = Engine::with_vault(
        paths.clone(),
        Vault::new(
            paths.vault_file(),
            Arc::new(MemoryKeyStore::default()),
            None,
        ),
    )
    .unwrap();
    other.set_connect_on_change(false);
    other
        .add_server(ServerConfig::new("added-elsewhere", fixture.url()))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !matches!(
        s.engine.status("added-elsewhere"),
        Some(ServerStatus::Connected { .. })
    ) {
        assert!(
            std::time::Instant::now() < deadline,
            "the server added elsewhere never connected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A broken edit is reported, and the servers keep their settings.
    let path = s._dir.path().join("config.toml");
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{good}\nnonsense = [\n")).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.engine.config_problem().is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(s.engine.config_problem().is_some());
    assert!(matches!(
        s.engine.status("added-elsewhere"),
        Some(ServerStatus::Connected { .. })
    ));
    // Fixed again: the problem is gone.
    std::fs::write(&path, good).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.engine.config_problem().is_some() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.engine.config_problem(), None);
    s.engine.shutdown().await;
}

#[tokio::test]
async fn disabled_servers_stay_disconnected() {
    let s = setup();
    let fixture = McpFixture::start(McpOptions::default()).await.unwrap();
    let mut server = ServerConfig::new("off", fixture.url());
    server.enabled = false;
    s.engine.add_server(server).await.unwrap();
    assert_eq!(settled(&s.engine, "off").await, ServerStatus::Disabled);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(fixture.requests().is_empty());
    s.engine.shutdown().await;
}

/// Answers a server's form with a name, remembering what it was shown.
struct Person {
    shown: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl gatehouse_core::elicitation::ElicitationSink for Person {
    async fn fill_form(
        &self,
        request: gatehouse_core::elicitation::FormRequest,
    ) -> gatehouse_core::elicitation::Answer {
        self.shown
            .lock()
            .unwrap()
            .push(format!("{}: {}", request.server, request.message));
        let mut values = serde_json::Map::new();
        values.insert("name".into(), "Grace".into());
        gatehouse_core::elicitation::Answer::Accept(values)
    }
    async fn open_url(
        &self,
        _request: gatehouse_core::elicitation::UrlRequest,
    ) -> gatehouse_core::elicitation::Answer {
        gatehouse_core::elicitation::Answer::Decline
    }
}

/// A server that asks for input during a tool call reaches the person
/// through the engine's elicitation sink; without one it is declined.
#[tokio::test]
async fn a_servers_question_reaches_the_person_or_is_declined() {
    let fixture = McpFixture::start(McpOptions {
        interactive: true,
        ..McpOptions::default()
    })
    .await
    .unwrap();

    let without = setup();
    without
        .engine
        .add_server(ServerConfig::new("asks", fixture.url()))
        .await
        .unwrap();
    assert!(matches!(
        settled(&without.engine, "asks").await,
        ServerStatus::Connected { .. }
    ));
    let declined = without
        .engine
        .call_tool("asks", "ask_name", None)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&declined.content[0]).unwrap()["text"],
        "no name given (decline)"
    );

    let with = setup();
    let person = Arc::new(Person {
        shown: Default::default(),
    });
    with.engine.set_elicitation_sink(person.clone());
    with.engine
        .add_server(ServerConfig::new("asks", fixture.url()))
        .await
        .unwrap();
    assert!(matches!(
        settled(&with.engine, "asks").await,
        ServerStatus::Connected { .. }
    ));
    let answered = with
        .engine
        .call_tool("asks", "ask_name", None)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&answered.content[0]).unwrap()["text"],
        "Hello, Grace!"
    );
    assert_eq!(*person.shown.lock().unwrap(), ["asks: What is your name?"]);
}

/// A hostile server that echoes the credential it was sent into its own
/// name: the diagnostics report a person may post cuts the value out; and
/// escape sequences in the log lines it quotes are shown, not obeyed.
#[tokio::test]
async fn the_report_cuts_out_a_secret_a_server_echoes() {
    const SECRET: &str = "sk-echoed-canary-5512";
    let s = setup();
    let fixture = McpFixture::start(McpOptions {
        access: Access::Bearer(SECRET.into()),
        name: format!("evil Bearer {SECRET}"),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    s.engine
        .set_secret("TOKEN", &SecretString::from(SECRET))
        .await
        .unwrap();
    s.engine
        .add_server(header_server("evil", &fixture.url(), "Bearer ${TOKEN}"))
        .await
        .unwrap();
    assert!(matches!(
        settled(&s.engine, "evil").await,
        ServerStatus::Connected { .. }
    ));
    let report = gatehouse_core::diagnostics::report(&s.engine, "test").await;
    assert!(
        report.contains("connected to evil Bearer [secret]"),
        "{report}"
    );
    assert!(!report.contains(SECRET), "{report}");
}

/// A server of an older revision that answers `server/discover`, a method
/// it does not know, with an empty success (as the conformance suite's
/// 2025-11-25 servers do) is spoken to with `initialize`, not given up on.
#[tokio::test]
#[allow(clippy::result_large_err)] // the fixture's check answers with a whole response
async fn a_server_that_answers_discover_with_an_empty_result_gets_initialize() {
    let fixture = McpFixture::start(McpOptions {
        access: Access::CustomCall(Arc::new(|request| {
            match request.calls.iter().find(|c| c.method == "server/discover") {
                Some(discover) => {
                    let body =
                        serde_json::json!({"jsonrpc": "2.0", "id": discover.id, "result": {}});
                    Err(http::Response::builder()
                        .header("content-type", "application/json")
                        .body(body.to_string().into())
                        .unwrap())
                }
                None => Ok(()),
            }
        })),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let s = setup();
    s.engine
        .add_server(ServerConfig::new("old", fixture.url()))
        .await
        .unwrap();
    match settled(&s.engine, "old").await {
        ServerStatus::Connected {
            protocol_version, ..
        } => assert_eq!(protocol_version, "2025-11-25"),
        other => panic!("expected connected, got {other:?}"),
    }
    let echoed = s
        .engine
        .call_tool(
            "old",
            "echo",
            Some(
                serde_json::json!({"text": "hi"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&echoed.content[0]).unwrap()["text"],
        "hi"
    );
}

/// An interactive server of 2025-11-25: `server/discover` is a method it
/// does not know, so its client sessions begin with `initialize` (after
/// which it lists the client's roots, with `roots_on_connect`).
#[allow(clippy::result_large_err)] // the fixture's check answers with a whole response
async fn older_interactive_fixture(roots_on_connect: bool) -> McpFixture {
    McpFixture::start(McpOptions {
        interactive: true,
        roots_on_connect,
        access: Access::CustomCall(Arc::new(|request| {
            match request.calls.iter().find(|c| c.method == "server/discover") {
                Some(discover) => {
                    let body = serde_json::json!({
                        "jsonrpc": "2.0", "id": discover.id,
                        "error": {"code": -32601, "message": "Method not found"}
                    });
                    Err(http::Response::builder()
                        .header("content-type", "application/json")
                        .body(body.to_string().into())
                        .unwrap())
                }
                None => Ok(()),
            }
        })),
        ..McpOptions::default()
    })
    .await
    .unwrap()
}

/// Writes the model's reply and names one folder, remembering what it
/// was shown.
struct StandIn {
    folder: std::path::PathBuf,
    shown: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl gatehouse_core::elicitation::ElicitationSink for StandIn {
    async fn fill_form(
        &self,
        request: gatehouse_core::elicitation::FormRequest,
    ) -> gatehouse_core::elicitation::Answer {
        self.shown.lock().unwrap().push(request.message.clone());
        let fields = &request.schema["properties"];
        let mut values = serde_json::Map::new();
        if fields.get("reply").is_some() {
            values.insert("reply".into(), "Hello from a person".into());
        }
        if fields.get("folders").is_some() {
            values.insert("folders".into(), self.folder.to_string_lossy().into());
        }
        gatehouse_core::elicitation::Answer::Accept(values)
    }
    async fn open_url(
        &self,
        _request: gatehouse_core::elicitation::UrlRequest,
    ) -> gatehouse_core::elicitation::Answer {
        gatehouse_core::elicitation::Answer::Decline
    }
}

/// A server asking for a model's reply (sampling) or the client's folders
/// (roots) during the person's own call asks the person, on 2026-07-28
/// (an input request) and on 2025-11-25 (a request within the session).
#[tokio::test]
async fn sampling_and_roots_reach_the_person_on_both_revisions() {
    let current = McpFixture::start(McpOptions {
        interactive: true,
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let older = older_interactive_fixture(false).await;
    let folder = tempfile::tempdir().unwrap();
    let s = setup();
    let person = Arc::new(StandIn {
        folder: folder.path().to_owned(),
        shown: Default::default(),
    });
    s.engine.set_elicitation_sink(person.clone());
    for (id, fixture) in [("current", &current), ("older", &older)] {
        s.engine
            .add_server(ServerConfig::new(id, fixture.url()))
            .await
            .unwrap();
        assert!(
            matches!(settled(&s.engine, id).await, ServerStatus::Connected { .. }),
            "{id}"
        );
        let text = |result: gatehouse_core::mcp::CallToolResult| {
            serde_json::to_value(&result.content[0]).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let sampled = s.engine.call_tool(id, "ask_model", None).await.unwrap();
        assert_eq!(
            text(sampled),
            "a person, through Gatehouse said: Hello from a person",
            "{id}"
        );
        let roots = text(s.engine.call_tool(id, "ask_roots", None).await.unwrap());
        let uri = url::Url::from_directory_path(folder.path()).unwrap();
        assert_eq!(roots, format!("roots: {uri}"), "{id}");
    }
    let shown = person.shown.lock().unwrap().clone();
    assert_eq!(shown.len(), 4, "{shown:?}");
    assert!(shown[0].contains("User: Say hello"), "{shown:?}");
    assert!(shown[1].contains("which folders"), "{shown:?}");
    s.engine.shutdown().await;
}

/// A server that lists the client's roots as soon as it is connected asks
/// nobody: no call of the person's is waiting on it, so no dialog opens (at
/// the app's start, every server connecting) and the server hears of no
/// roots. During the person's own call the same request reaches them.
#[tokio::test]
async fn roots_asked_outside_the_persons_call_open_no_dialog() {
    let older = older_interactive_fixture(true).await;
    let folder = tempfile::tempdir().unwrap();
    let s = setup();
    let person = Arc::new(StandIn {
        folder: folder.path().to_owned(),
        shown: Default::default(),
    });
    s.engine.set_elicitation_sink(person.clone());
    s.engine
        .add_server(ServerConfig::new("older", older.url()))
        .await
        .unwrap();
    assert!(matches!(
        settled(&s.engine, "older").await,
        ServerStatus::Connected { .. }
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while older.roots_on_connect().is_empty() {
        assert!(Instant::now() < deadline, "the server never heard back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(older.roots_on_connect(), [""], "no roots");
    assert!(person.shown.lock().unwrap().is_empty(), "no dialog");
    let answered = s
        .engine
        .call_tool("older", "ask_roots", None)
        .await
        .unwrap();
    let uri = url::Url::from_directory_path(folder.path()).unwrap();
    assert_eq!(
        serde_json::to_value(&answered.content[0]).unwrap()["text"],
        format!("roots: {uri}")
    );
    assert_eq!(person.shown.lock().unwrap().len(), 1);
    s.engine.shutdown().await;
}

/// In the app the gateway runs beside the window, so every server's
/// connection has a front end (the gateway's clients) in front of it. A
/// question about a call the person made (in the window, or `gatehouse
/// call`) still reaches the person: as an input request of 2026-07-28, and
/// as a session's elicitation of 2025-11-25 while no gateway client has a
/// request in flight.
#[tokio::test]
#[allow(clippy::result_large_err)] // the fixture's check answers with a whole response
async fn the_persons_own_call_is_answered_by_them_while_the_gateway_runs() {
    use gatehouse_core::gateway::host::GatewayHost;
    use gatehouse_core::gateway::http::GatewayOptions;

    let current = McpFixture::start(McpOptions {
        interactive: true,
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let older = older_interactive_fixture(false).await;

    // As the app starts: the servers in the config, the person's sink set,
    // then the gateway, which puts itself in front of every server.
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("config.toml"), dir.path().join("data"));
    std::fs::write(
        paths.config_file(),
        format!(
            "[[servers]]\nid = \"current\"\nurl = \"{}\"\n\n[[servers]]\nid = \"older\"\nurl = \"{}\"\n",
            current.url(),
            older.url()
        ),
    )
    .unwrap();
    let vault = Vault::new(
        paths.vault_file(),
        Arc::new(MemoryKeyStore::default()),
        None,
    );
    let engine = Engine::with_vault(paths, vault).unwrap();
    let person = Arc::new(Person {
        shown: Default::default(),
    });
    engine.set_elicitation_sink(person.clone());
    let gateway = GatewayHost::new(engine.clone());
    gateway.start(GatewayOptions { port: 0 }).await.unwrap();
    for (id, revision) in [("current", "2026-07-28"), ("older", "2025-11-25")] {
        match settled(&engine, id).await {
            ServerStatus::Connected {
                protocol_version, ..
            } => assert_eq!(protocol_version, revision),
            other => panic!("{id}: expected connected, got {other:?}"),
        }
        let answered = engine.call_tool(id, "ask_name", None).await.unwrap();
        assert_eq!(
            serde_json::to_value(&answered.content[0]).unwrap()["text"],
            "Hello, Grace!",
            "{id}"
        );
    }
    assert_eq!(
        *person.shown.lock().unwrap(),
        ["current: What is your name?", "older: What is your name?"]
    );
    gateway.shutdown().await;
    engine.shutdown().await;
}

/// A server that answers `initialize` with a revision Gatehouse does not
/// speak is not used with guesses: the connection is refused with an error
/// that names the revision and the ones Gatehouse speaks.
#[tokio::test]
#[allow(clippy::result_large_err)] // the fixture's check answers with a whole response
async fn a_server_of_an_unsupported_revision_is_refused_with_a_clear_error() {
    let fixture = McpFixture::start(McpOptions {
        access: Access::CustomCall(Arc::new(|request| {
            let answer = |status: u16, body: Option<serde_json::Value>| {
                let response = http::Response::builder().status(status);
                Err(match body {
                    Some(body) => response
                        .header("content-type", "application/json")
                        .body(body.to_string().into())
                        .unwrap(),
                    None => response.body(Default::default()).unwrap(),
                })
            };
            let Some(call) = request.calls.first() else {
                return Ok(());
            };
            match call.method.as_str() {
                "server/discover" => answer(
                    200,
                    Some(serde_json::json!({
                        "jsonrpc": "2.0", "id": call.id,
                        "error": {"code": -32601, "message": "Method not found"}
                    })),
                ),
                "initialize" => answer(
                    200,
                    Some(serde_json::json!({
                        "jsonrpc": "2.0", "id": call.id,
                        "result": {
                            "protocolVersion": "1999-01-01",
                            "capabilities": {"tools": {}},
                            "serverInfo": {"name": "ancient", "version": "0.1"}
                        }
                    })),
                ),
                "notifications/initialized" => answer(202, None),
                _ => Ok(()),
            }
        })),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let s = setup();
    s.engine
        .add_server(ServerConfig::new("ancient", fixture.url()))
        .await
        .unwrap();
    match settled(&s.engine, "ancient").await {
        ServerStatus::Error { kind, message } => {
            assert_eq!(kind, ErrorKind::Protocol);
            assert_eq!(
                message,
                "the server speaks MCP revision \"1999-01-01\", which Gatehouse does not support \
                 (it speaks 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28)"
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
    s.engine.shutdown().await;
}
