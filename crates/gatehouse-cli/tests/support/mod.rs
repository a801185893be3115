//! What the CLI's integration tests share: a Gatehouse home (config and
//! vault) in a temporary folder, the `gatehouse` binary run against it, and
//! its long-running commands (`serve`) started and read.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

pub const PASSPHRASE: &str = "correct horse battery";

/// A Gatehouse home (config and vault) in a temporary folder.
pub struct Home {
    pub dir: tempfile::TempDir,
    /// The vault's passphrase (`GATEHOUSE_VAULT_PASSPHRASE`), or `None`
    /// for a vault whose key lives in the OS keyring.
    pub passphrase: Option<&'static str>,
}

impl Home {
    /// A home whose vault is protected by [`PASSPHRASE`], as on a machine
    /// without a keyring.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            passphrase: Some(PASSPHRASE),
        }
    }

    /// A home whose vault key lives in the OS keyring, as on a desktop:
    /// the tests run in a private D-Bus session with gnome-keyring.
    pub fn with_keyring() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            passphrase: None,
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// An engine over this home, as the desktop app runs one: the same
    /// files and vault as the `gatehouse` processes. Not started.
    pub fn app_engine(&self) -> gatehouse_core::Engine {
        let paths = gatehouse_core::paths::Paths::new(self.config_file(), self.data_dir());
        let vault = gatehouse_core::vault::Vault::with_os_keyring(
            paths.vault_file(),
            self.passphrase
                .map(|p| secrecy::SecretString::from(p.to_owned())),
        );
        gatehouse_core::Engine::with_vault(paths, vault).unwrap()
    }

    /// `--config … --data-dir …`, for programs that start gatehouse.
    pub fn global_args(&self) -> Vec<String> {
        vec![
            "--config".into(),
            self.config_file().display().to_string(),
            "--data-dir".into(),
            self.data_dir().display().to_string(),
        ]
    }

    /// `gatehouse <args>` over this home, its three streams piped.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        command
            .args(self.global_args())
            .args(args)
            .env_remove("GATEHOUSE_VAULT_PASSPHRASE")
            .env_remove("GATEHOUSE_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(passphrase) = self.passphrase {
            command.env("GATEHOUSE_VAULT_PASSPHRASE", passphrase);
        }
        command
    }

    /// Runs gatehouse to the end: (success, stdout, stderr).
    pub async fn run(&self, args: &[&str], stdin: &str) -> (bool, String, String) {
        let mut child = self.command(args).spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("gatehouse finished")
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    pub async fn ok(&self, args: &[&str]) -> String {
        self.ok_with_stdin(args, "").await
    }

    pub async fn ok_with_stdin(&self, args: &[&str], stdin: &str) -> String {
        let (ok, stdout, stderr) = self.run(args, stdin).await;
        assert!(ok, "gatehouse {args:?}: {stderr}");
        stdout
    }

    /// `--config … --data-dir … proxy <id>`: the arguments a client's
    /// config gives `gatehouse`.
    pub fn proxy_args(&self, id: &str) -> Vec<String> {
        let mut args = self.global_args();
        args.extend(["proxy".into(), id.into()]);
        args
    }

    /// A header server `id` at `url` whose bearer token, `secret`, is in
    /// the vault as `TOKEN`.
    pub async fn add_header_server(&self, id: &str, url: &str, secret: &str) {
        self.ok_with_stdin(&["secrets", "set", "TOKEN"], &format!("{secret}\n"))
            .await;
        self.ok(&[
            "servers",
            "add",
            id,
            url,
            "--header",
            "Authorization: Bearer ${TOKEN}",
        ])
        .await;
    }

    /// A new gateway token for `client`, as `token add` prints it.
    pub async fn token(&self, client: &str) -> String {
        let out = self.ok(&["gateway", "token", "add", client]).await;
        let token = out.trim().to_owned();
        assert!(token.starts_with("ghgw_"), "{out}");
        token
    }

    /// Authorizes OAuth server `id` the way a person without a local
    /// browser does (`gatehouse auth --no-browser`, then paste-back), the
    /// fixture consenting at once.
    pub async fn authorize(&self, id: &str) {
        let mut child = self.command(&["auth", id, "--no-browser"]).spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let landed = gatehouse_fixture::follow_consent(&url).await.unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{landed}\n").as_bytes())
            .await
            .unwrap();
        drop(stdin);
        let mut said = String::new();
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_secs(30), stdout.next_line()).await
        {
            said.push_str(&line);
            said.push('\n');
        }
        let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            output.status.success(),
            "gatehouse auth {id} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            said
        );
    }

    /// `gatehouse serve --port 0`, once it listens.
    pub async fn serve(&self) -> Gateway {
        let mut child = self.command(&["serve", "--port", "0"]).spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .expect("gatehouse serve printed its address")
            .unwrap()
            .expect("a line");
        let port: u16 = first
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {first:?}"));
        let mut urls = Vec::new();
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_millis(300), stdout.next_line()).await
        {
            urls.push(line);
        }
        Gateway {
            _child: child,
            port,
            urls,
        }
    }
}

/// The first [`Event::AuthorizationWanted`] among `events` within ten
/// seconds, as (server, client): what the desktop app turns into its
/// Authorize prompt.
///
/// [`Event::AuthorizationWanted`]: gatehouse_core::events::Event::AuthorizationWanted
pub async fn authorization_wanted(
    events: &mut tokio::sync::broadcast::Receiver<gatehouse_core::events::Event>,
) -> Option<(String, String)> {
    use gatehouse_core::events::Event;
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(Event::AuthorizationWanted { server, client }) => return (server, client),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    std::future::pending::<()>().await
                }
            }
        }
    })
    .await
    .ok()
}

/// A running `gatehouse serve`; killed when dropped.
pub struct Gateway {
    _child: Child,
    pub port: u16,
    /// The lines after the first: each server and its URL.
    pub urls: Vec<String>,
}

impl Gateway {
    pub fn url(&self, id: &str) -> String {
        format!("http://127.0.0.1:{}/servers/{id}/mcp", self.port)
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The TypeScript SDK's example server (`simpleStreamableHttp.js`, which
/// `GATEHOUSE_TS_SDK_SERVER` names), killed on drop.
pub struct TsServer {
    _child: Child,
    pub mcp_port: u16,
}

pub async fn start_ts_server(oauth: bool) -> TsServer {
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

/// What a client of a revision before MCP 2026-07-28 made of the fixture's
/// `primes` (structured output that is an array, which only 2026-07-28
/// allows), called with `count` 4 through Gatehouse from a server that
/// speaks 2026-07-28: no output schema listed, and the value as text
/// rather than as structured content.
pub fn check_primes_for_an_earlier_revision(who: &str, primes: &serde_json::Value) {
    assert!(primes["schema"].is_null(), "{who}: {primes}");
    assert!(primes["structured"].is_null(), "{who}: {primes}");
    assert_eq!(primes["text"], "[2,3,5,7]", "{who}: {primes}");
}

/// The JSON-RPC answer in a Streamable HTTP response body, sent as JSON or
/// as the data of a server-sent event.
pub fn json_rpc_answer(body: &str) -> serde_json::Value {
    if let Ok(answer) = serde_json::from_str(body) {
        return answer;
    }
    body.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str::<serde_json::Value>(data.trim()).ok())
        .find(|message| message.get("id").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC answer in {body:?}"))
}

/// An MCP server (Streamable HTTP, MCP 2025-06-18, one request per
/// connection) that answers each method with the JSON text it was given
/// (the answer's `"result": …` or `"error": …` member), written as it is:
/// answers rmcp's model cannot read, duplicate keys included. Other methods
/// get "method not found". Stops when dropped.
pub struct HostileServer {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HostileServer {
    /// `results`: (method, the answer's `result` or `error` member).
    pub async fn start(results: &[(&str, &str)]) -> Self {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let results: std::collections::HashMap<String, String> = results
            .iter()
            .map(|(method, result)| ((*method).to_owned(), (*result).to_owned()))
            .collect();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let results = results.clone();
                tokio::spawn(async move {
                    let mut read = Vec::new();
                    let mut buffer = [0; 8192];
                    let (head, body) = loop {
                        let Ok(n) = stream.read(&mut buffer).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        read.extend_from_slice(&buffer[..n]);
                        let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&read[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|line| line.strip_prefix("content-length:"))
                            .and_then(|n| n.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if read.len() >= end + 4 + length {
                            break (head, read[end + 4..end + 4 + length].to_vec());
                        }
                    };
                    let (status, answer) = if !head.starts_with("post") {
                        ("405 Method Not Allowed", String::new())
                    } else {
                        let message: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or_default();
                        let method = message["method"].as_str().unwrap_or_default();
                        match message.get("id") {
                            None => ("202 Accepted", String::new()),
                            Some(id) if method == "initialize" => (
                                "200 OK",
                                format!(
                                    r#"{{"jsonrpc":"2.0","id":{id},"result":{{"protocolVersion":"2025-06-18","capabilities":{{"tools":{{}}}},"serverInfo":{{"name":"hostile","version":"1"}}}}}}"#
                                ),
                            ),
                            Some(id) => match results.get(method) {
                                Some(result) => (
                                    "200 OK",
                                    format!(r#"{{"jsonrpc":"2.0","id":{id},{result}}}"#),
                                ),
                                None => (
                                    "200 OK",
                                    format!(
                                        r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32601,"message":"no {method}"}}}}"#
                                    ),
                                ),
                            },
                        }
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        HostileServer { url, task }
    }
}

/// The `initialize` a hand-written client of revision 2025-06-18 sends.
fn raw_initialize() -> serde_json::Value {
    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw-client", "version": "1"}
    }})
}

/// A client of `gatehouse proxy <id>` that writes JSON-RPC by hand (MCP
/// 2025-06-18): it initializes, sends `requests` (each with an id above
/// 1) and returns the answers by id, once each has come.
pub async fn through_proxy(
    home: &Home,
    id: &str,
    requests: &[serde_json::Value],
) -> std::collections::HashMap<u64, serde_json::Value> {
    let mut proxy = home.command(&["proxy", id]).spawn().unwrap();
    let mut stdin = proxy.stdin.take().unwrap();
    let mut lines = BufReader::new(proxy.stdout.take().unwrap()).lines();
    let initialized = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    for message in [raw_initialize(), initialized].iter().chain(requests) {
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
    }
    let wanted: Vec<u64> = requests.iter().filter_map(|r| r["id"].as_u64()).collect();
    let mut answers = std::collections::HashMap::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while answers.len() < wanted.len() {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("the proxy answered");
            let message: serde_json::Value = serde_json::from_str(&line).unwrap();
            if let Some(id) = message["id"].as_u64().filter(|id| wanted.contains(id)) {
                answers.insert(id, message);
            }
        }
    })
    .await
    .expect("every request answered through the proxy");
    answers
}

/// A session of a client that speaks plain HTTP (MCP 2025-06-18) to the
/// gateway at `url` with gateway token `token`.
pub struct RawGatewaySession {
    url: String,
    bearer: String,
    session: String,
}

impl RawGatewaySession {
    /// Initializes (200) and says so (202).
    pub async fn open(url: &str, token: &str) -> Self {
        let bearer = format!("Bearer {token}");
        let started = Self::post(url, &bearer, None, &raw_initialize()).await;
        assert_eq!(started.status(), 200);
        let session = started.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let this = Self {
            url: url.to_owned(),
            bearer,
            session,
        };
        let initialized =
            serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let done = Self::post(url, &this.bearer, Some(&this.session), &initialized).await;
        assert_eq!(done.status(), 202);
        this
    }

    /// The answer to `request`.
    pub async fn ask(&self, request: &serde_json::Value) -> serde_json::Value {
        let answer = Self::post(&self.url, &self.bearer, Some(&self.session), request).await;
        json_rpc_answer(&answer.text().await.unwrap())
    }

    async fn post(
        url: &str,
        bearer: &str,
        session: Option<&str>,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .post(url)
            .header("authorization", bearer)
            .header("accept", "application/json, text/event-stream")
            .json(body);
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-06-18");
        }
        tokio::time::timeout(Duration::from_secs(30), request.send())
            .await
            .expect("the gateway answered")
            .unwrap()
    }
}
