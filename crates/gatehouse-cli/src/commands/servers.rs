//! `gatehouse servers list|add|remove`: the config's servers, read and
//! edited through the engine (which validates every change).

use std::process::ExitCode;

use anyhow::{Result, bail};
use gatehouse_core::Engine;
use gatehouse_core::config::{OAuthConfig, ServerConfig, looks_like_literal_secret};

use super::with_vault;
use crate::cli::{AddArgs, ServersCommand};
use crate::output;

pub async fn run(engine: &Engine, command: ServersCommand) -> Result<ExitCode> {
    match command {
        ServersCommand::List { json, offline } => {
            if !offline {
                with_vault(engine, |engine| {
                    engine.start();
                    Ok(())
                })?;
                engine.wait_settled().await;
            }
            output::servers(&engine.servers(), json, offline)?;
        }
        ServersCommand::Add(args) => {
            let server = server_from_args(args)?;
            for (name, value) in &server.headers {
                if looks_like_literal_secret(name, value) {
                    eprintln!(
                        "warning: header {name:?} looks like it holds a secret in plain text; store it with `gatehouse secrets set NAME` and write ${{NAME}} instead"
                    );
                }
            }
            let id = server.id.clone();
            engine.add_server(server)?;
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
    for header in args.headers {
        let Some((name, value)) = header.split_once(':') else {
            // Not echoed: it may well be a secret.
            bail!("--header must look like 'Name: value' (this one has no colon)");
        };
        let name = name.trim();
        if server.headers.keys().any(|n| n.eq_ignore_ascii_case(name)) {
            bail!("--header {name:?} is given twice");
        }
        server
            .headers
            .insert(name.to_owned(), value.trim_start().to_owned());
    }
    if args.oauth {
        server.oauth = Some(OAuthConfig {
            scopes: args.scopes,
            callback_port: args.callback_port.unwrap_or(0),
            client_id: args.client_id,
            client_secret: args.client_secret,
            ..OAuthConfig::default()
        });
    }
    Ok(server)
}
