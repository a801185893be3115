//! `gatehouse auth` and `gatehouse logout`: a server's OAuth grant, won in
//! the person's browser (or by pasting the address it ended on) and given
//! up again.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use gatehouse_core::Engine;
use gatehouse_core::config::TokenStorage;
use gatehouse_core::events::ServerStatus;

use super::with_vault;
use crate::{consent, output};

pub async fn authorize(engine: &Engine, id: &str, no_browser: bool) -> Result<ExitCode> {
    let sink = Arc::new(consent::TerminalConsent {
        open_browser: !no_browser,
    });
    let server = engine.server_config(id)?;
    let storage = server.oauth_settings().map(|o| o.token_storage);
    if storage == Some(TokenStorage::Vault) {
        // Tokens and the client registration will go into the vault:
        // settle its key (or ask for a passphrase) before the browser.
        with_vault(engine, async |engine| engine.ensure_vault_writable().await).await?;
    }
    engine.set_consent_sink(sink.clone());
    let ticket = engine.start_authorization(id, sink).await?;
    consent::read_pasted_urls(engine.clone(), id.to_owned());
    let status = engine.finish_authorization(id, ticket).await?;
    eprintln!("Authorized {id}.");
    output::line(format_args!("{id}: {}", output::status_text(&status)))?;
    if !matches!(status, ServerStatus::Connected { .. }) {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn sign_out(engine: &Engine, id: &str) -> Result<ExitCode> {
    let warning = engine.sign_out(id).await?;
    if let Some(warning) = warning {
        eprintln!("warning: {warning}");
    }
    output::line(format_args!("signed out of {id}"))?;
    Ok(ExitCode::SUCCESS)
}
