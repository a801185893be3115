//! The AI clients a person already has, as they would try Gatehouse: sample
//! configuration files of every client (written from each client's
//! documentation, with comments, unknown keys and Windows paths) imported
//! into a real engine over temp files, connected, and disconnected again.
//!
//! - Import: remote entries (plain `url` and `mcp-remote` wrappers) become
//!   servers, literal secrets go to the vault, and the imported server
//!   really connects with them to a bearer-protected MCP server on
//!   127.0.0.1; nothing secret lands in Gatehouse's config.
//! - Connect: the files are rewritten to go through Gatehouse, and the
//!   token written into an HTTP client's file opens the real local gateway.
//! - Disconnect restores every file byte for byte.
//! - Safety: dry runs write nothing, a file that does not parse is never
//!   rewritten, permissions are kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::Engine;
use gatehouse_core::clients::{ClientError, ClientKind, RewriteAction};
use gatehouse_core::events::ServerStatus;
use gatehouse_core::gateway::http::{self, GatewayOptions};
use gatehouse_core::paths::Paths;
use gatehouse_core::vault::{MemoryKeyStore, Vault};
use gatehouse_fixture::{Access, McpFixture, McpOptions};

const LINEAR_KEY: &str = "sk-linear-live-4f9c2a7d1e8b";
const NOTION_KEY: &str = "ntn_secret_51c0ffee";

struct Setup {
    dir: tempfile::TempDir,
    engine: Engine,
}

impl Setup {
    /// An engine whose gateway port is `gateway_port`.
    fn new(gateway_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, format!("[gateway]\nport = {gateway_port}\n")).unwrap();
        let paths = Paths::new(config, dir.path().join("data"));
        let vault = Vault::new(
            paths.vault_file(),
            Arc::new(MemoryKeyStore::default()),
            None,
        );
        let engine = Engine::with_vault(paths, vault).unwrap();
        Self { dir, engine }
    }

    /// Copies the sample file `name` into the temp folder.
    fn sample(&self, name: &str) -> PathBuf {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/clients")
            .join(name);
        let to = self.dir.path().join(name);
        std::fs::copy(from, &to).unwrap();
        to
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn config_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("config.toml")).unwrap()
    }

    /// Every file under the data folder (backups, records, vault), as text
    /// where it is text.
    fn data_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push((path.clone(), std::fs::read(&path).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir.path().join("data"), &mut out);
        out
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

async fn settled(engine: &Engine, id: &str) -> ServerStatus {
    engine
        .wait_server_settled(id, Duration::from_secs(20))
        .await
        .unwrap()
}

/// The bearer token Gatehouse wrote into a JSON client file's entry.
fn written_token(text: &str, table: &str, entry: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    let header = value[table][entry]["headers"]["Authorization"]
        .as_str()
        .unwrap_or_else(|| panic!("no Authorization header in {entry}: {text}"));
    header.strip_prefix("Bearer ").unwrap().to_owned()
}

/// The issue's "done when", against real servers: Claude Desktop with an
/// `mcp-remote --header "Authorization: Bearer sk-..."` entry and Cursor
/// with a `url` entry (the same server twice, one more in Cursor).
#[tokio::test]
async fn import_connect_disconnect_claude_desktop_and_cursor() {
    let linear = McpFixture::start(McpOptions {
        access: Access::Bearer(LINEAR_KEY.into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let notion = McpFixture::start(McpOptions {
        access: Access::Bearer(NOTION_KEY.into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let gateway_port = free_port();
    let s = Setup::new(gateway_port);
    let claude = s.write(
        "claude_desktop_config.json",
        &format!(
            r#"{{
  "mcpServers": {{
    "linear": {{
      "command": "npx",
      "args": ["-y", "mcp-remote", "{}", "--header", "Authorization: Bearer {LINEAR_KEY}"]
    }},
    "filesystem": {{
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "C:\\Users\\me\\Documents"]
    }}
  }},
  "globalShortcut": "Ctrl+Space"
}}
"#,
            linear.url()
        ),
    );
    let cursor = s.write(
        "mcp.json",
        &format!(
            r#"{{
  "mcpServers": {{
    "Linear": {{ "url": "{}" }},
    "notion": {{
      "url": "{}",
      "headers": {{ "Authorization": "Bearer {NOTION_KEY}" }}
    }}
  }}
}}
"#,
            linear.url(),
            notion.url()
        ),
    );
    let claude_before = std::fs::read(&claude).unwrap();
    let cursor_before = std::fs::read(&cursor).unwrap();

    let outcome = s
        .engine
        .import_clients(
            vec![
                (ClientKind::ClaudeDesktop, Some(claude.clone())),
                (ClientKind::Cursor, Some(cursor.clone())),
            ],
            false,
        )
        .await
        .unwrap();
    let shown = serde_json::to_string(&outcome).unwrap();
    assert!(
        !shown.contains(LINEAR_KEY) && !shown.contains(NOTION_KEY),
        "{shown}"
    );

    // Both servers, once each; the local program skipped with its reason.
    let config = s.engine.current_config();
    let ids: Vec<_> = config.servers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["linear", "notion"], "{shown}");
    assert_eq!(outcome.plan.skipped.len(), 1);
    assert!(outcome.plan.skipped[0].reason.contains("local program"));
    assert_eq!(
        config.servers[0].headers["Authorization"],
        "Bearer ${LINEAR_AUTHORIZATION_TOKEN}"
    );
    // The keys are in the vault, none in the config.
    let names = s.engine.secret_names().await.unwrap();
    assert_eq!(
        names,
        ["LINEAR_AUTHORIZATION_TOKEN", "NOTION_AUTHORIZATION_TOKEN"]
    );
    let config_text = s.config_text();
    assert!(!config_text.contains(LINEAR_KEY) && !config_text.contains(NOTION_KEY));
    // ... and they work: the imported servers connect with them.
    s.engine.start();
    for id in ["linear", "notion"] {
        let status = settled(&s.engine, id).await;
        assert!(
            matches!(status, ServerStatus::Connected { .. }),
            "{id}: {status:?}"
        );
    }
    // Import changes no client file.
    assert_eq!(std::fs::read(&claude).unwrap(), claude_before);
    assert_eq!(std::fs::read(&cursor).unwrap(), cursor_before);

    // Connect both.
    let connected = s
        .engine
        .connect_client(
            ClientKind::ClaudeDesktop,
            Some(claude.clone()),
            false,
            "gatehouse".into(),
        )
        .await
        .unwrap();
    assert!(connected.written && connected.backup.is_some());
    let claude_text = read(&claude);
    let value: serde_json::Value = serde_json::from_str(&claude_text).unwrap();
    assert_eq!(value["mcpServers"]["linear"]["command"], "gatehouse");
    assert_eq!(
        value["mcpServers"]["linear"]["args"],
        serde_json::json!(["proxy", "linear"])
    );
    assert_eq!(
        value["mcpServers"]["filesystem"]["args"][2],
        "C:\\Users\\me\\Documents"
    );
    assert_eq!(value["globalShortcut"], "Ctrl+Space");
    assert!(!claude_text.contains(LINEAR_KEY), "{claude_text}");

    let connected = s
        .engine
        .connect_client(
            ClientKind::Cursor,
            Some(cursor.clone()),
            false,
            "gatehouse".into(),
        )
        .await
        .unwrap();
    assert!(connected.written);
    assert!(!connected.diff.contains(NOTION_KEY), "{}", connected.diff);
    let cursor_text = read(&cursor);
    assert!(!cursor_text.contains(NOTION_KEY), "{cursor_text}");
    let value: serde_json::Value = serde_json::from_str(&cursor_text).unwrap();
    assert_eq!(
        value["mcpServers"]["notion"]["url"],
        format!("http://127.0.0.1:{gateway_port}/servers/notion/mcp")
    );
    assert_eq!(
        value["mcpServers"]["Linear"]["url"],
        format!("http://127.0.0.1:{gateway_port}/servers/linear/mcp")
    );
    // No client key anywhere but the vault (backups hold the originals,
    // which are the person's own files).
    assert!(!s.config_text().contains(LINEAR_KEY));

    // The token in Cursor's file opens the real gateway, to the real server.
    let token = written_token(&cursor_text, "mcpServers", "notion");
    let gateway = http::serve(s.engine.clone(), GatewayOptions { port: gateway_port })
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let initialize = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "cursor-test", "version": "1"}}
    });
    let url = value["mcpServers"]["notion"]["url"].as_str().unwrap();
    let answer = client
        .post(url)
        .bearer_auth(&token)
        .header("Accept", "application/json, text/event-stream")
        .header("Content-Type", "application/json")
        .body(initialize.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let refused = client
        .post(url)
        .bearer_auth("ghgw_not-the-token")
        .header("Accept", "application/json, text/event-stream")
        .header("Content-Type", "application/json")
        .body(initialize.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // Disconnect both: byte for byte, and Cursor's token is revoked.
    let undone = s
        .engine
        .disconnect_client(ClientKind::ClaudeDesktop, Some(claude.clone()))
        .await
        .unwrap();
    assert_eq!(undone.restored_from, "backup");
    let undone = s
        .engine
        .disconnect_client(ClientKind::Cursor, Some(cursor.clone()))
        .await
        .unwrap();
    assert!(undone.token_revoked);
    assert_eq!(std::fs::read(&claude).unwrap(), claude_before);
    assert_eq!(std::fs::read(&cursor).unwrap(), cursor_before);
    let after = client
        .post(url)
        .bearer_auth(&token)
        .header("Accept", "application/json, text/event-stream")
        .header("Content-Type", "application/json")
        .body(initialize.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401, "the token is revoked on disconnect");
    gateway.shutdown().await;
}

/// Every client's sample file: import, connect (comments and unknown keys
/// kept, entries rewritten), disconnect (byte for byte).
#[tokio::test]
async fn every_client_round_trips_byte_for_byte() {
    let s = Setup::new(47999);
    let samples = [
        (
            ClientKind::ClaudeDesktop,
            "claude_desktop_config.json",
            &["sk-linear-live-4f9c2a7d1e8b", "corp-token-77aa31c9"][..],
            &[][..],
        ),
        (
            ClientKind::ClaudeCode,
            "claude.json",
            &["sntrys_user_3b6e0f8a9c"][..],
            &["\"numStartups\": 42", "hasTrustDialogAccepted"][..],
        ),
        (
            ClientKind::Cursor,
            "cursor-mcp.json",
            &["ntn_secret_51c0ffee"][..],
            &["postgres://localhost/dev"][..],
        ),
        (
            ClientKind::VsCode,
            "vscode-mcp.json",
            &["dk_live_8d7c6b5a4f3e"][..],
            &[
                "// Servers for Copilot's agent mode.",
                "/* GitHub's hosted server */",
                "\"watch\": \"src/**/*.ts\"",
                "// trailing comma next",
            ][..],
        ),
        (
            ClientKind::Windsurf,
            "windsurf-mcp_config.json",
            &["figd_abcdef0123456789"][..],
            &["\"disabled\": true"][..],
        ),
        (
            ClientKind::Codex,
            "codex-config.toml",
            &["rk_live_51Hx0000secret"][..],
            &[
                "# Codex CLI configuration",
                "[profiles.fast]",
                "startup_timeout_sec = 20",
                "MY_ENV_VAR = \"MY_ENV_VALUE\"",
            ][..],
        ),
        (
            ClientKind::GeminiCli,
            "gemini-settings.json",
            &["ATATT3xFfGF0-gemini"][..],
            &[
                "\"selectedAuthType\": \"oauth-personal\"",
                "\"timeout\": 30000",
            ][..],
        ),
        (
            ClientKind::Zed,
            "zed-settings.json",
            &["zed-token-1234abcd"][..],
            &[
                "// Zed settings",
                "// a hosted server with a token",
                "\"vim_mode\": true,",
            ][..],
        ),
    ];
    let paths: Vec<_> = samples
        .iter()
        .map(|(client, name, ..)| (*client, s.sample(name)))
        .collect();
    let originals: Vec<_> = paths
        .iter()
        .map(|(_, p)| std::fs::read(p).unwrap())
        .collect();

    let outcome = s
        .engine
        .import_clients(
            paths.iter().map(|(c, p)| (*c, Some(p.clone()))).collect(),
            false,
        )
        .await
        .unwrap();
    assert!(
        outcome.clients.iter().all(|c| c.problem.is_none()),
        "{:?}",
        outcome.clients
    );
    let config_text = s.config_text();
    for (_, _, secrets, _) in &samples {
        for secret in *secrets {
            assert!(!config_text.contains(secret), "{secret} in the config");
        }
    }
    // Codex's bearer_token_env_var and VS Code's ${input:...} are named
    // for the person to store; nothing was found for them.
    let to_store: Vec<_> = outcome
        .plan
        .secrets
        .iter()
        .filter(|s| !s.found)
        .map(|s| s.name.as_str())
        .collect();
    assert!(to_store.contains(&"FIGMA_OAUTH_TOKEN"), "{to_store:?}");
    assert!(to_store.contains(&"GITHUB_TOKEN"), "{to_store:?}");

    for (((client, _, secrets, kept), (_, path)), original) in
        samples.iter().zip(&paths).zip(&originals)
    {
        let connected = s
            .engine
            .connect_client(*client, Some(path.clone()), false, "gatehouse".into())
            .await
            .unwrap_or_else(|e| panic!("{client}: {e}"));
        assert!(connected.written, "{client}: {:?}", connected.changes);
        let text = read(path);
        for secret in *secrets {
            assert!(!text.contains(secret), "{client}: {secret} still in {text}");
            assert!(
                !connected.diff.contains(secret),
                "{client}: {secret} in the diff"
            );
        }
        for kept in *kept {
            assert!(text.contains(kept), "{client}: lost {kept:?}:\n{text}");
        }
        assert!(
            text.contains("proxy") || text.contains("/servers/"),
            "{client}: {text}"
        );
        // The rewritten file still reads as the client's format, and every
        // connected entry now goes through Gatehouse.
        let listed = s
            .engine
            .detect_clients([(*client, path.clone())].into(), Some(*client))
            .await;
        assert!(
            listed[0].problem.is_none(),
            "{client}: {:?}",
            listed[0].problem
        );
        assert!(listed[0].connected);
        for change in connected
            .changes
            .iter()
            .filter(|c| c.action == RewriteAction::Connect)
        {
            let entry = listed[0]
                .entries
                .iter()
                .find(|e| e.name == change.entry)
                .unwrap();
            assert_eq!(entry.kind, "gatehouse", "{client}: {}", change.entry);
        }

        let undone = s
            .engine
            .disconnect_client(*client, Some(path.clone()))
            .await
            .unwrap();
        assert_eq!(undone.restored_from, "backup");
        assert_eq!(&std::fs::read(path).unwrap(), original, "{client}");
    }
}

#[tokio::test]
async fn dry_runs_write_nothing_and_hide_secrets() {
    let s = Setup::new(47999);
    let claude = s.sample("claude_desktop_config.json");
    let before = std::fs::read(&claude).unwrap();
    let outcome = s
        .engine
        .import_clients(
            vec![(ClientKind::ClaudeDesktop, Some(claude.clone()))],
            true,
        )
        .await
        .unwrap();
    assert!(outcome.dry_run);
    assert_eq!(outcome.plan.servers.len(), 2);
    assert!(s.engine.current_config().servers.is_empty());
    assert!(s.engine.secret_names().await.unwrap().is_empty());

    // Connecting needs the servers; a dry run shows the diff only.
    s.engine
        .import_clients(
            vec![(ClientKind::ClaudeDesktop, Some(claude.clone()))],
            false,
        )
        .await
        .unwrap();
    let data_before = s.data_files();
    let shown = s
        .engine
        .connect_client(
            ClientKind::ClaudeDesktop,
            Some(claude.clone()),
            true,
            "gatehouse".into(),
        )
        .await
        .unwrap();
    assert!(!shown.written && shown.backup.is_none());
    assert!(
        shown.diff.contains("+") && shown.diff.contains("\"proxy\""),
        "{}",
        shown.diff
    );
    for secret in ["sk-linear-live-4f9c2a7d1e8b", "corp-token-77aa31c9"] {
        assert!(!shown.diff.contains(secret), "{}", shown.diff);
    }
    assert_eq!(std::fs::read(&claude).unwrap(), before);
    assert_eq!(s.data_files(), data_before, "a dry run stores nothing");
}

#[tokio::test]
async fn a_file_that_does_not_parse_is_reported_and_never_rewritten() {
    let s = Setup::new(47999);
    let broken = "{\n  \"mcpServers\": {\n    \"a\": { \"url\": \"https://a.example/mcp\", \"headers\": { \"X-Key\": \"sk-broken-123456\" }\n";
    let path = s.write("mcp.json", broken);
    let outcome = s
        .engine
        .import_clients(vec![(ClientKind::Cursor, Some(path.clone()))], false)
        .await
        .unwrap();
    let problem = outcome.clients[0].problem.clone().unwrap();
    assert!(!problem.contains("sk-broken"), "{problem}");
    assert!(s.engine.current_config().servers.is_empty());
    let error = s
        .engine
        .connect_client(
            ClientKind::Cursor,
            Some(path.clone()),
            false,
            "gatehouse".into(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Parse { .. }), "{error}");
    assert!(!error.to_string().contains("sk-broken"));
    assert_eq!(read(&path), broken);
    let listed = s
        .engine
        .detect_clients(
            [(ClientKind::Cursor, path)].into(),
            Some(ClientKind::Cursor),
        )
        .await;
    assert!(listed[0].problem.is_some());
}

/// The person edits the file while it is connected: disconnect puts back
/// only Gatehouse's entries and keeps their edit.
#[tokio::test]
async fn disconnect_after_an_edit_rewrites_only_gatehouse_entries() {
    let s = Setup::new(47999);
    let path = s.sample("zed-settings.json");
    s.engine
        .import_clients(vec![(ClientKind::Zed, Some(path.clone()))], false)
        .await
        .unwrap();
    s.engine
        .connect_client(
            ClientKind::Zed,
            Some(path.clone()),
            false,
            "gatehouse".into(),
        )
        .await
        .unwrap();
    let edited = read(&path).replace("\"buffer_font_size\": 15", "\"buffer_font_size\": 17");
    assert!(edited.contains("17"));
    std::fs::write(&path, &edited).unwrap();
    let undone = s
        .engine
        .disconnect_client(ClientKind::Zed, Some(path.clone()))
        .await
        .unwrap();
    assert_eq!(undone.restored_from, "rewrite");
    let text = read(&path);
    assert!(text.contains("\"buffer_font_size\": 17"), "{text}");
    assert!(text.contains("// a hosted server with a token"), "{text}");
    assert!(
        text.contains("zed-token-1234abcd"),
        "the entry is back: {text}"
    );
    assert!(text.contains("https://old.example/mcp"), "{text}");
    assert!(!text.contains("/servers/"), "{text}");
    // Not connected any more.
    let error = s
        .engine
        .disconnect_client(ClientKind::Zed, Some(path))
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::NotConnected { .. }), "{error}");
}

/// Two files of one client (a person's `~/.claude.json` and a project's
/// `.mcp.json`) each get a token; connecting the second never breaks the
/// first.
#[tokio::test]
async fn two_files_of_one_client_keep_working_tokens() {
    let s = Setup::new(47999);
    let user = s.sample("claude.json");
    // A second user-scope file (a project's `.mcp.json`, shared through
    // version control, gets `gatehouse proxy` entries and no token).
    let project = s.write(
        "claude-work.json",
        "{\n  \"mcpServers\": {\n    \"sentry\": { \"type\": \"http\", \"url\": \"https://mcp.sentry.example/mcp\" }\n  }\n}\n",
    );
    s.engine
        .import_clients(vec![(ClientKind::ClaudeCode, Some(user.clone()))], false)
        .await
        .unwrap();
    for path in [&user, &project] {
        s.engine
            .connect_client(
                ClientKind::ClaudeCode,
                Some(path.clone()),
                false,
                "gatehouse".into(),
            )
            .await
            .unwrap();
    }
    let tokens = s.engine.gateway_tokens();
    let first = written_token(&read(&user), "mcpServers", "sentry");
    let second = written_token(&read(&project), "mcpServers", "sentry");
    assert_ne!(first, second);
    assert!(tokens.verify(&first).unwrap().is_some());
    assert!(tokens.verify(&second).unwrap().is_some());

    // Connecting the same file again makes a new token and rewrites every
    // entry that carried the old one.
    let again = s
        .engine
        .connect_client(
            ClientKind::ClaudeCode,
            Some(project.clone()),
            false,
            "gatehouse".into(),
        )
        .await
        .unwrap();
    assert!(
        !again.written,
        "nothing new to connect: {:?}",
        again.changes
    );
    assert!(tokens.verify(&second).unwrap().is_some());
}

#[cfg(unix)]
#[tokio::test]
async fn a_rewrite_keeps_the_file_mode() {
    use std::os::unix::fs::PermissionsExt as _;
    let s = Setup::new(47999);
    let path = s.sample("cursor-mcp.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    s.engine
        .import_clients(vec![(ClientKind::Cursor, Some(path.clone()))], false)
        .await
        .unwrap();
    s.engine
        .connect_client(
            ClientKind::Cursor,
            Some(path.clone()),
            false,
            "gatehouse".into(),
        )
        .await
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // No temporary file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}
