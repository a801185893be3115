//! `gatehouse import` and `gatehouse clients list|connect|disconnect` as a
//! new user tries them: a Claude Desktop file with an `mcp-remote` entry
//! carrying `--header "Authorization: Bearer sk-..."` and a Cursor file
//! with a `url` entry, both for real MCP servers on 127.0.0.1. One import
//! leaves Gatehouse with both servers and the key in the vault only;
//! connecting rewrites both files; disconnecting restores them exactly.
//!
//! Claude Code without `--path`: its `~/.claude.json` and the `.mcp.json`
//! of each project that file lists are found, imported, connected and
//! restored, each on its own.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gatehouse_fixture::{Access, McpFixture, McpOptions};
use support::Home;
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
    let (code, out, _) = cli.run(&["import", "cursor", "--path", s(&path)]).await;
    assert_ne!(
        code, 0,
        "an import of a file that does not parse fails: {out}"
    );
    assert!(out.contains("not valid cursor configuration"), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    let (code, _, stderr) = cli.run(&["clients", "connect", "emacs"]).await;
    assert_ne!(code, 0);
    assert!(stderr.contains("unknown client"), "{stderr}");
}

const PROJECT_KEY: &str = "sk-proj-canary-5e0b13";
const USER_KEY: &str = "sk-user-canary-a7c2";

/// A person's home folder with Claude Code in it, for `gatehouse` run
/// with `HOME` there (nothing of the real home is read).
struct ClaudeCodeHome {
    gatehouse: Home,
    home: PathBuf,
    claude_json: PathBuf,
    /// The project whose `.mcp.json` exists.
    app: PathBuf,
    /// The project whose folder is gone.
    gone: PathBuf,
}

impl ClaudeCodeHome {
    /// `~/.claude.json` as Claude Code writes it (plain JSON, keys of its
    /// own) with a user server and two projects: `app`, whose `.mcp.json`
    /// has an `mcp-remote` entry with a literal bearer header, and `gone`,
    /// whose folder no longer exists.
    fn new(user_url: &str, project_url: &str) -> Self {
        let gatehouse = Home::new();
        let home = gatehouse.dir.path().join("home");
        let app = gatehouse.dir.path().join("code").join("app");
        let gone = gatehouse.dir.path().join("code").join("gone");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&app).unwrap();
        let claude_json = home.join(".claude.json");
        let projects = serde_json::json!({
            app.to_str().unwrap(): {
                "allowedTools": [],
                "history": [{ "display": "fix the build", "pastedContents": {} }],
                "mcpContextUris": [],
                "mcpServers": {},
                "enabledMcpjsonServers": [],
                "disabledMcpjsonServers": [],
                "hasTrustDialogAccepted": true,
                "projectOnboardingSeenCount": 1
            },
            gone.to_str().unwrap(): {
                "allowedTools": [],
                "mcpServers": {},
                "hasTrustDialogAccepted": false
            }
        });
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "numStartups": 17,
            "installMethod": "native",
            "autoUpdates": false,
            "userID": "0f3c9b1e",
            "tipsHistory": { "new-user-warmup": 1 },
            "mcpServers": {
                "notion": {
                    "type": "http",
                    "url": user_url,
                    "headers": { "Authorization": format!("Bearer {USER_KEY}") }
                }
            },
            "projects": projects
        }))
        .unwrap();
        std::fs::write(&claude_json, text).unwrap();
        std::fs::write(
            app.join(".mcp.json"),
            format!(
                "{{\n  \"mcpServers\": {{\n    \"linear\": {{\n      \"command\": \"npx\",\n      \"args\": [\n        \"-y\",\n        \"mcp-remote\",\n        \"{project_url}\",\n        \"--header\",\n        \"Authorization: Bearer {PROJECT_KEY}\"\n      ],\n      \"env\": {{}}\n    }}\n  }}\n}}\n"
            ),
        )
        .unwrap();
        Self {
            gatehouse,
            home,
            claude_json,
            app,
            gone,
        }
    }

    fn project_file(&self) -> PathBuf {
        self.app.join(".mcp.json")
    }

    /// `gatehouse <args>` with this home and `cwd` as working directory:
    /// (success, stdout, stderr); no key is ever printed.
    async fn run_in(&self, cwd: &Path, args: &[&str]) -> (bool, String, String) {
        let mut command = self.gatehouse.command(args);
        command
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env_remove("CODEX_HOME")
            .current_dir(cwd)
            .stdin(Stdio::null());
        let output = tokio::time::timeout(Duration::from_secs(60), command.output())
            .await
            .expect("the command finished")
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        for key in [PROJECT_KEY, USER_KEY] {
            assert!(
                !stdout.contains(key) && !stderr.contains(key),
                "{args:?} printed a key"
            );
        }
        (output.status.success(), stdout, stderr)
    }

    /// As [`Self::run_in`] from the home folder, which has no `.mcp.json`;
    /// it must succeed.
    async fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run_in(&self.home, args).await;
        assert!(ok, "gatehouse {args:?} failed: {stderr}");
        stdout
    }
}

#[tokio::test]
async fn claude_code_project_files_are_found_imported_connected_and_restored() {
    let project_server = McpFixture::start(McpOptions {
        access: Access::Bearer(PROJECT_KEY.into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let user_server = McpFixture::start(McpOptions {
        access: Access::Bearer(USER_KEY.into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let h = ClaudeCodeHome::new(&user_server.url(), &project_server.url());
    let claude_before = std::fs::read(&h.claude_json).unwrap();
    let project_before = std::fs::read(h.project_file()).unwrap();

    // List: both files, each with its entries; the gone project reported.
    // Run inside the project, its `.mcp.json` is still listed once.
    let (ok, out, stderr) = h.run_in(&h.app, &["clients", "list", "--json"]).await;
    assert!(ok, "{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let claude_code: Vec<&serde_json::Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["client"] == "claude-code")
        .collect();
    let paths: Vec<PathBuf> = claude_code
        .iter()
        .map(|c| PathBuf::from(c["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        paths,
        [
            h.claude_json.clone(),
            h.project_file(),
            h.gone.join(".mcp.json")
        ],
        "{out}"
    );
    assert_eq!(claude_code[0]["entries"][0]["name"], "notion");
    assert_eq!(claude_code[0]["entries"][0]["kind"], "remote");
    assert_eq!(claude_code[1]["found"], true);
    assert_eq!(claude_code[1]["project"], h.app.to_str().unwrap());
    assert_eq!(claude_code[1]["entries"][0]["name"], "linear");
    assert_eq!(claude_code[1]["entries"][0]["kind"], "remote");
    assert_eq!(claude_code[2]["found"], false);
    assert!(
        claude_code[2]["problem"]
            .as_str()
            .unwrap()
            .contains("no longer exists"),
        "{out}"
    );
    let text = h.ok(&["clients", "list", "claude-code"]).await;
    assert!(
        text.contains(h.claude_json.to_str().unwrap())
            && text.contains(h.project_file().to_str().unwrap()),
        "{text}"
    );

    // One import takes both servers; each key goes to the vault.
    let out = h.ok(&["import"]).await;
    assert!(out.contains("add linear"), "{out}");
    assert!(out.contains("add notion"), "{out}");
    assert!(out.contains("no longer exists"), "{out}");
    let config = std::fs::read_to_string(h.gatehouse.config_file()).unwrap();
    assert!(
        config.contains("Bearer ${LINEAR_AUTHORIZATION_TOKEN}"),
        "{config}"
    );
    assert!(!config.contains(PROJECT_KEY) && !config.contains(USER_KEY));
    let secrets = h.ok(&["secrets", "list"]).await;
    assert_eq!(
        secrets.lines().collect::<Vec<_>>(),
        ["LINEAR_AUTHORIZATION_TOKEN", "NOTION_AUTHORIZATION_TOKEN"]
    );
    // The moved project key works: the server answers through Gatehouse.
    let tools = h.ok(&["tools", "linear"]).await;
    assert!(tools.lines().any(|l| l.starts_with("echo\t")), "{tools}");

    // Connect rewrites both files; every other key of ~/.claude.json is
    // kept. The user's file gets the gateway with a token; the project's
    // file, shared through version control, gets `gatehouse proxy` and no
    // token.
    let out = h.ok(&["clients", "connect", "claude-code"]).await;
    assert!(
        out.contains(&format!("rewrote {}", h.claude_json.display()))
            && out.contains(&format!("rewrote {}", h.project_file().display())),
        "{out}"
    );
    let claude_now = std::fs::read_to_string(&h.claude_json).unwrap();
    let project_now = std::fs::read_to_string(h.project_file()).unwrap();
    assert!(!claude_now.contains(USER_KEY), "{claude_now}");
    assert!(!project_now.contains(PROJECT_KEY), "{project_now}");
    let claude_value: serde_json::Value = serde_json::from_str(&claude_now).unwrap();
    assert_eq!(claude_value["numStartups"], 17);
    assert_eq!(
        claude_value["projects"][h.app.to_str().unwrap()]["history"][0]["display"],
        "fix the build"
    );
    let notion = &claude_value["mcpServers"]["notion"];
    assert_eq!(notion["type"], "http");
    assert!(
        notion["url"]
            .as_str()
            .unwrap()
            .ends_with("/servers/notion/mcp")
    );
    let project_value: serde_json::Value = serde_json::from_str(&project_now).unwrap();
    let linear = &project_value["mcpServers"]["linear"];
    assert_eq!(
        linear["args"],
        serde_json::json!(["proxy", "linear"]),
        "{project_now}"
    );
    assert!(linear.get("url").is_none(), "{project_now}");
    assert!(!project_now.contains("ghgw_"), "{project_now}");
    assert!(!project_now.contains("Bearer"), "{project_now}");
    let tokens = h.ok(&["gateway", "token", "list"]).await;
    assert_eq!(tokens.lines().count(), 1, "{tokens}");
    assert!(!h.gone.exists(), "nothing is written for a gone project");

    // Disconnect restores both files byte for byte and revokes the token.
    let out = h.ok(&["clients", "disconnect", "claude-code"]).await;
    assert_eq!(out.matches("byte for byte").count(), 2, "{out}");
    assert_eq!(std::fs::read(&h.claude_json).unwrap(), claude_before);
    assert_eq!(std::fs::read(h.project_file()).unwrap(), project_before);
    assert_eq!(h.ok(&["gateway", "token", "list"]).await.trim(), "");
}

/// A project's `.mcp.json` that does not parse is reported and left as it
/// is; the client's other files are connected all the same.
#[tokio::test]
async fn a_broken_project_file_is_reported_and_the_others_connected() {
    let user_server = McpFixture::start(McpOptions {
        access: Access::Bearer(USER_KEY.into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let h = ClaudeCodeHome::new(&user_server.url(), "http://127.0.0.1:9/mcp");
    let broken = "{ \"mcpServers\": { \"linear\": { \"url\": \"http://127.0.0.1:9/mcp\" } ";
    std::fs::write(h.project_file(), broken).unwrap();
    let (ok, out, _) = h.run_in(&h.home, &["import"]).await;
    assert!(
        !ok,
        "a file that could not be read fails the command: {out}"
    );
    assert!(out.contains("add notion"), "{out}");
    assert!(out.contains("not valid claude-code configuration"), "{out}");

    let (ok, out, stderr) = h
        .run_in(&h.home, &["clients", "connect", "claude-code"])
        .await;
    assert!(!ok, "a file left unchanged fails the command: {out}");
    assert!(
        out.contains(&format!("rewrote {}", h.claude_json.display())),
        "{out}"
    );
    assert!(
        stderr.contains(&format!("{}: not changed", h.project_file().display()))
            && stderr.contains("it was not changed"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(h.project_file()).unwrap(), broken);
    assert!(
        !std::fs::read_to_string(&h.claude_json)
            .unwrap()
            .contains(USER_KEY)
    );
}
