//! One owner for each token across processes (issue 8, item 3): the app's
//! engine, three `gatehouse proxy` processes and a `gatehouse serve`
//! gateway share one vault for a minute against a server whose access
//! tokens live three seconds and whose refresh tokens rotate on every use.
//! Every call succeeds, nobody re-authorizes, no rotated refresh token is
//! lost (the server would refuse it), and the grant is refreshed about once
//! per expiry — not once per process.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gatehouse_core::events::ServerStatus;
use gatehouse_fixture::{ConsentMode, OAuthFixture, OAuthOptions};
use serde_json::{Value, json};
use support::Home;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// How long the processes share the grant.
const RUN_FOR: Duration = Duration::from_secs(60);
/// The access tokens' lifetime.
const TOKEN_TTL: Duration = Duration::from_secs(3);
/// Pause between one client's calls.
const PAUSE: Duration = Duration::from_millis(400);

/// Calls made, and calls that failed (with what they said).
#[derive(Default)]
struct Tally {
    calls: AtomicUsize,
    failures: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn record(&self, who: &str, outcome: Result<(), String>) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Err(error) = outcome {
            self.failures
                .lock()
                .unwrap()
                .push(format!("{who}: {error}"));
        }
    }
}

/// `gatehouse proxy demo`, spoken to in newline-delimited JSON-RPC as an
/// MCP client on stdio does.
struct Proxy {
    _child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl Proxy {
    async fn start(home: &Home) -> Self {
        let mut child = home
            .command(&["proxy", "demo"])
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut proxy = Self {
            _child: child,
            stdin,
            stdout,
            next_id: 0,
        };
        let init = proxy
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "shared-tokens-test", "version": "1"}
                }),
            )
            .await
            .expect("the proxy initialized");
        assert!(init["serverInfo"].is_object(), "{init}");
        proxy
            .send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        proxy
    }

    async fn send(&mut self, message: &Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
    }

    /// Sends a request and waits for its answer: the result, or the error.
    async fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let wait = async {
            loop {
                let Some(line) = self.stdout.next_line().await.unwrap() else {
                    return Err("the proxy closed its output".to_owned());
                };
                let message: Value = serde_json::from_str(&line)
                    .map_err(|e| format!("not JSON on stdout ({e}): {line}"))?;
                if message["id"] != json!(id) {
                    continue;
                }
                return match message.get("result") {
                    Some(result) => Ok(result.clone()),
                    None => Err(message["error"].to_string()),
                };
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| Err(format!("no answer to {method} in 30 s")))
    }
}

/// A Streamable HTTP session with the gateway, by hand.
struct HttpSession {
    client: reqwest::Client,
    url: String,
    bearer: String,
    session: String,
    next_id: u64,
}

impl HttpSession {
    async fn start(url: String, token: &str) -> Self {
        let mut session = Self {
            client: reqwest::Client::new(),
            url,
            bearer: format!("Bearer {token}"),
            session: String::new(),
            next_id: 0,
        };
        session
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "shared-tokens-http", "version": "1"}
                }),
            )
            .await
            .expect("the gateway initialized");
        let answer = session
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await
            .unwrap();
        assert_eq!(answer.status(), 202);
        session
    }

    async fn post(&self, body: &Value) -> Result<reqwest::Response, String> {
        let mut request = self
            .client
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("authorization", &self.bearer)
            .json(body);
        if !self.session.is_empty() {
            request = request
                .header("mcp-session-id", &self.session)
                .header("mcp-protocol-version", "2025-06-18");
        }
        request.send().await.map_err(|e| e.to_string())
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let exchange = async {
            let answer = self.post(&body).await?;
            if !answer.status().is_success() {
                return Err(format!("HTTP {}", answer.status()));
            }
            if let Some(session) = answer.headers().get("mcp-session-id") {
                self.session = session.to_str().unwrap().to_owned();
            }
            let text = answer.text().await.map_err(|e| e.to_string())?;
            // JSON, or server-sent events whose data lines carry it.
            let messages = std::iter::once(text.as_str())
                .chain(text.lines().filter_map(|l| l.strip_prefix("data:")))
                .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok());
            for message in messages {
                if message["id"] == json!(id) {
                    return match message.get("result") {
                        Some(result) => Ok(result.clone()),
                        None => Err(message["error"].to_string()),
                    };
                }
            }
            Err(format!("no answer to request {id} in: {text}"))
        };
        tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .unwrap_or_else(|_| Err(format!("no answer to {method} in 30 s")))
    }
}

fn echo_args(text: &str) -> Value {
    json!({"name": "echo", "arguments": {"text": text}})
}

/// A tools/call result that echoed `text`, or why not.
fn echoed(result: Result<Value, String>, text: &str) -> Result<(), String> {
    let result = result?;
    if result["isError"] == json!(true) {
        return Err(format!("tool error: {result}"));
    }
    let said = result["content"][0]["text"].as_str().unwrap_or_default();
    if said == text {
        Ok(())
    } else {
        Err(format!("echoed {said:?}, not {text:?}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_app_three_proxies_and_the_gateway_share_one_rotating_grant() {
    let fixture = OAuthFixture::start(OAuthOptions {
        consent: ConsentMode::AutoApprove,
        access_token_ttl: TOKEN_TTL,
        rotate_refresh_tokens: true,
        ..OAuthOptions::default()
    })
    .await
    .unwrap();
    // The vault's key in the OS keyring, as on a desktop (a passphrase
    // vault costs every process a second of scrypt per refresh).
    let home = Home::with_keyring();
    home.ok(&["servers", "add", "demo", &fixture.url(), "--oauth"])
        .await;
    home.authorize("demo").await;
    let token = home.token("shared-tokens-http").await;
    assert_eq!(fixture.authorization_requests().len(), 1);

    // The app's engine: the same files, the same keyring.
    let app = home.app_engine();
    app.start();
    let connected = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if matches!(app.status("demo"), Some(ServerStatus::Connected { .. })) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(connected.is_ok(), "the app: {:?}", app.status("demo"));

    let gateway = home.serve().await;
    let mut proxies = Vec::new();
    for _ in 0..3 {
        proxies.push(Proxy::start(&home).await);
    }
    let http = HttpSession::start(gateway.url("demo"), &token).await;

    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for (n, mut proxy) in proxies.into_iter().enumerate() {
        let tally = tally.clone();
        clients.spawn(async move {
            let mut i = 0;
            while started.elapsed() < RUN_FOR {
                i += 1;
                let text = format!("proxy {n} call {i}");
                let result = proxy.request("tools/call", echo_args(&text)).await;
                tally.record(&format!("proxy {n}"), echoed(result, &text));
                tokio::time::sleep(PAUSE).await;
            }
        });
    }
    {
        let tally = tally.clone();
        let mut http = http;
        clients.spawn(async move {
            let mut i = 0;
            while started.elapsed() < RUN_FOR {
                i += 1;
                let text = format!("gateway call {i}");
                let result = http.request("tools/call", echo_args(&text)).await;
                tally.record("gateway", echoed(result, &text));
                tokio::time::sleep(PAUSE).await;
            }
        });
    }
    let mut i = 0;
    while started.elapsed() < RUN_FOR {
        i += 1;
        let text = format!("app call {i}");
        let mut arguments = serde_json::Map::new();
        arguments.insert("text".into(), json!(text));
        let result = app
            .call_tool("demo", "echo", Some(arguments))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| serde_json::to_value(r).map_err(|e| e.to_string()));
        tally.record("app", echoed(result, &text));
        tokio::time::sleep(PAUSE).await;
    }
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    let elapsed = started.elapsed();
    app.shutdown().await;
    drop(gateway);

    let failures = tally.failures.lock().unwrap().clone();
    let calls = tally.calls.load(Ordering::SeqCst);
    let refreshes: Vec<_> = fixture
        .token_requests()
        .into_iter()
        .filter(|r| r.grant_type.as_deref() == Some("refresh_token"))
        .collect();
    let gaps: Vec<_> = refreshes
        .windows(2)
        .map(|pair| {
            pair[1]
                .received
                .duration_since(pair[0].received)
                .as_millis()
        })
        .collect();
    eprintln!(
        "{calls} calls, {} failed, {} refreshes in {elapsed:?}, gaps in ms: {gaps:?}",
        failures.len(),
        refreshes.len()
    );
    if !failures.is_empty() {
        // What the proxies and the gateway logged (their shared log file).
        let log = std::fs::read_to_string(home.data_dir().join("logs/cli.log"));
        eprintln!("the processes' log:\n{}", log.unwrap_or_default());
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed: {failures:#?}",
        failures.len()
    );
    // Five clients, one call each per PAUSE (plus the call's own time).
    assert!(calls > 5 * 50, "only {calls} calls in {elapsed:?}");
    // Nobody went back to the browser.
    assert_eq!(
        fixture.authorization_requests().len(),
        1,
        "a process re-authorized"
    );
    // A rotated-away refresh token presented by a process that missed the
    // rotation would be refused (and the grant lost).
    for refresh in &refreshes {
        assert_eq!(
            refresh.status, 200,
            "a refresh was refused ({:?}): a rotated refresh token was lost",
            refresh.error
        );
    }
    // One refresh per expiry, not one per process: whoever refreshes
    // first, the others find its tokens. Redundant refreshes would follow
    // one another within moments; tokens refreshed on schedule come at
    // least a second apart (two seconds after arrival, counted in whole
    // seconds).
    let closest = refreshes
        .windows(2)
        .map(|pair| pair[1].received.duration_since(pair[0].received))
        .min()
        .unwrap_or(Duration::MAX);
    assert!(
        closest >= Duration::from_millis(700),
        "two refreshes {closest:?} apart: the grant was refreshed twice for one expiry"
    );
    let most = elapsed.as_secs() as usize + 3;
    assert!(
        refreshes.len() <= most,
        "{} refreshes in {elapsed:?} (at most {most} expected: one per expiry, not one per process)",
        refreshes.len()
    );
    assert!(
        refreshes.len() >= elapsed.as_secs() as usize / 3 - 1,
        "only {} refreshes in {elapsed:?}: were the tokens used past their expiry?",
        refreshes.len()
    );
}
