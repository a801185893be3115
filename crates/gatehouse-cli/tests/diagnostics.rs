//! `gatehouse diagnostics` and the CLI's log file, as a person uses them:
//! the report names each server and its status and quotes the log, the log
//! file is written where the report says, and the header's secret is in
//! neither.

use std::time::Duration;

use gatehouse_fixture::{Access, McpFixture, McpOptions};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const SECRET: &str = "s3cr3t-diagnostics-canary-9b8a";

async fn gatehouse(dir: &std::path::Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["--config", dir.join("config.toml").to_str().unwrap()])
        .args(["--data-dir", dir.join("data").to_str().unwrap()])
        .args(args)
        .env("GATEHOUSE_VAULT_PASSPHRASE", "correct horse battery")
        .env_remove("GATEHOUSE_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the command finished")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn diagnostics_report_statuses_and_log_lines_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let good = McpFixture::start(McpOptions {
        access: Access::Bearer(SECRET.into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let wrong = McpFixture::start(McpOptions {
        access: Access::Bearer("another-token".into()),
        ..McpOptions::default()
    })
    .await
    .unwrap();
    let d = dir.path();
    assert_eq!(
        gatehouse(d, &["secrets", "set", "TOKEN"], SECRET).await.0,
        0
    );
    let url = format!("{}?tenant=query-canary-5e4d", good.url());
    for (id, url) in [("good", url.as_str()), ("refused", &wrong.url())] {
        let header = "Authorization: Bearer ${TOKEN}";
        let (code, _, err) =
            gatehouse(d, &["servers", "add", id, url, "--header", header], "").await;
        assert_eq!(code, 0, "{err}");
    }
    // A command that connects, so that there is something in the log.
    gatehouse(d, &["tools", "refused"], "").await;

    let (code, report, err) = gatehouse(d, &["diagnostics"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(
        report.contains(&format!("version: {}", env!("CARGO_PKG_VERSION"))),
        "{report}"
    );
    assert!(report.contains("front end: cli"), "{report}");
    assert!(report.contains("- good [http://127.0.0.1:"), "{report}");
    assert!(report.contains("]: connected to"), "{report}");
    assert!(report.contains("- refused ["), "{report}");
    assert!(report.contains("recent log lines (cli.log):"), "{report}");
    let log_dir = d.join("data").join("logs");
    assert!(
        report.contains(&format!("log folder: {}", log_dir.display())),
        "{report}"
    );
    let log = std::fs::read_to_string(log_dir.join("cli.log")).unwrap();
    assert!(!log.trim().is_empty(), "the CLI wrote its log file");
    for text in [&report, &log, &err] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains("query-canary-5e4d"), "{text}");
    }
}
