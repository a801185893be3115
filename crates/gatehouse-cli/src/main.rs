//! `gatehouse`: the headless front end over the Gatehouse engine, for
//! servers, SSH sessions and scripts. Every command maps onto one call of the
//! core API the desktop app uses; this file only parses arguments, reads
//! secrets from stdin or a hidden prompt, and prints.

mod consent;
mod diagnostics;
mod input;

use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use gatehouse_core::config::{OAuthConfig, ServerConfig, looks_like_literal_secret};
use gatehouse_core::events::ServerStatus;
use gatehouse_core::mcp::{CallToolResult, ContentBlock};
use gatehouse_core::paths::Paths;
use gatehouse_core::vault::{Protection, Vault, VaultError, VaultStatus};
use gatehouse_core::{Engine, Error, ServerView};
use secrecy::SecretString;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Connections to remote MCP servers, with their secrets and OAuth"
)]
struct Cli {
    /// Config file (default: the platform config dir).
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory holding the vault (default: the platform data dir).
    #[arg(long, global = true, env = "GATEHOUSE_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List, add and remove servers.
    #[command(subcommand)]
    Servers(ServersCommand),
    /// Store, list and delete vault secrets.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Show the vault's state, or export its key for backups.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// List a server's tools.
    Tools {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List a server's resources.
    Resources {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List a server's prompts.
    Prompts {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Authorize an OAuth server in the browser.
    Auth {
        id: String,
        /// Only print the authorization URL; do not open a browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Sign out of an OAuth server: revoke and forget its tokens.
    Logout { id: String },
    /// Print a report to attach to a bug report: versions, platform, each
    /// server's status, recent log lines (never a secret).
    Diagnostics,
    /// Call a tool and print its result.
    Call {
        id: String,
        tool: String,
        /// Arguments as a JSON object, e.g. '{"text": "hi"}'.
        arguments: Option<String>,
        /// Print the whole result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ServersCommand {
    /// Every server with its authentication mode and status.
    List {
        #[arg(long)]
        json: bool,
        /// Show the configuration only; do not connect.
        #[arg(long)]
        offline: bool,
    },
    /// Add a server.
    Add(AddArgs),
    /// Remove a server.
    Remove { id: String },
}

#[derive(Args)]
struct AddArgs {
    id: String,
    url: String,
    /// A header as 'Name: value'; values may use ${SECRET} vault references.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Authorize with OAuth instead of headers.
    #[arg(long, conflicts_with = "headers")]
    oauth: bool,
    /// Scope to request (repeatable; OAuth only).
    #[arg(long = "scope", requires = "oauth")]
    scopes: Vec<String>,
    /// Loopback port for the OAuth redirect (0 = any free port).
    #[arg(long, requires = "oauth")]
    callback_port: Option<u16>,
    /// A pre-registered OAuth client id.
    #[arg(long, requires = "oauth")]
    client_id: Option<String>,
    /// The pre-registered client's secret, as a vault reference like '${NAME}'.
    #[arg(long, requires = "client_id")]
    client_secret: Option<String>,
    /// Connect and request timeout in seconds.
    #[arg(long)]
    timeout: Option<u64>,
    /// Add the server switched off.
    #[arg(long)]
    disabled: bool,
}

#[derive(Subcommand)]
enum VaultCommand {
    /// Where the vault is and how it is protected.
    Status,
    /// Print the vault's age identity (its private key), to decrypt a
    /// backup with `age -d -i`. Keep it as safe as the vault itself.
    ExportIdentity,
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Store a secret; the value is read from stdin (or a hidden prompt).
    Set { name: String },
    /// List the names of stored secrets (never their values).
    List,
    /// Delete a secret.
    Delete { name: String },
}

fn main() -> ExitCode {
    // SAFETY: first thing in main, before any thread exists. The browser
    // this program may open must not inherit the passphrase.
    let passphrase = unsafe { gatehouse_core::vault::take_passphrase_from_env() };
    restore_sigpipe();
    let cli = Cli::parse();
    diagnostics::init_logging(cli.data_dir.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    match runtime.block_on(run(cli, passphrase)) {
        Ok(code) => code,
        Err(message) => {
            // Errors may quote a server: nothing in them drives the terminal.
            for line in message.lines() {
                eprintln!("error: {}", terminal_safe(line));
            }
            ExitCode::FAILURE
        }
    }
}

/// Output piped into `head` and the like: end quietly when the reader
/// goes away, as command-line tools do, instead of panicking on EPIPE
/// (Rust ignores SIGPIPE by default).
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists;
    // restores the default disposition of a signal.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

async fn run(cli: Cli, passphrase: Option<SecretString>) -> Result<ExitCode, String> {
    let paths = Paths::resolve(cli.config, cli.data_dir).map_err(|e| e.to_string())?;
    let vault = Vault::with_os_keyring(paths.vault_file(), passphrase);
    // Secrets and the vault do not depend on the config: a broken config
    // file must not lock the person out of them.
    let engine = if matches!(
        cli.command,
        Command::Secrets(_) | Command::Vault(_) | Command::Diagnostics
    ) {
        Engine::tolerant_with_vault(paths, vault)
    } else {
        Engine::with_vault(paths, vault).map_err(|e| e.to_string())?
    };
    engine.set_connect_on_change(false);
    let result = dispatch(&engine, cli.command).await;
    engine.shutdown().await;
    result
}

async fn dispatch(engine: &Engine, command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Servers(ServersCommand::List { json, offline }) => {
            if !offline {
                with_vault(engine, |engine| {
                    engine.start();
                    Ok(())
                })?;
                engine.wait_settled().await;
            }
            print_servers(&engine.servers(), json, offline);
        }
        Command::Servers(ServersCommand::Add(args)) => {
            let server = server_from_args(args)?;
            for (name, value) in &server.headers {
                if looks_like_literal_secret(name, value) {
                    eprintln!(
                        "warning: header {name:?} looks like it holds a secret in plain text; store it with `gatehouse secrets set NAME` and write ${{NAME}} instead"
                    );
                }
            }
            let id = server.id.clone();
            engine.add_server(server).map_err(describe)?;
            println!("added {id}");
        }
        Command::Servers(ServersCommand::Remove { id }) => {
            engine.remove_server(&id).await.map_err(describe)?;
            println!("removed {id}");
        }
        Command::Auth { id, no_browser } => {
            let sink = Arc::new(consent::TerminalConsent {
                open_browser: !no_browser,
            });
            let server = engine.server_config(&id).map_err(describe)?;
            let storage = server.oauth_settings().map(|o| o.token_storage);
            if storage == Some(gatehouse_core::config::TokenStorage::Vault) {
                // Tokens and the client registration will go into the vault:
                // settle its key (or ask for a passphrase) before the browser.
                with_vault(engine, |engine| Ok(engine.vault().ensure_writable()?))?;
            }
            engine.set_consent_sink(sink.clone());
            let ticket = engine
                .start_authorization(&id, sink)
                .await
                .map_err(describe)?;
            consent::read_pasted_urls(engine.clone(), id.clone());
            let status = engine
                .finish_authorization(&id, ticket)
                .await
                .map_err(describe)?;
            eprintln!("Authorized {id}.");
            println!("{id}: {}", status_text(&status));
            if !matches!(status, ServerStatus::Connected { .. }) {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Logout { id } => {
            let warning = engine.sign_out(&id).await.map_err(describe)?;
            if let Some(warning) = warning {
                eprintln!("warning: {warning}");
            }
            println!("signed out of {id}");
        }
        Command::Secrets(SecretsCommand::Set { name }) => {
            gatehouse_core::template::validate_secret_name(&name).map_err(|e| e.to_string())?;
            let value = input::read_secret(&format!("Value for {name}: "))?;
            with_vault(engine, |engine| engine.set_secret(&name, &value))?;
            println!("stored {name}");
        }
        Command::Secrets(SecretsCommand::List) => {
            for name in with_vault(engine, |engine| engine.secret_names())? {
                println!("{name}");
            }
        }
        Command::Secrets(SecretsCommand::Delete { name }) => {
            with_vault(engine, |engine| engine.delete_secret(&name))?;
            println!("deleted {name}");
        }
        Command::Vault(VaultCommand::Status) => {
            let status = engine.vault_status();
            println!("{}", engine.paths().vault_file().display());
            println!(
                "{}",
                match status {
                    VaultStatus::NotCreated =>
                        "not created yet (storing the first secret creates it)".to_owned(),
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
                }
            );
        }
        Command::Vault(VaultCommand::ExportIdentity) => {
            let identity = with_vault(engine, |engine| Ok(engine.vault().export_identity()?))?;
            eprintln!("This key decrypts the vault. Store it somewhere safe and private.");
            println!("{}", secrecy::ExposeSecret::expose_secret(&identity));
        }
        Command::Tools { id, json } => {
            connect_one(engine, &id)?;
            let tools = engine
                .connections()
                .list_tools(&id)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                print_json(&tools);
            } else {
                for tool in tools {
                    let description = tool
                        .description
                        .as_deref()
                        .unwrap_or("")
                        .lines()
                        .next()
                        .unwrap_or("");
                    println!("{}\t{}", column(&tool.name), column(description));
                }
            }
        }
        Command::Resources { id, json } => {
            connect_one(engine, &id)?;
            let resources = engine
                .connections()
                .list_resources(&id)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                print_json(&resources);
            } else {
                for resource in resources {
                    println!("{}\t{}", column(&resource.uri), column(&resource.name));
                }
            }
        }
        Command::Prompts { id, json } => {
            connect_one(engine, &id)?;
            let prompts = engine
                .connections()
                .list_prompts(&id)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                print_json(&prompts);
            } else {
                for prompt in prompts {
                    let description = prompt.description.as_deref().unwrap_or("");
                    println!(
                        "{}\t{}",
                        column(&prompt.name),
                        column(description.lines().next().unwrap_or(""))
                    );
                }
            }
        }
        Command::Diagnostics => diagnostics::print(engine).await,
        Command::Call {
            id,
            tool,
            arguments,
            json,
        } => {
            let arguments = match arguments {
                None => None,
                Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(serde_json::Value::Object(map)) => Some(map),
                    Ok(_) => {
                        return Err(
                            "the arguments must be a JSON object, e.g. '{\"text\": \"hi\"}'".into(),
                        );
                    }
                    Err(e) => return Err(format!("the arguments are not valid JSON: {e}")),
                },
            };
            connect_one(engine, &id)?;
            let result = engine
                .connections()
                .call_tool(&id, &tool, arguments)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                print_json(&result);
            } else {
                print_tool_result(&result);
            }
            if result.is_error == Some(true) {
                return Err(format!("tool {tool:?} reported an error"));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts one server's connection, unlocking the vault first if needed.
fn connect_one(engine: &Engine, id: &str) -> Result<(), String> {
    with_vault(engine, |engine| engine.start_only(&[id]))
}

/// Runs `f`; when the vault needs a passphrase (or a new vault has no
/// keyring to use), asks for one on the terminal and tries again.
fn with_vault<T>(engine: &Engine, f: impl Fn(&Engine) -> Result<T, Error>) -> Result<T, String> {
    // Make sure a locked vault is noticed before connecting servers that
    // would otherwise each report it.
    let status = engine.vault_status();
    if matches!(status, gatehouse_core::vault::VaultStatus::NeedsPassphrase) {
        unlock(engine, false)?;
    }
    match f(engine) {
        Err(Error::Vault(VaultError::PassphraseRequired)) => {
            unlock(engine, false)?;
            f(engine).map_err(describe)
        }
        Err(Error::Vault(VaultError::NoKeyring { detail })) => {
            eprintln!("No OS keyring is reachable ({detail}).");
            unlock(engine, true)?;
            f(engine).map_err(describe)
        }
        other => other.map_err(describe),
    }
}

fn unlock(engine: &Engine, new: bool) -> Result<(), String> {
    let passphrase = input::prompt_passphrase(new)?;
    engine.use_passphrase(passphrase).map_err(describe)
}

fn describe(error: Error) -> String {
    error.to_string()
}

fn server_from_args(args: AddArgs) -> Result<ServerConfig, String> {
    let mut server = ServerConfig::new(args.id, args.url);
    server.enabled = !args.disabled;
    server.timeout = args.timeout;
    for header in args.headers {
        let Some((name, value)) = header.split_once(':') else {
            // Not echoed: it may well be a secret.
            return Err("--header must look like 'Name: value' (this one has no colon)".into());
        };
        let name = name.trim();
        if server.headers.keys().any(|n| n.eq_ignore_ascii_case(name)) {
            return Err(format!("--header {name:?} is given twice"));
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

fn print_servers(servers: &[ServerView], json: bool, offline: bool) {
    if json && offline {
        // Nothing was connected: there is no status to report.
        let mut listed = serde_json::to_value(servers).unwrap_or_default();
        if let Some(list) = listed.as_array_mut() {
            for server in list.iter_mut().filter_map(|s| s.as_object_mut()) {
                server.insert("status".into(), serde_json::Value::Null);
            }
        }
        print_json(&listed);
        return;
    }
    if json {
        print_json(&servers);
        return;
    }
    if servers.is_empty() {
        println!("no servers configured; add one with `gatehouse servers add <id> <url>`");
        return;
    }
    let width = servers.iter().map(|s| s.id.len()).max().unwrap_or(2).max(2);
    for server in servers {
        let status = if offline {
            if server.enabled {
                "enabled".to_owned()
            } else {
                "disabled".to_owned()
            }
        } else {
            status_text(&server.status)
        };
        let grant = server.oauth.as_ref().map(grant_text).unwrap_or_default();
        println!(
            "{:width$}  {:7}  {}  {}{grant}",
            server.id,
            server.auth_mode.to_string(),
            server.url,
            status
        );
    }
}

/// Token facts for `servers list`: expiry and granted scopes, never a token.
fn grant_text(oauth: &gatehouse_core::api::OAuthView) -> String {
    let mut parts = Vec::new();
    if let Some(expires_at) = oauth.expires_at {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        parts.push(if expires_at > now {
            format!("token expires in {}", human_duration(expires_at - now))
        } else {
            "token expired".to_owned()
        });
    }
    if !oauth.scopes.is_empty() {
        parts.push(format!("scopes: {}", oauth.scopes.join(" ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" [{}]", parts.join("; "))
    }
}

fn human_duration(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        _ => format!("{} h", secs / 3600),
    }
}

/// A status in words, safe to print (server names and messages come from
/// the server).
fn status_text(status: &ServerStatus) -> String {
    column(&status_words(status))
}

fn status_words(status: &ServerStatus) -> String {
    match status {
        ServerStatus::Connected {
            server_name,
            server_version,
            tool_count,
        } => format!("connected ({server_name} {server_version}, {tool_count} tools)"),
        ServerStatus::Error { message, .. } => format!("error: {message}"),
        ServerStatus::NeedsAuthorization { reason } => format!("needs authorization: {reason}"),
        other => other.label().replace('_', " "),
    }
}

/// Text from a server, fit for a terminal: control characters other than
/// newlines and tabs (escape sequences that could move the cursor, retitle
/// the window or hide text) are shown as `\u{..}` instead of obeyed.
fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    // Controls, and the invisible characters that reorder or hide text
    // (bidirectional overrides, zero-width characters).
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t') || gatehouse_core::text::is_invisible(c)
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One column of a tab-separated listing: one line, no tabs, no control
/// characters from the server.
fn column(text: &str) -> String {
    terminal_safe(text).replace(['\t', '\n'], " ")
}

/// A content block for a terminal: base64 payloads (images, audio, blobs)
/// are summarized by size instead of printed.
fn summarized(content: &ContentBlock) -> serde_json::Value {
    let mut value = serde_json::to_value(content).unwrap_or_default();
    fn shorten(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map.iter_mut() {
                    match inner {
                        serde_json::Value::String(data)
                            if (key == "data" || key == "blob") && data.len() > 80 =>
                        {
                            *inner = format!("({} bytes of base64)", data.len()).into();
                        }
                        other => shorten(other),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(shorten),
            _ => {}
        }
    }
    shorten(&mut value);
    value
}

fn print_json<T: serde::Serialize + ?Sized>(value: &T) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, value);
    let _ = writeln!(out);
}

fn print_tool_result(result: &CallToolResult) {
    let terminal = std::io::stdout().is_terminal();
    for content in &result.content {
        match content {
            ContentBlock::Text(text) if terminal => println!("{}", terminal_safe(&text.text)),
            ContentBlock::Text(text) => println!("{}", text.text),
            other if terminal => print_json(&summarized(other)),
            other => print_json(other),
        }
    }
    if result.content.is_empty()
        && let Some(structured) = &result.structured_content
    {
        print_json(structured);
    }
}

#[cfg(test)]
mod output_tests {
    use super::*;

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let hostile = "ok\u{1b}]0;pwned\u{7}\u{1b}[2J\tdone\nnext";
        let safe = terminal_safe(hostile);
        assert_eq!(terminal_safe("a\u{202E}b"), "a\\u{202e}b");
        assert!(
            !safe.contains('\u{1b}') && !safe.contains('\u{7}'),
            "{safe}"
        );
        assert!(safe.contains("\tdone\nnext"), "{safe}");
        assert_eq!(column("a\tb\nc"), "a b c");
        assert_eq!(terminal_safe("plain"), "plain");
    }

    #[test]
    fn base64_payloads_are_summarized_for_a_terminal() {
        let image: ContentBlock = serde_json::from_value(serde_json::json!({
            "type": "image", "mimeType": "image/png", "data": "A".repeat(4000),
        }))
        .unwrap();
        let shown = summarized(&image).to_string();
        assert!(shown.contains("(4000 bytes of base64)"), "{shown}");
        assert!(shown.contains("image/png"), "{shown}");
    }
}
