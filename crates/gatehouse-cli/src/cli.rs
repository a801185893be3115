//! The command line's grammar: every subcommand, argument and help text, as
//! clap definitions and nothing else. What a command does lives in
//! `commands/`; how its result looks lives in `output.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gatehouse_core::clients::ClientKind;
use gatehouse_core::config::{KeyAlgorithm, OAuthGrant};

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Connections to remote MCP servers, with their secrets and OAuth"
)]
pub struct Cli {
    /// Config file (default: the platform config dir).
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory holding the vault (default: the platform data dir).
    #[arg(long, global = true, env = "GATEHOUSE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// List a server's resources (or, with --templates, its resource templates).
    Resources {
        id: String,
        /// The resource templates (URI templates) instead.
        #[arg(long)]
        templates: bool,
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
    /// Serve a server to an AI client over stdio (MCP), in place of mcp-remote.
    Proxy { id: String },
    /// Serve every server to AI clients over HTTP on 127.0.0.1 (the local
    /// gateway), in the foreground until Ctrl-C.
    Serve {
        /// Port to listen on (default: `[gateway] port` in the config, else 47821).
        #[arg(long)]
        port: Option<u16>,
    },
    /// The local HTTP gateway: its address and its client tokens.
    #[command(subcommand)]
    Gateway(GatewayCommand),
    /// The calls AI clients made through `gatehouse proxy` and the gateway:
    /// time, client, server, method and tool, duration, outcome (never
    /// arguments, results or tokens).
    Activity {
        /// Only this server's calls.
        #[arg(long, value_name = "ID")]
        server: Option<String>,
        /// Only this client's calls (its name from `initialize`, or its
        /// gateway token's name).
        #[arg(long, value_name = "NAME")]
        client: Option<String>,
        /// How many of the newest calls to print.
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: usize,
        /// Keep printing calls as they are made (by any process), until
        /// Ctrl-C.
        #[arg(long)]
        follow: bool,
        /// JSON: an array, or with --follow one object per line.
        #[arg(long)]
        json: bool,
    },
    /// Import the MCP servers of the AI clients on this computer: remote
    /// servers become Gatehouse servers, their secrets move to the vault.
    Import {
        /// One client (claude-desktop, claude-code, cursor, vscode,
        /// windsurf, codex, gemini-cli, zed); default: every client found.
        client: Option<ClientKind>,
        /// The client's configuration file, instead of its usual place.
        #[arg(long, requires = "client", value_name = "FILE")]
        path: Option<PathBuf>,
        /// Show what would happen; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// The AI clients on this computer: list them, point them at
    /// Gatehouse, and undo that.
    #[command(subcommand)]
    Clients(ClientsCommand),
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
        /// Seconds the server has to answer (default: the server's
        /// timeout), counted again from each progress report it sends.
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
        timeout: Option<u64>,
    },
}

#[derive(Subcommand)]
pub enum ServersCommand {
    /// Every server with its authentication mode and status.
    List {
        #[arg(long)]
        json: bool,
        /// Show the configuration only; do not connect.
        #[arg(long)]
        offline: bool,
    },
    /// Add a server.
    Add(Box<AddArgs>),
    /// Remove a server.
    Remove { id: String },
}

#[derive(Args)]
pub struct AddArgs {
    pub id: String,
    pub url: String,
    /// A header as 'Name: value'; values may use ${SECRET} vault references.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Authorize with OAuth instead of headers.
    #[arg(long, conflicts_with = "headers")]
    pub oauth: bool,
    /// Scope to request (repeatable; OAuth only).
    #[arg(long = "scope", requires = "oauth")]
    pub scopes: Vec<String>,
    /// Loopback port for the OAuth redirect (0 = any free port).
    #[arg(long, requires = "oauth")]
    pub callback_port: Option<u16>,
    /// A pre-registered OAuth client id.
    #[arg(long, requires = "oauth")]
    pub client_id: Option<String>,
    /// The pre-registered client's secret, as a vault reference like '${NAME}'.
    #[arg(long, requires = "client_id")]
    pub client_secret: Option<String>,
    /// How tokens are obtained: authorization_code (a person, in the
    /// browser), client_credentials or jwt_bearer (no person), or
    /// enterprise_managed (the person's ID token from the company identity
    /// provider). Without it the settings, then the authorization server's
    /// metadata decide.
    #[arg(long, requires = "oauth", value_parser = str::parse::<OAuthGrant>)]
    pub grant: Option<OAuthGrant>,
    /// The pre-registered client's PEM private key, as a vault reference
    /// like '${NAME}': it signs its token requests (private_key_jwt).
    #[arg(long, requires = "client_id", conflicts_with = "client_secret")]
    pub client_key: Option<String>,
    /// The private key's algorithm: ES256 (default), ES384, RS256, RS384, RS512.
    #[arg(long, requires = "client_key", value_parser = str::parse::<KeyAlgorithm>)]
    pub client_key_algorithm: Option<KeyAlgorithm>,
    /// The file holding the workload's identity token (a JWT its platform
    /// keeps fresh), exchanged for tokens without a person; with
    /// --idp-issuer, the person's ID token from the identity provider.
    #[arg(long, requires = "client_id", value_name = "PATH")]
    pub assertion_file: Option<std::path::PathBuf>,
    /// The company identity provider's issuer URL (enterprise-managed
    /// authorization): it exchanges the ID token in --assertion-file for an
    /// identity assertion the authorization server redeems.
    #[arg(long, requires_all = ["idp_client_id", "assertion_file"], value_name = "URL")]
    pub idp_issuer: Option<String>,
    /// Gatehouse's client id at the identity provider.
    #[arg(long, requires = "idp_issuer")]
    pub idp_client_id: Option<String>,
    /// Its secret there, as a vault reference like '${NAME}'.
    #[arg(long, requires = "idp_client_id")]
    pub idp_client_secret: Option<String>,
    /// Do not ask for DPoP-bound tokens (RFC 9449), even where the
    /// authorization server supports them.
    #[arg(long, requires = "oauth")]
    pub no_dpop: bool,
    /// Connect and request timeout in seconds.
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Add the server switched off.
    #[arg(long)]
    pub disabled: bool,
    /// Offer clients only the tools matching this glob (repeatable; `*`,
    /// `?`, `[abc]`). Applies to `gatehouse proxy` and the gateway.
    #[arg(long = "allow-tool", value_name = "PATTERN")]
    pub allow_tools: Vec<String>,
    /// Never offer clients the tools matching this glob (repeatable; wins
    /// over --allow-tool), like mcp-remote's --ignore-tool.
    #[arg(long = "deny-tool", value_name = "PATTERN")]
    pub deny_tools: Vec<String>,
}

#[derive(Subcommand)]
pub enum VaultCommand {
    /// Where the vault is and how it is protected.
    Status,
    /// Print the vault's age identity (its private key), to decrypt a
    /// backup with `age -d -i`. Keep it as safe as the vault itself.
    ExportIdentity,
}

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Store a secret; the value is read from stdin (or a hidden prompt).
    Set { name: String },
    /// List the names of stored secrets (never their values).
    List,
    /// Delete a secret.
    Delete { name: String },
}

#[derive(Subcommand)]
pub enum GatewayCommand {
    /// The gateway's port, whether it is running, and each server's URL.
    Status {
        #[arg(long)]
        json: bool,
        /// Report for this port instead of the configured one.
        #[arg(long)]
        port: Option<u16>,
    },
    /// The bearer tokens of the clients that use the gateway.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Make a token for a client and print it (it is shown only this once).
    Add { client: String },
    /// The clients that have a token (never the tokens).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a client's token; its next request is refused.
    Revoke { client: String },
}

#[derive(Subcommand)]
pub enum ClientsCommand {
    /// The clients found, their servers, and which go through Gatehouse.
    List {
        /// Only this client.
        client: Option<ClientKind>,
        /// The client's configuration file, instead of its usual place.
        #[arg(long, requires = "client", value_name = "FILE")]
        path: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Rewrite a client's entries for Gatehouse's servers to go through
    /// Gatehouse (after a backup); other entries and settings are kept.
    Connect {
        client: ClientKind,
        /// The client's configuration file, instead of its usual place.
        #[arg(long, value_name = "FILE")]
        path: Option<PathBuf>,
        /// Show the change as a diff; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Undo `clients connect`: the file as it was (from the backup, or by
    /// putting back the entries Gatehouse rewrote).
    Disconnect {
        client: ClientKind,
        /// The client's configuration file, instead of its usual place.
        #[arg(long, value_name = "FILE")]
        path: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}
