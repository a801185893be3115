//! What each subcommand does, one file per group (`servers`, `secrets`,
//! `vault`, `auth`, `tools`, `proxy`, `gateway`, `activity`, `clients`, `diagnostics`): turn parsed arguments into calls of the
//! engine and hand the results to `output`. The helpers here are the ones
//! several groups share: reaching the vault (asking for its passphrase
//! when it has one) and connecting the one server a command needs.

mod activity;
mod auth;
mod clients;
mod diagnostics;
mod gateway;
mod proxy;
mod secrets;
mod servers;
mod tools;
mod vault;

use std::process::ExitCode;

use anyhow::Result;
use gatehouse_core::vault::{VaultError, VaultStatus};
use gatehouse_core::{Engine, Error};

use crate::cli::Command;
use crate::input;

/// Runs one parsed command against the engine.
pub async fn dispatch(engine: &Engine, command: Command) -> Result<ExitCode> {
    match command {
        Command::Servers(command) => servers::run(engine, command).await,
        Command::Secrets(command) => secrets::run(engine, command).await,
        Command::Vault(command) => vault::run(engine, command).await,
        Command::Tools { id, json } => tools::tools(engine, &id, json).await,
        Command::Resources {
            id,
            templates,
            json,
        } => tools::resources(engine, &id, templates, json).await,
        Command::Prompts { id, json } => tools::prompts(engine, &id, json).await,
        Command::Call {
            id,
            tool,
            arguments,
            json,
            timeout,
        } => {
            let wait = timeout.map(std::time::Duration::from_secs);
            tools::call(engine, &id, &tool, arguments.as_deref(), json, wait).await
        }
        Command::Auth { id, no_browser } => auth::authorize(engine, &id, no_browser).await,
        Command::Logout { id } => auth::sign_out(engine, &id).await,
        Command::Proxy { id } => proxy::run(engine, &id).await,
        Command::Serve { port } => gateway::serve(engine, port).await,
        Command::Gateway(command) => gateway::run(engine, command).await,
        Command::Activity {
            server,
            client,
            limit,
            follow,
            json,
        } => {
            let filter = gatehouse_core::activity::ActivityFilter { server, client };
            activity::run(engine, filter, limit, follow, json).await
        }
        Command::Import {
            client,
            path,
            dry_run,
            json,
        } => clients::import(engine, client, path, dry_run, json).await,
        Command::Clients(command) => clients::run(engine, command).await,
        Command::Diagnostics => diagnostics::print(engine).await,
    }
}

/// Starts one server's connection, unlocking the vault first if needed.
async fn connect_one(engine: &Engine, id: &str) -> Result<()> {
    with_vault(engine, async |engine| engine.start_only(&[id])).await
}

/// Runs `f`; when the vault needs a passphrase (or a new vault has no
/// keyring to use), asks for one on the terminal and tries again.
async fn with_vault<T>(engine: &Engine, f: impl AsyncFn(&Engine) -> Result<T, Error>) -> Result<T> {
    // Make sure a locked vault is noticed before connecting servers that
    // would otherwise each report it.
    if matches!(engine.vault_status().await, VaultStatus::NeedsPassphrase) {
        unlock(engine, false).await?;
    }
    match f(engine).await {
        Err(Error::Vault(VaultError::PassphraseRequired)) => {
            unlock(engine, false).await?;
            Ok(f(engine).await?)
        }
        Err(Error::Vault(VaultError::NoKeyring { detail })) => {
            eprintln!("No OS keyring is reachable ({detail}).");
            unlock(engine, true).await?;
            Ok(f(engine).await?)
        }
        other => Ok(other?),
    }
}

/// Asks for the passphrase on the terminal (this command has nothing else
/// to do meanwhile) and unlocks the vault with it.
async fn unlock(engine: &Engine, new: bool) -> Result<()> {
    let passphrase = tokio::task::spawn_blocking(move || input::prompt_passphrase(new))
        .await?
        .map_err(anyhow::Error::msg)?;
    Ok(engine.use_passphrase(passphrase).await?)
}
