//! `gatehouse diagnostics` and the CLI's log file: the same report the
//! desktop app's "Copy diagnostics" copies (assembled by
//! `gatehouse_core::diagnostics`), and the rotating `cli.log` in the data
//! folder's `logs/` that the report quotes.

use std::path::PathBuf;
use std::time::Duration;

use gatehouse_core::Engine;
use gatehouse_core::paths::Paths;

/// How long the report waits for servers to connect before it tells
/// their statuses as they are.
const SETTLE: Duration = Duration::from_secs(20);

/// Logs to stderr (warnings) and to `<data dir>/logs/cli.log` (info).
pub fn init_logging(data_dir: Option<PathBuf>) {
    // rmcp's own warnings and errors restate what the command reports as
    // its result (or are noise, like a session that could not be deleted).
    let log_dir = Paths::resolve(None, data_dir).ok().map(|p| p.log_dir());
    gatehouse_core::logging::init("warn,rmcp=off", log_dir.as_deref(), "cli");
}

/// Connects the servers (without asking for a passphrase), waits for them
/// to settle, and prints the report.
pub async fn print(engine: &Engine) {
    if engine.config_problem().is_none() {
        engine.start();
        let _ = tokio::time::timeout(SETTLE, engine.wait_settled()).await;
    }
    print!("{}", gatehouse_core::diagnostics::report(engine, "cli"));
}
