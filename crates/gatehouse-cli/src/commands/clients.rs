//! `gatehouse import` and `gatehouse clients list|connect|disconnect`: the
//! AI clients a person already has, over the core's `clients` module. What
//! is imported, rewritten and restored is decided there, as is where each
//! client's files are; this file picks the clients, adds the working
//! directory's `.mcp.json` (a Claude Code project file), unlocks the vault,
//! and prints the outcome.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use gatehouse_core::Engine;
use gatehouse_core::clients::{
    ClientKind, ClientReport, ConnectOutcome, ConnectReport, DetectedClient, DisconnectOutcome,
    DisconnectReport, Discovery, FileProblem, ImportOutcome, PROJECT_FILE, RewriteAction,
};

use super::with_vault;
use crate::cli::ClientsCommand;
use crate::output;

/// Imports one client's file, or every client found at its usual place.
pub async fn import(
    engine: &Engine,
    client: Option<ClientKind>,
    path: Option<PathBuf>,
    dry_run: bool,
    json: bool,
) -> Result<ExitCode> {
    let mut clients: Vec<(ClientKind, Option<PathBuf>)> = match (client, path) {
        (Some(client), Some(path)) => vec![(client, Some(path))],
        (Some(client), None) => vec![(client, None)],
        (None, _) => ClientKind::ALL.into_iter().map(|c| (c, None)).collect(),
    };
    if let Some(project) = working_project_file()
        && clients.contains(&(ClientKind::ClaudeCode, None))
    {
        clients.push((ClientKind::ClaudeCode, Some(project)));
    }
    unlock(engine).await?;
    let outcome = engine.import_clients(clients, dry_run).await?;
    if json {
        output::json(&outcome)?;
    } else {
        print_import(&outcome)?;
    }
    // A file that is there but could not be read (it does not parse) is a
    // failure, reported after the others were imported; a project folder
    // that is gone is not (deleted projects stay in ~/.claude.json).
    let unread = |c: &ClientReport| c.problem.is_some() && c.path.exists();
    Ok(if outcome.clients.iter().any(unread) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn run(engine: &Engine, command: ClientsCommand) -> Result<ExitCode> {
    match command {
        ClientsCommand::List { client, path, json } => {
            let discovery = Discovery {
                paths: client.zip(path).into_iter().collect(),
                working_dir: working_dir(),
            };
            let detected = engine.detect_clients(discovery, client).await;
            if json {
                output::json(&detected)?;
                return Ok(ExitCode::SUCCESS);
            }
            for found in &detected {
                print_detected(found)?;
            }
        }
        ClientsCommand::Connect {
            client,
            path: None,
            dry_run,
            json,
        } => {
            if client.speaks_http() && !dry_run {
                unlock(engine).await?;
            }
            let discovery = Discovery {
                working_dir: working_dir(),
                ..Discovery::default()
            };
            let command = gatehouse_core::clients::proxy_program();
            let report = engine
                .connect_client_files(client, discovery, dry_run, command)
                .await?;
            if json {
                output::json(&report)?;
            } else {
                print_connect_report(engine, &report)?;
            }
            return Ok(problems_exit(&report.problems));
        }
        ClientsCommand::Disconnect {
            client,
            path: None,
            json,
        } => {
            if client.speaks_http() {
                unlock(engine).await?;
            }
            let report = engine.disconnect_client_files(client).await?;
            if json {
                output::json(&report)?;
            } else {
                print_disconnect_report(&report)?;
            }
            return Ok(problems_exit(&report.problems));
        }
        ClientsCommand::Connect {
            client,
            path: path @ Some(_),
            dry_run,
            json,
        } => {
            if client.speaks_http() && !dry_run {
                unlock(engine).await?;
            }
            let command = gatehouse_core::clients::proxy_program();
            let outcome = engine
                .connect_client(client, path, dry_run, command)
                .await?;
            if json {
                output::json(&outcome)?;
            } else {
                print_connect(engine, &outcome)?;
            }
        }
        ClientsCommand::Disconnect {
            client,
            path: path @ Some(_),
            json,
        } => {
            if client.speaks_http() {
                unlock(engine).await?;
            }
            let outcome = engine.disconnect_client(client, path).await?;
            if json {
                output::json(&outcome)?;
            } else {
                print_disconnect(&outcome)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The working directory: its `.mcp.json`, when it has one, is one more
/// Claude Code project file.
fn working_dir() -> Option<PathBuf> {
    std::env::current_dir().ok()
}

/// The working directory's `.mcp.json`, if there is one.
fn working_project_file() -> Option<PathBuf> {
    working_dir()
        .map(|dir| dir.join(PROJECT_FILE))
        .filter(|file| file.is_file())
}

/// Success, or failure when some file was left unchanged (each was
/// printed).
fn problems_exit(problems: &[FileProblem]) -> ExitCode {
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_problems(problems: &[FileProblem]) {
    for problem in problems {
        eprintln!(
            "{}: not changed: {}",
            problem.path.display(),
            problem.message
        );
    }
}

fn print_detected(found: &DetectedClient) -> std::io::Result<()> {
    let path = found
        .path
        .as_ref()
        .map_or_else(|| "(no known location)".into(), |p| p.display().to_string());
    let mut state = vec![if found.found { "found" } else { "not found" }];
    if found.project.is_some() {
        state.push("project");
    }
    if found.connected {
        state.push("connected");
    }
    if found.running == Some(true) {
        state.push("running");
    }
    output::line(format_args!(
        "{}\t{}\t{path}\t{}",
        found.client,
        found.display_name,
        state.join(", ")
    ))?;
    if let Some(problem) = &found.problem {
        output::line(format_args!("  ! {problem}"))?;
    }
    for entry in &found.entries {
        let through = match (entry.kind, &entry.server) {
            ("gatehouse", Some(id)) => format!("through Gatehouse ({id})"),
            ("gatehouse", None) => "through Gatehouse".to_owned(),
            ("remote", Some(id)) => {
                format!(
                    "direct; Gatehouse has it as {id} (`gatehouse clients connect {}`)",
                    found.client
                )
            }
            ("remote", None) => format!(
                "direct, not in Gatehouse (`gatehouse import {}`)",
                found.client
            ),
            ("local", _) => "a local program".to_owned(),
            _ => "not understood".to_owned(),
        };
        output::line(format_args!("  {}\t{through}", entry.name))?;
    }
    Ok(())
}

/// Unlocks the vault now (asking for its passphrase if it has one), so
/// the work that follows does not fail half-way on a locked vault.
async fn unlock(engine: &Engine) -> Result<()> {
    with_vault(engine, async |engine| engine.secret_names().await.map(drop)).await
}

fn print_import(outcome: &ImportOutcome) -> std::io::Result<()> {
    let would = if outcome.dry_run { "would " } else { "" };
    for report in &outcome.clients {
        match &report.problem {
            Some(problem) => output::line(format_args!(
                "{}\t{}\tnot read: {problem}",
                report.client,
                report.path.display()
            ))?,
            None => output::line(format_args!(
                "{}\t{}\t{} entries",
                report.client,
                report.path.display(),
                report.entries
            ))?,
        }
    }
    if outcome.clients.is_empty() {
        output::line("no client configuration found")?;
    }
    let plan = &outcome.plan;
    for planned in &plan.servers {
        let from: Vec<String> = planned
            .from
            .iter()
            .map(|source| format!("{} {:?}", source.client, source.entry))
            .collect();
        output::line(format_args!(
            "{would}add {}\t{}\t(from {})",
            planned.server.id,
            planned.server.url,
            from.join(", ")
        ))?;
        for secret in plan
            .secrets
            .iter()
            .filter(|s| s.server == planned.server.id)
        {
            if secret.found {
                output::line(format_args!(
                    "  {would}move the value of {} to the vault as ${{{}}}",
                    secret.field, secret.name
                ))?;
            } else {
                output::line(format_args!(
                    "  {} needs the secret {} (store it with `gatehouse secrets set {}`)",
                    secret.field, secret.name, secret.name
                ))?;
            }
        }
        for note in &planned.notes {
            output::line(format_args!("  note: {note}"))?;
        }
    }
    for skipped in &plan.skipped {
        output::line(format_args!(
            "skip {} {:?}: {}",
            skipped.client, skipped.entry, skipped.reason
        ))?;
    }
    if !outcome.dry_run && !plan.servers.is_empty() {
        output::line("Next: `gatehouse clients connect <client>` points a client at Gatehouse.")?;
    }
    Ok(())
}

fn print_connect_report(engine: &Engine, report: &ConnectReport) -> std::io::Result<()> {
    let several = report.files.len() + report.problems.len() > 1;
    for outcome in &report.files {
        if several && outcome.changes.is_empty() {
            // Nothing in it for Gatehouse: one line says so.
            output::line(format_args!("{} unchanged", outcome.path.display()))?;
            continue;
        }
        if several {
            output::line(format_args!("{}:", outcome.path.display()))?;
        }
        print_connect_file(outcome)?;
    }
    print_problems(&report.problems);
    let written = report.files.iter().find(|o| o.written);
    if let Some(outcome) = written {
        connect_hints(engine, outcome);
    }
    Ok(())
}

fn print_connect(engine: &Engine, outcome: &ConnectOutcome) -> std::io::Result<()> {
    print_connect_file(outcome)?;
    if outcome.written {
        connect_hints(engine, outcome);
    }
    Ok(())
}

/// What a connect did to one file.
fn print_connect_file(outcome: &ConnectOutcome) -> std::io::Result<()> {
    for change in &outcome.changes {
        let what = match change.action {
            RewriteAction::Connect if outcome.dry_run => "would go through Gatehouse",
            RewriteAction::Connect => "now goes through Gatehouse",
            RewriteAction::AlreadyConnected => "goes through Gatehouse already",
            RewriteAction::NotImported => "not in Gatehouse: left alone (`gatehouse import` first)",
            RewriteAction::Local => "a local program: left alone",
            RewriteAction::Unknown => "not understood: left alone",
        };
        output::line(format_args!("{}\t{what}", change.entry))?;
    }
    if outcome.dry_run {
        if !outcome.diff.is_empty() {
            output::line(&outcome.diff)?;
        }
        return Ok(());
    }
    if !outcome.written {
        return output::line(format_args!("{} unchanged", outcome.path.display()));
    }
    output::line(format_args!("rewrote {}", outcome.path.display()))?;
    if let Some(backup) = &outcome.backup {
        output::line(format_args!("backup: {}", backup.display()))?;
    }
    Ok(())
}

/// Once per connect: where the client now goes, and whether to restart it.
fn connect_hints(engine: &Engine, outcome: &ConnectOutcome) {
    if outcome.client.speaks_http() {
        let port = engine.current_config().gateway.port();
        eprintln!(
            "{} reaches the gateway on 127.0.0.1:{port}: keep the app or `gatehouse serve` running.",
            outcome.client.display_name()
        );
    }
    restart_hint(outcome.client, outcome.running);
}

fn print_disconnect_report(report: &DisconnectReport) -> std::io::Result<()> {
    for outcome in &report.files {
        print_disconnect_file(outcome)?;
    }
    print_problems(&report.problems);
    if let Some(outcome) = report.files.first() {
        restart_hint(outcome.client, outcome.running);
    }
    Ok(())
}

fn print_disconnect(outcome: &DisconnectOutcome) -> std::io::Result<()> {
    print_disconnect_file(outcome)?;
    restart_hint(outcome.client, outcome.running);
    Ok(())
}

/// What a disconnect did to one file.
fn print_disconnect_file(outcome: &DisconnectOutcome) -> std::io::Result<()> {
    let how = if outcome.restored_from == "backup" {
        "restored from the backup, byte for byte"
    } else {
        "Gatehouse's entries put back as they were (the file had changed since)"
    };
    output::line(format_args!("{}: {how}", outcome.path.display()))?;
    if outcome.token_revoked {
        output::line(format_args!("revoked {}'s gateway token", outcome.client))?;
    }
    Ok(())
}

fn restart_hint(client: ClientKind, running: Option<bool>) {
    let name = client.display_name();
    match running {
        Some(true) => eprintln!("{name} is running: restart it to use the new settings."),
        Some(false) => {}
        None => eprintln!("If {name} is running, restart it to use the new settings."),
    }
}
