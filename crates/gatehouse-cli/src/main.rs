//! `gatehouse`: the headless front end over the Gatehouse engine, for
//! servers, SSH sessions and scripts. Every command maps onto one call of the
//! core API the desktop app uses. The grammar is in `cli.rs`, what each
//! command does in `commands/`, how results look in `output.rs`; this file
//! only starts the program and reports how it ended, as ripgrep does:
//! `main` -> `run() -> Result<ExitCode>`, an error printed with its causes,
//! a reader that went away (a broken pipe) counted as success.

mod cli;
mod commands;
mod consent;
mod elicit;
mod input;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser as _;
use gatehouse_core::Engine;
use gatehouse_core::paths::Paths;
use gatehouse_core::vault::Vault;
use secrecy::SecretString;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    // SAFETY: first thing in main, before any thread exists. The browser
    // this program may open must not inherit the passphrase.
    let passphrase = unsafe { gatehouse_core::vault::take_passphrase_from_env() };
    restore_sigpipe();
    let cli = Cli::parse();
    init_logging(cli.data_dir.clone());
    match run(cli, passphrase) {
        Ok(code) => code,
        Err(error) if output::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            output::print_error(&error);
            ExitCode::FAILURE
        }
    }
}

/// Output piped into `head` and the like: end quietly when the reader
/// goes away, as command-line tools do, instead of panicking on EPIPE
/// (Rust ignores SIGPIPE by default). Where there is no SIGPIPE (Windows),
/// the failed write comes back as an error that `main` counts as success.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists;
    // restores the default disposition of a signal.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Logs to stderr (warnings) and to `<data dir>/logs/cli.log` (info), the
/// file `gatehouse diagnostics` quotes.
fn init_logging(data_dir: Option<PathBuf>) {
    // rmcp's own warnings and errors restate what the command reports as
    // its result (or are noise, like a session that could not be deleted).
    let log_dir = Paths::resolve(None, data_dir).ok().map(|p| p.log_dir());
    gatehouse_core::logging::init("warn,rmcp=off", log_dir.as_deref(), "cli");
}

fn run(cli: Cli, passphrase: Option<SecretString>) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_engine(cli, passphrase))
}

async fn run_engine(cli: Cli, passphrase: Option<SecretString>) -> Result<ExitCode> {
    let paths = Paths::resolve(cli.config, cli.data_dir)?;
    let vault = Vault::with_os_keyring(paths.vault_file(), passphrase);
    // Secrets and the vault do not depend on the config: a broken config
    // file must not lock the person out of them.
    let engine = if matches!(
        cli.command,
        Command::Secrets(_)
            | Command::Vault(_)
            | Command::Diagnostics
            | Command::Activity { .. }
            | Command::Gateway(cli::GatewayCommand::Token(_))
    ) {
        Engine::tolerant_with_vault(paths, vault)
    } else {
        Engine::with_vault(paths, vault)?
    };
    engine.set_connect_on_change(false);
    let result = commands::dispatch(&engine, cli.command).await;
    engine.shutdown().await;
    result
}
