//! `gatehouse servers list|add|remove`: the config's servers, read and
//! edited through the engine (which validates every change).

use std::process::ExitCode;

use anyhow::{Result, bail};
use gatehouse_core::Engine;
use gatehouse_core::api::{HeaderRow, headers_from_rows, literal_secret_warnings};
use gatehouse_core::config::{OAuthConfig, ServerConfig};

use super::with_vault;
use crate::cli::{AddArgs, ServersCommand};
use crate::output;

pub async fn run(engine: &Engine, command: ServersCommand) -> Result<ExitCode> {
    match command {
        ServersCommand::List { json, offline } => {
            if !offline {
                with_vault(engine, async |engine| {
                    engine.start();
                    Ok(())
                })
                .await?;
                engine.wait_settled().await;
            }
            output::servers(&engine.servers().await, json, offline)?;
        }
        ServersCommand::Add(args) => {
            let server = server_from_args(*args)?;
            for warning in literal_secret_warnings(&server.headers) {
                let name = warning
                    .field
                    .strip_prefix("headers.")
                    .unwrap_or(&warning.field);
                eprintln!(
                    "warning: header {name:?} {} (`gatehouse secrets set NAME`)",
                    warning.message
                );
            }
            let id = server.id.clone();
            engine.add_server(server).await?;
            output::line(format_args!("added {id}"))?;
        }
        ServersCommand::Remove { id } => {
            engine.remove_server(&id).await?;
            output::line(format_args!("removed {id}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn server_from_args(args: AddArgs) -> Result<ServerConfig> {
    let mut server = ServerConfig::new(args.id, args.url);
    server.enabled = !args.disabled;
    server.timeout = args.timeout;
    let mut rows = Vec::new();
    for header in &args.headers {
        let Some(row) = HeaderRow::parse(header) else {
            // Not echoed: it may well be a secret.
            bail!("--header must look like 'Name: value' (this one has no colon)");
        };
        rows.push(row);
    }
    let (headers, issues) = headers_from_rows(&rows);
    if let Some(issue) = issues.first() {
        // The field names the header (or its position), never its value.
        let which = issue.field.strip_prefix("headers.").unwrap_or(&issue.field);
        bail!("--header {which:?}: {}", issue.message);
    }
    server.headers = headers;
    server.tools.allow = args.allow_tools;
    server.tools.deny = args.deny_tools;
    if args.oauth {
        server.oauth = Some(OAuthConfig {
            scopes: args.scopes,
            callback_port: args.callback_port.unwrap_or(0),
            client_id: args.client_id,
            client_secret: args.client_secret,
            grant: args.grant,
            client_key: args.client_key,
            client_key_algorithm: args.client_key_algorithm,
            // A relative path is taken from where the command runs.
            assertion_file: args
                .assertion_file
                .map(|path| std::path::absolute(&path).unwrap_or(path))
                .map(|path| path.to_string_lossy().into_owned()),
            idp_issuer: args.idp_issuer,
            idp_client_id: args.idp_client_id,
            idp_client_secret: args.idp_client_secret,
            dpop: !args.no_dpop,
            ..OAuthConfig::default()
        });
    }
    Ok(server)
}
