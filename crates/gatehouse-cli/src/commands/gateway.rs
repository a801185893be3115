//! `gatehouse serve` and `gatehouse gateway status|token`: the local HTTP
//! gateway in the foreground, where it is, and the bearer tokens of the
//! clients that use it. The gateway itself is the core's
//! (`gateway::http`); tokens are printed once, when made, and never again.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use gatehouse_core::Engine;
use gatehouse_core::gateway::http::{self, GatewayOptions};
use secrecy::ExposeSecret as _;

use super::with_vault;
use crate::cli::{GatewayCommand, TokenCommand};
use crate::output;

/// How often `serve` looks for changes to the config file.
const CONFIG_POLL: Duration = Duration::from_secs(2);

/// Serves the gateway until Ctrl-C (or SIGTERM).
pub async fn serve(engine: &Engine, port: Option<u16>) -> Result<ExitCode> {
    // Unlock the vault now, not at the first client's request.
    let tokens = with_vault(engine, async |engine| engine.gateway_token_list().await).await?;
    engine.set_connect_on_change(true);
    engine.follow_config_file(CONFIG_POLL);
    let handle = http::serve(engine.clone(), GatewayOptions::from_config(engine, port)).await?;
    output::line(format_args!(
        "Gatehouse gateway on http://127.0.0.1:{} (Ctrl-C stops it)",
        handle.port()
    ))?;
    for server in engine.servers().await {
        output::line(format_args!(
            "  {}\t{}",
            server.id,
            handle.server_url(&server.id)
        ))?;
    }
    if tokens.is_empty() {
        eprintln!(
            "No client has a token yet: make one with `gatehouse gateway token add <client>`."
        );
    }
    stopped().await;
    handle.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM where there is one.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

pub async fn run(engine: &Engine, command: GatewayCommand) -> Result<ExitCode> {
    match command {
        GatewayCommand::Status { json, port } => {
            let port = GatewayOptions::from_config(engine, port).port;
            let status = http::status(engine, port).await;
            if json {
                output::json(&status)?;
            } else {
                let state = if status.listening {
                    "running"
                } else {
                    "not running (start it with `gatehouse serve` or the app)"
                };
                output::line(format_args!("port\t{}\t{state}", status.port))?;
                for server in &status.servers {
                    let off = if server.enabled {
                        ""
                    } else {
                        "\t(switched off)"
                    };
                    output::line(format_args!("{}\t{}{off}", server.id, server.url))?;
                }
            }
        }
        GatewayCommand::Token(TokenCommand::Add { client }) => {
            gatehouse_core::gateway::tokens::check_client_name(&client)?;
            let token = with_vault(engine, async |engine| {
                engine.gateway_token_add(&client).await
            })
            .await?;
            output::line(token.expose_secret())?;
            eprintln!(
                "This is the only time this token is shown. Give it to {client} as the header `Authorization: Bearer <token>`."
            );
        }
        GatewayCommand::Token(TokenCommand::List { json }) => {
            let tokens =
                with_vault(engine, async |engine| engine.gateway_token_list().await).await?;
            if json {
                output::json(&tokens)?;
            } else {
                for token in &tokens {
                    output::line(&token.name)?;
                }
            }
        }
        GatewayCommand::Token(TokenCommand::Revoke { client }) => {
            with_vault(engine, async |engine| {
                engine.gateway_token_revoke(&client).await
            })
            .await?;
            output::line(format_args!("revoked {client}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
