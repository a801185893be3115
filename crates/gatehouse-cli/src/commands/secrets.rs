//! `gatehouse secrets set|list|delete`: named vault secrets. Values come
//! from stdin or a hidden prompt, never the command line, and are never
//! printed back.

use std::process::ExitCode;

use anyhow::Result;
use gatehouse_core::Engine;

use super::with_vault;
use crate::cli::SecretsCommand;
use crate::{input, output};

pub async fn run(engine: &Engine, command: SecretsCommand) -> Result<ExitCode> {
    match command {
        SecretsCommand::Set { name } => {
            gatehouse_core::template::validate_secret_name(&name)?;
            let value =
                input::read_secret(&format!("Value for {name}: ")).map_err(anyhow::Error::msg)?;
            with_vault(engine, async |engine| {
                engine.set_secret(&name, &value).await
            })
            .await?;
            output::line(format_args!("stored {name}"))?;
        }
        SecretsCommand::List => {
            for name in with_vault(engine, async |engine| engine.secret_names().await).await? {
                output::line(name)?;
            }
        }
        SecretsCommand::Delete { name } => {
            with_vault(engine, async |engine| engine.delete_secret(&name).await).await?;
            output::line(format_args!("deleted {name}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
