//! Gatehouse against an MCP server it did not write: the Python SDK (PyPI
//! `mcp` 2.x) serving Streamable HTTP statelessly (MCP 2026-07-28, reached
//! through `server/discover`) and with sessions. Each is listed, its tools
//! called from the CLI, and the protocol version Gatehouse settled on shown.
//! The SDK comes from `scripts/test.sh` (`GATEHOUSE_PYTHON_MCP`); run with
//! `--ignored`.

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use support::Home;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The Python SDK server (`tests/peers/py_server.py`), killed on drop.
struct PythonServer {
    _child: Child,
    url: String,
}

async fn start_python_server(stateless: bool) -> PythonServer {
    let python = std::env::var("GATEHOUSE_PYTHON_MCP").expect(
        "GATEHOUSE_PYTHON_MCP must name a Python with PyPI `mcp` 2.x (scripts/test.sh sets it)",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(python);
    command
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/py_server.py"))
        .arg(port.to_string());
    if stateless {
        command.arg("--stateless");
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the Python SDK's Python runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::time::timeout(Duration::from_secs(30), async {
        while lines.next_line().await.unwrap().expect("the server exited") != "ready" {}
    })
    .await
    .expect("the Python SDK server started");
    PythonServer {
        _child: child,
        url: format!("http://127.0.0.1:{port}/mcp"),
    }
}

/// Lists the server, calls its tools and returns the status `servers list
/// --json` shows for it.
async fn list_and_call(server: &PythonServer) -> Value {
    let home = Home::new();
    home.ok(&["servers", "add", "py", &server.url]).await;
    let tools = home.ok(&["tools", "py"]).await;
    assert!(tools.lines().any(|l| l.starts_with("greet\t")), "{tools}");
    assert!(
        tools.lines().any(|l| l.starts_with("ask_name\t")),
        "{tools}"
    );
    let greeting = home
        .ok(&["call", "py", "greet", r#"{"name": "Ada"}"#])
        .await;
    assert_eq!(greeting.trim(), "Hello, Ada!");
    // The server asks for a name; with no terminal to ask, Gatehouse
    // declines, and the server hears the answer.
    let asked = home.ok(&["call", "py", "ask_name"]).await;
    assert_eq!(asked.trim(), "no name given (decline)");
    let list: Value = serde_json::from_str(&home.ok(&["servers", "list", "--json"]).await).unwrap();
    assert_eq!(list[0]["status"]["state"], "connected", "{list}");
    assert_eq!(list[0]["status"]["serverName"], "py-peer", "{list}");
    list[0]["status"].clone()
}

#[tokio::test]
#[ignore = "needs the Python SDK; run by scripts/test.sh"]
async fn a_stateless_python_sdk_server_is_spoken_to_in_2026_07_28() {
    let server = start_python_server(true).await;
    let status = list_and_call(&server).await;
    assert_eq!(status["protocolVersion"], "2026-07-28", "{status}");
}

#[tokio::test]
#[ignore = "needs the Python SDK; run by scripts/test.sh"]
async fn a_python_sdk_server_with_sessions_is_listed_and_called() {
    let server = start_python_server(false).await;
    let status = list_and_call(&server).await;
    // The SDK (2.3.0, pinned by scripts/test.sh) answers `server/discover`
    // in its session mode too, so Gatehouse speaks 2026-07-28 there as
    // well. (The fallback to `initialize` is shown with the TypeScript
    // SDK's server, which knows no `server/discover`: ts_sdk.rs.)
    assert_eq!(status["protocolVersion"], "2026-07-28", "{status}");
}
