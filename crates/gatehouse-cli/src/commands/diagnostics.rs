//! `gatehouse diagnostics`: the same report the desktop app's "Copy
//! diagnostics" copies (assembled by `gatehouse_core::diagnostics`), quoting
//! the rotating `cli.log` that `main` sets up in the data folder's `logs/`.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use gatehouse_core::Engine;

/// How long the report waits for servers to connect before it tells
/// their statuses as they are.
const SETTLE: Duration = Duration::from_secs(20);

/// Connects the servers (without asking for a passphrase), waits for them
/// to settle, and prints the report.
pub async fn print(engine: &Engine) -> Result<ExitCode> {
    if engine.config_problem().is_none() {
        engine.start();
        let _ = tokio::time::timeout(SETTLE, engine.wait_settled()).await;
    }
    let report = gatehouse_core::diagnostics::report(engine, "cli").await;
    std::io::stdout().lock().write_all(report.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
