//! `gatehouse vault status|export-identity`: where the vault is, how it is
//! protected, and its key for decrypting a backup with `age`.

use std::process::ExitCode;

use anyhow::Result;
use gatehouse_core::Engine;
use gatehouse_core::vault::{Protection, VaultStatus};
use secrecy::ExposeSecret as _;

use super::with_vault;
use crate::cli::VaultCommand;
use crate::output;

pub async fn run(engine: &Engine, command: VaultCommand) -> Result<ExitCode> {
    match command {
        VaultCommand::Status => {
            let status = engine.vault_status().await;
            output::line(engine.paths().vault_file().display())?;
            output::line(match status {
                VaultStatus::NotCreated => {
                    "not created yet (storing the first secret creates it)".to_owned()
                }
                VaultStatus::Unlocked {
                    protection: Protection::Keyring,
                } => "unlocked, key in the OS keyring".to_owned(),
                VaultStatus::Unlocked {
                    protection: Protection::Passphrase,
                } => "unlocked, protected by a passphrase".to_owned(),
                VaultStatus::NeedsPassphrase => format!(
                    "locked: protected by a passphrase (set {})",
                    gatehouse_core::vault::PASSPHRASE_ENV
                ),
                VaultStatus::Unavailable { message, .. } => format!("unavailable: {message}"),
            })?;
        }
        VaultCommand::ExportIdentity => {
            let identity =
                with_vault(engine, async |engine| engine.export_vault_identity().await).await?;
            eprintln!("This key decrypts the vault. Store it somewhere safe and private.");
            output::line(identity.expose_secret())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
