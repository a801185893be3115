//! The `gatehouse` program as a person uses it, against real servers on
//! 127.0.0.1. The vault uses the passphrase path here
//! (`GATEHOUSE_VAULT_PASSPHRASE`); the keyring path has its own tests.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use gatehouse_fixture::{Access, ConsentMode, McpFixture, McpOptions, OAuthFixture, OAuthOptions};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

const SECRET: &str = "s3cr3t-cli-canary-0d1e";

struct Cli {
    dir: tempfile::TempDir,
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
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

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        command
            .args(["--config", self.config().to_str().unwrap()])
            .args(["--data-dir", self.dir.path().join("data").to_str().unwrap()])
            .args(args)
            .env("GATEHOUSE_VAULT_PASSPHRASE", "correct horse battery")
            .env_remove("GATEHOUSE_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    async fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self.command(args).spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("the command finished")
            .unwrap();
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "").await
    }

    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert_eq!(out.code, 0, "gatehouse {args:?} failed: {}", out.stderr);
        out.stdout
    }
}

#[tokio::test]
async fn the_header_server_walkthrough_from_the_readme() {
    let cli = Cli::new();
    let fixture = McpFixture::start(McpOptions {
        access: Access::Bearer(SECRET.into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();

    let out = cli
        .run_with_stdin(&["secrets", "set", "TOKEN"], &format!("{SECRET}\n"))
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "stored TOKEN");
    cli.ok(&[
        "servers",
        "add",
        "internal",
        &fixture.url(),
        "--header",
        "Authorization: Bearer ${TOKEN}",
    ])
    .await;

    let tools = cli.ok(&["tools", "internal"]).await;
    assert!(tools.lines().any(|l| l.starts_with("echo\t")), "{tools}");
    let result = cli
        .ok(&[
            "call",
            "internal",
            "echo",
            r#"{"text": "hello from the CLI"}"#,
        ])
        .await;
    assert_eq!(result.trim(), "hello from the CLI");
    let sum = cli
        .ok(&["call", "internal", "add", r#"{"a": 2, "b": 3}"#])
        .await;
    assert_eq!(sum.trim(), "5");

    let list = cli.ok(&["servers", "list", "--json"]).await;
    let servers: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(servers[0]["id"], "internal");
    assert_eq!(servers[0]["authMode"], "headers");
    assert_eq!(servers[0]["status"]["state"], "connected");
    assert_eq!(servers[0]["status"]["toolCount"], 3);
    // Negotiated per server: the fixture (rmcp 3.11) speaks 2026-07-28.
    assert_eq!(servers[0]["status"]["protocolVersion"], "2026-07-28");
    let words = cli.ok(&["servers", "list"]).await;
    assert!(words.contains("3 tools, MCP 2026-07-28)"), "{words}");
    let names = cli.ok(&["secrets", "list"]).await;
    assert_eq!(names.trim(), "TOKEN");

    // The secret is nowhere but in the encrypted vault.
    let config = std::fs::read_to_string(cli.config()).unwrap();
    assert!(config.contains("${TOKEN}"));
    for text in [&list, &names, &config, &tools] {
        assert!(!text.contains(SECRET));
    }
    let vault = std::fs::read(cli.dir.path().join("data/vault.age")).unwrap();
    assert!(vault.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    assert!(!String::from_utf8_lossy(&vault).contains(SECRET));
    for request in fixture.requests() {
        assert_eq!(request.headers["authorization"], format!("Bearer {SECRET}"));
    }

    // Commands that only edit files talk to no server.
    let before = fixture.requests().len();
    cli.ok(&["servers", "add", "other", "https://other.example/mcp"])
        .await;
    cli.ok(&["servers", "remove", "other"]).await;
    cli.run_with_stdin(&["secrets", "set", "UNUSED"], "x\n")
        .await;
    assert_eq!(
        fixture.requests().len(),
        before,
        "an edit contacted a server"
    );

    cli.ok(&["secrets", "delete", "TOKEN"]).await;
    let out = cli.run(&["tools", "internal"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("secret \"TOKEN\" is not in the vault"),
        "{}",
        out.stderr
    );
}

/// A machine client is added with its grant, its key (a vault reference)
/// and algorithm, or a workload's token file; the config says so and never
/// holds a key.
#[tokio::test]
async fn servers_add_takes_the_settings_of_grants_without_a_person() {
    let cli = Cli::new();
    cli.ok(&[
        "servers",
        "add",
        "robot",
        "https://robot.example/mcp",
        "--oauth",
        "--client-id",
        "robot",
        "--grant",
        "client_credentials",
        "--client-key",
        "${ROBOT_KEY}",
        "--client-key-algorithm",
        "rs256",
    ])
    .await;
    cli.ok(&[
        "servers",
        "add",
        "workload",
        "https://workload.example/mcp",
        "--oauth",
        "--client-id",
        "workload",
        "--assertion-file",
        "/var/run/secrets/tokens/mcp",
    ])
    .await;
    cli.ok(&[
        "servers",
        "add",
        "enterprise",
        "https://enterprise.example/mcp",
        "--oauth",
        "--client-id",
        "gatehouse",
        "--client-secret",
        "${AS_SECRET}",
        "--idp-issuer",
        "https://idp.example.com/oauth2",
        "--idp-client-id",
        "gatehouse-at-idp",
        "--idp-client-secret",
        "${IDP_SECRET}",
        "--assertion-file",
        "/run/user/1000/id-token",
        "--no-dpop",
    ])
    .await;
    let text = std::fs::read_to_string(cli.config()).unwrap();
    for line in [
        "grant = \"client_credentials\"",
        "client_key = \"${ROBOT_KEY}\"",
        "client_key_algorithm = \"RS256\"",
        "assertion_file = \"/var/run/secrets/tokens/mcp\"",
        "idp_issuer = \"https://idp.example.com/oauth2\"",
        "idp_client_id = \"gatehouse-at-idp\"",
        "idp_client_secret = \"${IDP_SECRET}\"",
        "assertion_file = \"/run/user/1000/id-token\"",
        "dpop = false",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    assert_eq!(
        text.matches("dpop").count(),
        1,
        "DPoP is on unless turned off:\n{text}"
    );
    let out = cli
        .run(&[
            "servers",
            "add",
            "leaky",
            "https://leaky.example/mcp",
            "--oauth",
            "--client-id",
            "leaky",
            "--client-key=-----BEGIN PRIVATE KEY-----",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("client_key: must be a vault reference"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("BEGIN PRIVATE KEY"), "{}", out.stderr);
    let out = cli
        .run(&[
            "servers",
            "add",
            "x",
            "https://x.example/mcp",
            "--oauth",
            "--grant",
            "password",
        ])
        .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    // The identity provider's secret is a vault reference too.
    let idp = cli
        .run(&[
            "servers",
            "add",
            "idp-leak",
            "https://idp-leak.example/mcp",
            "--oauth",
            "--client-id",
            "c",
            "--idp-issuer",
            "https://idp.example.com",
            "--idp-client-id",
            "i",
            "--idp-client-secret",
            "hunter2",
            "--assertion-file",
            "/run/id-token",
        ])
        .await;
    assert_eq!(idp.code, 1, "{}", idp.stderr);
    assert!(
        idp.stderr
            .contains("idp_client_secret: must be a vault reference"),
        "{}",
        idp.stderr
    );
    assert!(!idp.stderr.contains("hunter2"), "{}", idp.stderr);
    assert!(
        out.stderr.contains(
            "expected authorization_code, client_credentials, jwt_bearer or enterprise_managed"
        ),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn failures_are_one_clear_line_and_a_non_zero_exit() {
    let cli = Cli::new();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["tools", "nowhere"],
            "error: no server has the id \"nowhere\"",
        ),
        (
            vec!["servers", "add", "x", "http://example.com/mcp"],
            "url: must use https",
        ),
        (
            vec!["servers", "add", "bad id", "https://x.example/mcp"],
            "id: \"bad id\" may use only",
        ),
        (
            vec![
                "servers",
                "add",
                "x",
                "https://x.example/mcp",
                "--header",
                "NoColon",
            ],
            "--header must look like 'Name: value'",
        ),
        (
            vec![
                "servers",
                "add",
                "x",
                "https://x.example/mcp",
                "--header",
                "X-Key: one",
                "--header",
                "x-key: two",
            ],
            "--header \"x-key\": this header appears twice",
        ),
        (
            vec!["servers", "remove", "ghost"],
            "no server has the id \"ghost\"",
        ),
        (
            vec!["secrets", "delete", "NOPE"],
            "secret \"NOPE\" is not in the vault",
        ),
        (
            vec!["secrets", "set", "bad-name"],
            "is not a valid secret name",
        ),
    ];
    for (args, expected) in cases {
        let out = cli.run(&args).await;
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("error: "),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "{args:?}: {}",
            out.stderr
        );
    }
    let out = cli.run_with_stdin(&["secrets", "set", "EMPTY"], "").await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("the value is empty"), "{}", out.stderr);

    let fixture = McpFixture::start(McpOptions::default()).await.unwrap();
    cli.ok(&["servers", "add", "open", &fixture.url()]).await;
    let out = cli.run(&["call", "open", "echo", "{not json"]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not valid JSON"), "{}", out.stderr);
    let out = cli.run(&["call", "open", "echo", "[1]"]).await;
    assert!(
        out.stderr.contains("must be a JSON object"),
        "{}",
        out.stderr
    );
    let out = cli.run(&["call", "open", "nope", "{}"]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("tool not found"), "{}", out.stderr);
}

#[tokio::test]
async fn a_broken_config_is_reported_with_its_location_and_left_alone() {
    let cli = Cli::new();
    let broken = "[[servers]]\nid = \"a\"\nurl = \"https://a.example/mcp\"\ncolour = \"red\"\n";
    std::fs::write(cli.config(), broken).unwrap();
    let out = cli.run(&["servers", "list"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("config.toml:4:1: unknown field `colour`"),
        "{}",
        out.stderr
    );
    let out = cli
        .run(&["servers", "add", "b", "https://b.example/mcp"])
        .await;
    assert_eq!(out.code, 1);
    assert_eq!(std::fs::read_to_string(cli.config()).unwrap(), broken);
    // The vault does not depend on the config.
    let out = cli
        .run_with_stdin(&["secrets", "set", "TOKEN"], "value\n")
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(cli.ok(&["secrets", "list"]).await.trim(), "TOKEN");
    assert_eq!(std::fs::read_to_string(cli.config()).unwrap(), broken);
}

#[cfg(unix)]
#[tokio::test]
async fn a_config_file_others_can_change_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let cli = Cli::new();
    cli.ok(&["servers", "add", "a", "https://a.example/mcp"])
        .await;
    std::fs::set_permissions(cli.config(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = cli.run(&["servers", "list", "--offline"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "{} can be changed by other users (mode 666)",
            cli.config().display()
        )) && out.stderr.contains("chmod go-w"),
        "{}",
        out.stderr
    );
    std::fs::set_permissions(cli.config(), std::fs::Permissions::from_mode(0o644)).unwrap();
    cli.ok(&["servers", "list", "--offline"]).await;
}

#[tokio::test]
async fn a_wrong_passphrase_is_refused_without_damage() {
    let cli = Cli::new();
    cli.run_with_stdin(&["secrets", "set", "A"], "value").await;
    let vault_path = cli.dir.path().join("data/vault.age");
    let before = std::fs::read(&vault_path).unwrap();
    let out = cli
        .command(&["secrets", "list"])
        .env("GATEHOUSE_VAULT_PASSPHRASE", "not the passphrase")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the passphrase does not open the vault"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&vault_path).unwrap(), before);
}

#[tokio::test]
async fn a_short_passphrase_from_the_environment_makes_no_vault() {
    let cli = Cli::new();
    let mut child = cli
        .command(&["secrets", "set", "A"])
        .env("GATEHOUSE_VAULT_PASSPHRASE", "seven77")
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"value\n").await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 8 characters"), "{stderr}");
    assert!(!stderr.contains("seven77"), "{stderr}");
    assert!(!cli.dir.path().join("data/vault.age").exists());
}

/// The browser (and anything else the CLI starts) does not inherit the
/// vault passphrase: a stand-in browser, named by `$BROWSER` as the
/// `webbrowser` crate reads it, writes down the environment it was given.
#[cfg(unix)]
#[tokio::test]
async fn the_browser_does_not_inherit_the_vault_passphrase() {
    use std::os::unix::fs::PermissionsExt;
    let cli = Cli::new();
    let fixture = OAuthFixture::start(OAuthOptions::default()).await.unwrap();
    cli.ok(&["servers", "add", "demo", &fixture.url(), "--oauth"])
        .await;
    let seen = cli.dir.path().join("browser-env.txt");
    let browser = cli.dir.path().join("browser.sh");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\nenv > '{seen}.tmp' && mv '{seen}.tmp' '{seen}'\n",
            seen = seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = cli
        .command(&["auth", "demo"])
        .env("BROWSER", &browser)
        .env("BROWSER_TEST_MARK", "inherited")
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !seen.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stand-in browser never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().await.unwrap();
    let env = std::fs::read_to_string(&seen).unwrap();
    assert!(
        env.lines().any(|l| l == "BROWSER_TEST_MARK=inherited"),
        "the browser got the rest of the environment: {env}"
    );
    assert!(
        !env.contains("GATEHOUSE_VAULT_PASSPHRASE") && !env.contains("correct horse battery"),
        "the browser inherited the passphrase"
    );
}

/// `gatehouse auth` when the browser cannot reach the loopback listener:
/// the person pastes the address the browser ended on.
/// Runs `gatehouse auth <id> --no-browser`, goes through consent like a
/// browser that cannot reach this machine, and pastes the address it ended
/// on. Returns the authorization URL the command printed.
async fn authorize_with_paste_back(cli: &Cli, id: &str) -> String {
    let mut child = cli.command(&["auth", id, "--no-browser"]).spawn().unwrap();
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
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    let last = stdout.next_line().await.unwrap().unwrap_or_default();
    assert!(status.success(), "auth failed; last line: {last}");
    assert!(last.starts_with(&format!("{id}: connected")), "{last}");
    url
}

#[tokio::test]
async fn a_call_refused_for_scope_leads_the_next_auth_to_ask_for_it() {
    let cli = Cli::new();
    let fixture = OAuthFixture::start(OAuthOptions {
        consent: ConsentMode::AutoApprove,
        tool_scopes: [("add".to_owned(), "mcp:write".to_owned())].into(),
        ..OAuthOptions::default()
    })
    .await
    .unwrap();
    cli.ok(&["servers", "add", "demo", &fixture.url(), "--oauth"])
        .await;
    authorize_with_paste_back(&cli, "demo").await;
    let out = cli
        .run(&["call", "demo", "add", r#"{"a": 1, "b": 2}"#])
        .await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("needs more permissions") && out.stderr.contains("mcp:write"),
        "{}",
        out.stderr
    );
    let url = authorize_with_paste_back(&cli, "demo").await;
    let scope = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    assert!(scope.split(' ').any(|s| s == "mcp:write"), "{scope}");
    let sum = cli
        .ok(&["call", "demo", "add", r#"{"a": 1, "b": 2}"#])
        .await;
    assert_eq!(sum.trim(), "3");
}

#[tokio::test]
async fn oauth_with_paste_back_then_a_new_process_needs_no_browser() {
    let cli = Cli::new();
    let fixture = OAuthFixture::start(OAuthOptions {
        consent: ConsentMode::AutoApprove,
        ..OAuthOptions::default()
    })
    .await
    .unwrap();
    cli.ok(&["servers", "add", "demo", &fixture.url(), "--oauth"])
        .await;
    let out = cli.run(&["tools", "demo"]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("needs authorization"), "{}", out.stderr);

    let url = authorize_with_paste_back(&cli, "demo").await;
    assert!(
        url.starts_with(&format!("{}/authorize?", fixture.issuer())),
        "{url}"
    );

    // A new process uses the stored tokens.
    let tools = cli.ok(&["tools", "demo"]).await;
    assert!(tools.contains("echo"), "{tools}");
    let list = cli.ok(&["servers", "list"]).await;
    assert!(list.contains("token expires in"), "{list}");
    assert!(list.contains("scopes: mcp:read"), "{list}");
    assert_eq!(fixture.authorization_requests().len(), 1);

    let before = fixture.mcp_requests().len();
    cli.ok(&["logout", "demo"]).await;
    assert!(!fixture.revocations().is_empty());
    assert_eq!(
        fixture.mcp_requests().len(),
        before,
        "signing out connected to the server"
    );
    let out = cli.run(&["tools", "demo"]).await;
    assert_eq!(out.code, 1);
}

/// A minimal forward proxy: records each request line and relays the
/// connection to the host named in the absolute-form request target.
async fn start_proxy() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let Ok(n) = client.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let line = text.lines().next().unwrap_or_default().to_owned();
                log.lock().unwrap().push(line.clone());
                let target = line.split(' ').nth(1).unwrap_or_default();
                let Ok(url) = url::Url::parse(target) else {
                    return;
                };
                let addr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(80));
                let Ok(mut upstream) = tokio::net::TcpStream::connect(addr).await else {
                    return;
                };
                if upstream.write_all(&head).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn outbound_requests_honour_the_proxy_environment() {
    let cli = Cli::new();
    let fixture = McpFixture::start(McpOptions::default()).await.unwrap();
    cli.ok(&["servers", "add", "open", &fixture.url()]).await;
    let (port, seen) = start_proxy().await;
    let proxy = format!("http://127.0.0.1:{port}");

    let out = cli
        .command(&["tools", "open"])
        .env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let through_proxy = seen.lock().unwrap().clone();
    assert!(
        through_proxy
            .iter()
            .any(|l| l.starts_with(&format!("POST {}", fixture.url()))),
        "{through_proxy:?}"
    );

    seen.lock().unwrap().clear();
    let out = cli
        .command(&["tools", "open"])
        .env("HTTP_PROXY", &proxy)
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(
        seen.lock().unwrap().is_empty(),
        "NO_PROXY bypasses the proxy"
    );
}

#[tokio::test]
async fn a_private_certificate_authority_from_the_system_store_is_trusted() {
    let cli = Cli::new();
    let plain = McpFixture::start(McpOptions::default()).await.unwrap();
    let tls = gatehouse_fixture::TlsFront::start(plain.addr())
        .await
        .unwrap();
    let url = format!("https://localhost:{}/mcp", tls.port());
    cli.ok(&["servers", "add", "corp", &url]).await;

    // Unknown issuer: refused, with a reason.
    let out = cli.run(&["tools", "corp"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.to_lowercase().contains("certificate"),
        "{}",
        out.stderr
    );
    assert!(plain.requests().is_empty(), "nothing got through TLS");

    // The company CA, as the OS trust store would provide it.
    let ca_file = cli.dir.path().join("company-ca.pem");
    std::fs::write(&ca_file, tls.ca_pem()).unwrap();
    let out = cli
        .command(&["tools", "corp"])
        .env("SSL_CERT_FILE", &ca_file)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("echo"));
}

#[tokio::test]
async fn vault_status_says_how_the_vault_is_protected() {
    let cli = Cli::new();
    let status = cli.ok(&["vault", "status"]).await;
    assert!(status.contains("not created yet"), "{status}");
    cli.run_with_stdin(&["secrets", "set", "A"], "1").await;
    let status = cli.ok(&["vault", "status"]).await;
    assert!(status.contains("protected by a passphrase"), "{status}");
    let out = cli.run(&["vault", "export-identity"]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("age -d"), "{}", out.stderr);
}

#[tokio::test]
async fn output_into_a_closed_pipe_ends_quietly() {
    let cli = Cli::new();
    for i in 0..50 {
        cli.ok(&["servers", "add", &format!("s{i}"), "https://x.example/mcp"])
            .await;
    }
    let mut child = cli
        .command(&["servers", "list", "--offline"])
        .spawn()
        .unwrap();
    // The reader goes away before reading anything, like `| head -0`.
    drop(child.stdout.take());
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "{stderr}");
}

/// `call --timeout`: the server has that long to answer, counted again
/// from each progress report; a server that goes quiet is told the call is
/// cancelled and the command says how long it waited.
#[tokio::test]
async fn a_call_waits_while_the_server_reports_progress() {
    let cli = Cli::new();
    let fixture = McpFixture::start(McpOptions {
        interactive: true,
        ..McpOptions::default()
    })
    .await
    .unwrap();
    cli.ok(&["servers", "add", "slow", &fixture.url()]).await;

    // 100 steps of 20 ms: two seconds in all, progress after each step.
    let started = std::time::Instant::now();
    let counted = cli
        .ok(&[
            "call",
            "slow",
            "count",
            r#"{"steps": 100}"#,
            "--timeout",
            "1",
        ])
        .await;
    assert_eq!(counted.trim(), "counted to 100");
    assert!(started.elapsed() >= Duration::from_secs(2));

    // No progress: the wait ends after a second, not the tool's minute.
    let started = std::time::Instant::now();
    let out = cli
        .run(&["call", "slow", "wait_for_cancel", "--timeout", "1"])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("did not answer within 1 s"),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while fixture.cancelled_calls() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fixture.cancelled_calls(), 1, "the server was told");

    let out = cli
        .run(&["call", "slow", "count", r#"{"steps": 1}"#, "--timeout", "0"])
        .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
}
