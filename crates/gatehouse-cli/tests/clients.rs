//! `gatehouse import` and `gatehouse clients list|connect|disconnect` as a
//! new user tries them: a Claude Desktop file with an `mcp-remote` entry
//! carrying `--header "Authorization: Bearer sk-..."` and a Cursor file
//! with a `url` entry, both for real MCP servers on 127.0.0.1. One import
//! leaves Gatehouse with both servers and the key in the vault only;
//! connecting rewrites both files; disconnecting restores them exactly.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gatehouse_fixture::{Access, McpFixture, McpOptions};
use tokio::process::Command;

const CLAUDE_KEY: &str = "sk-ant-cli-canary-9c41e2";
const CURSOR_KEY: &str = "cursor-hdr-canary-77d0";

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["--config", self.config().to_str().unwrap()])
            .args(["--data-dir", self.dir.path().join("data").to_str().unwrap()])
            .args(args)
            .env("GATEHOUSE_VAULT_PASSPHRASE", "correct horse battery")
            .env_remove("GATEHOUSE_LOG")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(60), output)
            .await
            .expect("the command finished")
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args).await;
        assert_eq!(code, 0, "gatehouse {args:?} failed: {stderr}");
        for key in [CLAUDE_KEY, CURSOR_KEY] {
            assert!(
                !stdout.contains(key) && !stderr.contains(key),
                "{args:?} printed a key"
            );
        }
        stdout
    }

    async fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test]
async fn import_connect_and_disconnect_two_clients() {
    let cli = Cli::new();
    let linear = McpFixture::start(McpOptions {
        access: Access::Bearer(CLAUDE_KEY.into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let notion = McpFixture::start(McpOptions {
        access: Access::Bearer(CURSOR_KEY.into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let claude = cli.write(
        "claude_desktop_config.json",
        &format!(
            "{{\n  \"mcpServers\": {{\n    \"linear\": {{\n      \"command\": \"npx\",\n      \"args\": [\"-y\", \"mcp-remote\", \"{}\", \"--header\", \"Authorization: Bearer {CLAUDE_KEY}\"]\n    }},\n    \"memory\": {{ \"command\": \"npx\", \"args\": [\"-y\", \"@modelcontextprotocol/server-memory\"] }}\n  }}\n}}\n",
            linear.url()
        ),
    );
    let cursor = cli.write(
        "mcp.json",
        &format!(
            "{{\n  \"mcpServers\": {{\n    \"notion\": {{\n      \"url\": \"{}\",\n      \"headers\": {{ \"Authorization\": \"Bearer {CURSOR_KEY}\" }}\n    }}\n  }}\n}}\n",
            notion.url()
        ),
    );
    let claude_before = std::fs::read(&claude).unwrap();
    let cursor_before = std::fs::read(&cursor).unwrap();

    // A dry run says what would happen and changes nothing.
    let plan = cli
        .ok(&[
            "import",
            "claude-desktop",
            "--path",
            s(&claude),
            "--dry-run",
        ])
        .await;
    assert!(plan.contains("would add linear"), "{plan}");
    assert!(plan.contains("skip claude-desktop \"memory\""), "{plan}");
    assert!(
        !cli.config().exists()
            || !std::fs::read_to_string(cli.config())
                .unwrap()
                .contains("linear")
    );

    let imported = cli
        .json(&["import", "claude-desktop", "--path", s(&claude), "--json"])
        .await;
    assert_eq!(imported["servers"][0]["server"]["id"], "linear");
    cli.ok(&["import", "cursor", "--path", s(&cursor)]).await;

    let servers = cli.json(&["servers", "list", "--offline", "--json"]).await;
    let ids: Vec<_> = servers
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["linear", "notion"]);
    let secrets = cli.ok(&["secrets", "list"]).await;
    assert_eq!(
        secrets.lines().collect::<Vec<_>>(),
        ["LINEAR_AUTHORIZATION_TOKEN", "NOTION_AUTHORIZATION_TOKEN"]
    );
    let config = std::fs::read_to_string(cli.config()).unwrap();
    assert!(
        !config.contains(CLAUDE_KEY) && !config.contains(CURSOR_KEY),
        "{config}"
    );
    // The moved keys work: both servers answer through Gatehouse.
    for id in ["linear", "notion"] {
        let tools = cli.ok(&["tools", id]).await;
        assert!(
            tools.lines().any(|l| l.starts_with("echo\t")),
            "{id}: {tools}"
        );
    }

    // Connect: a dry run shows the diff, secrets blanked.
    let diff = cli
        .ok(&[
            "clients",
            "connect",
            "cursor",
            "--path",
            s(&cursor),
            "--dry-run",
        ])
        .await;
    assert!(
        diff.contains("-") && diff.contains("/servers/notion/mcp"),
        "{diff}"
    );
    assert_eq!(std::fs::read(&cursor).unwrap(), cursor_before);

    cli.ok(&["clients", "connect", "claude-desktop", "--path", s(&claude)])
        .await;
    cli.ok(&["clients", "connect", "cursor", "--path", s(&cursor)])
        .await;
    let claude_now: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&claude).unwrap()).unwrap();
    assert_eq!(
        claude_now["mcpServers"]["linear"]["command"],
        env!("CARGO_BIN_EXE_gatehouse")
    );
    assert_eq!(
        claude_now["mcpServers"]["linear"]["args"],
        serde_json::json!(["proxy", "linear"])
    );
    assert_eq!(
        claude_now["mcpServers"]["memory"]["args"][1],
        "@modelcontextprotocol/server-memory"
    );
    let cursor_text = std::fs::read_to_string(&cursor).unwrap();
    assert!(!cursor_text.contains(CURSOR_KEY), "{cursor_text}");
    assert!(cursor_text.contains("/servers/notion/mcp"), "{cursor_text}");
    let tokens = cli.ok(&["gateway", "token", "list"]).await;
    assert!(tokens.trim().starts_with("cursor-"), "{tokens}");

    let listed = cli
        .json(&["clients", "list", "cursor", "--path", s(&cursor), "--json"])
        .await;
    assert_eq!(listed[0]["connected"], true);
    assert_eq!(listed[0]["entries"][0]["kind"], "gatehouse");
    assert_eq!(listed[0]["entries"][0]["server"], "notion");

    // Disconnect: both files exactly as they were.
    cli.ok(&[
        "clients",
        "disconnect",
        "claude-desktop",
        "--path",
        s(&claude),
    ])
    .await;
    let out = cli
        .ok(&["clients", "disconnect", "cursor", "--path", s(&cursor)])
        .await;
    assert!(out.contains("byte for byte"), "{out}");
    assert_eq!(std::fs::read(&claude).unwrap(), claude_before);
    assert_eq!(std::fs::read(&cursor).unwrap(), cursor_before);
    assert_eq!(cli.ok(&["gateway", "token", "list"]).await.trim(), "");
}

#[tokio::test]
async fn a_broken_file_is_reported_and_left_alone() {
    let cli = Cli::new();
    let broken = "{ \"mcpServers\": { \"a\": { \"url\": \"https://a.example/mcp\" } ";
    let path = cli.write("mcp.json", broken);
    let (code, _, stderr) = cli
        .run(&["clients", "connect", "cursor", "--path", s(&path)])
        .await;
    assert_ne!(code, 0);
    assert!(
        stderr.contains("not valid cursor configuration"),
        "{stderr}"
    );
    assert!(stderr.contains("it was not changed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    let (code, _, stderr) = cli.run(&["clients", "connect", "emacs"]).await;
    assert_ne!(code, 0);
    assert!(stderr.contains("unknown client"), "{stderr}");
}
