//! The AI clients a person already has (Claude Desktop, Claude Code, Cursor,
//! VS Code, Windsurf, Codex, Gemini CLI, Zed): where each keeps its MCP
//! servers, what those entries mean, importing the remote ones into
//! Gatehouse (secrets into the vault), and connecting a client to Gatehouse
//! and back.
//!
//! One file per concern: `kind.rs` (which clients exist and what each can
//! speak), `locations.rs` (where their files are on each platform),
//! `discovery.rs` (which files an operation covers: Claude Code's
//! projects), `running.rs` (is the client running), `entry.rs` (a client's server
//! entry, read from any format), `formats/` (one file per client format),
//! `document.rs` (a parsed file that can be edited without losing comments
//! or layout), `wrappers.rs` (`mcp-remote`, `supergateway`, `mcp-proxy`
//! command lines), `import.rs` (the pure import plan), `connect.rs` (the
//! rewrite both ways), `backup.rs` (backups and careful writes) and
//! `service.rs` (the engine's methods that tie them to the config and the
//! vault).

mod backup;
mod connect;
mod discovery;
mod document;
mod entry;
mod formats;
mod import;
mod kind;
mod locations;
mod running;
mod service;
mod wrappers;

pub use backup::BackupRecord;
pub use connect::{ConnectPlan, EntryChange, GatewayTarget, RewriteAction, proxy_program, snippet};
pub use discovery::{Discovery, PROJECT_FILE};
pub use document::{ClientDocument, DocumentError};
pub use entry::{ClientEntry, Transport};
pub use import::{
    EntrySource, ImportPlan, ImportSource, PlannedSecret, PlannedServer, SkippedEntry, plan_import,
};
pub use kind::ClientKind;
pub use locations::default_location;
pub use running::is_running;
pub use service::{
    ClientError, ClientReport, ConnectOutcome, ConnectReport, DetectedClient, DisconnectOutcome,
    DisconnectReport, EntryStatus, FileProblem, ImportOutcome, ImportPreview, PlannedServerView,
};
pub use wrappers::{RemoteWrapper, parse_wrapper};
