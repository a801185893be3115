//! The engine's client methods: read the clients' files, import into the
//! config and the vault, connect and disconnect with backups. The rules are
//! in the pure modules beside this one; here they meet the disk, the config
//! and the vault. File and vault work runs on Tokio's blocking pool, as the
//! rest of the engine's API does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use serde::Serialize;

use super::backup::{self, BackupRecord};
use super::connect::{self, EntryChange, GatewayTarget};
use super::discovery::{self, ClientFile, Discovery, discover};
use super::document::{ClientDocument, DocumentError};
use super::import::{self, ImportPlan, ImportSource, Reach};
use super::{ClientKind, default_location, is_running};
use crate::gateway::tokens::TokenError;
use crate::{Engine, ErrorCode};
use ts_rs::TS;

/// A client operation failed. Messages name the client and the file, never
/// a value from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("no location is known for {client}'s configuration here; give it with --path")]
    NoLocation { client: ClientKind },
    #[error("{client}'s configuration {} does not exist", path.display())]
    Missing { client: ClientKind, path: PathBuf },
    #[error("cannot read or write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not valid {client} configuration ({source}); it was not changed", path.display())]
    Parse {
        client: ClientKind,
        path: PathBuf,
        #[source]
        source: DocumentError,
    },
    #[error("{client} is not connected to Gatehouse through {} (no backup record)", path.display())]
    NotConnected { client: ClientKind, path: PathBuf },
    #[error(transparent)]
    Engine(#[from] crate::Error),
}

impl ClientError {
    /// A stable machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NoLocation { .. } | Self::Missing { .. } => ErrorCode::ClientConfigMissing,
            Self::Io { .. } => ErrorCode::ClientConfigIo,
            Self::Parse { .. } => ErrorCode::ClientConfigInvalid,
            Self::NotConnected { .. } => ErrorCode::ClientNotConnected,
            Self::Engine(error) => error.code(),
        }
    }
}

impl From<TokenError> for ClientError {
    fn from(error: TokenError) -> Self {
        Self::Engine(error.into())
    }
}

/// One client as found on this computer.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DetectedClient {
    pub client: ClientKind,
    #[ts(type = "string")]
    pub display_name: &'static str,
    #[ts(type = "string | null")]
    pub path: Option<PathBuf>,
    /// The project folder, for a Claude Code project's `.mcp.json`.
    #[ts(type = "string | null")]
    pub project: Option<PathBuf>,
    /// Its file exists.
    pub found: bool,
    /// Why its file could not be read.
    pub problem: Option<String>,
    /// Running now (`None`: this platform cannot tell).
    pub running: Option<bool>,
    /// Gatehouse rewrote this file and can undo it.
    pub connected: bool,
    pub entries: Vec<EntryStatus>,
}

/// One entry of a client, as `clients list` shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EntryStatus {
    pub name: String,
    /// `gatehouse`, `remote`, `local` or `unknown`.
    #[ts(type = "\"gatehouse\" | \"remote\" | \"local\" | \"unknown\"")]
    pub kind: &'static str,
    /// The Gatehouse server it goes (or could go) through.
    pub server: Option<String>,
    /// The URL of a remote entry.
    pub url: Option<String>,
}

/// One client's file in an import: read, or why not.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClientReport {
    pub client: ClientKind,
    #[ts(type = "string")]
    pub path: PathBuf,
    pub entries: usize,
    pub problem: Option<String>,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOutcome {
    pub dry_run: bool,
    pub clients: Vec<ClientReport>,
    #[serde(flatten)]
    pub plan: ImportPlan,
}

/// An import as the window shows it: the servers with their address, how
/// they authenticate and the header names (values are `${NAME}`
/// references or plain text, never a secret), where each came from, the
/// secrets moved or needed, and the entries left alone.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportPreview {
    pub dry_run: bool,
    pub clients: Vec<ClientReport>,
    pub servers: Vec<PlannedServerView>,
    pub secrets: Vec<import::PlannedSecret>,
    pub skipped: Vec<import::SkippedEntry>,
}

/// One server an import adds.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlannedServerView {
    pub id: String,
    pub url: String,
    pub oauth: bool,
    /// `Name: value`, values with `${NAME}` references only.
    pub headers: Vec<String>,
    pub from: Vec<import::EntrySource>,
    pub notes: Vec<String>,
}

impl From<&ImportOutcome> for ImportPreview {
    fn from(outcome: &ImportOutcome) -> Self {
        Self {
            dry_run: outcome.dry_run,
            clients: outcome.clients.clone(),
            servers: outcome
                .plan
                .servers
                .iter()
                .map(|planned| PlannedServerView {
                    id: planned.server.id.clone(),
                    url: planned.server.url.clone(),
                    oauth: planned.server.oauth.is_some(),
                    headers: planned
                        .server
                        .headers
                        .iter()
                        .map(|(name, value)| format!("{name}: {value}"))
                        .collect(),
                    from: planned.from.clone(),
                    notes: planned.notes.clone(),
                })
                .collect(),
            secrets: outcome.plan.secrets.clone(),
            skipped: outcome.plan.skipped.clone(),
        }
    }
}

/// What a connect did (or would do).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectOutcome {
    pub client: ClientKind,
    #[ts(type = "string")]
    pub path: PathBuf,
    pub dry_run: bool,
    pub changes: Vec<EntryChange>,
    /// Unified diff, secrets and the gateway token blanked out.
    pub diff: String,
    /// Where the original was copied (first connect only).
    #[ts(type = "string | null")]
    pub backup: Option<PathBuf>,
    /// The file was written.
    pub written: bool,
    /// The client is running and must be restarted to see the change
    /// (`None`: unknown on this platform).
    pub running: Option<bool>,
}

/// What a disconnect did.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DisconnectOutcome {
    pub client: ClientKind,
    #[ts(type = "string")]
    pub path: PathBuf,
    /// `backup` (restored byte for byte) or `rewrite` (only Gatehouse's
    /// entries put back, the file having changed since).
    #[ts(type = "\"backup\" | \"rewrite\"")]
    pub restored_from: &'static str,
    pub token_revoked: bool,
    pub running: Option<bool>,
}

/// A file of a client that an operation over all of them could not read,
/// parse or write; it was left as it was.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FileProblem {
    #[ts(type = "string")]
    pub path: PathBuf,
    pub code: ErrorCode,
    /// Names the file and the kind of error, never a value from it.
    pub message: String,
}

impl FileProblem {
    fn new(path: PathBuf, error: &ClientError) -> Self {
        Self {
            path,
            code: error.code(),
            message: error.to_string(),
        }
    }
}

/// A connect of every file of one client: what it did (or would do) to
/// each, and the files it left alone because they could not be read,
/// parsed or written.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectReport {
    pub client: ClientKind,
    pub files: Vec<ConnectOutcome>,
    pub problems: Vec<FileProblem>,
}

/// A disconnect of every connected file of one client.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DisconnectReport {
    pub client: ClientKind,
    pub files: Vec<DisconnectOutcome>,
    pub problems: Vec<FileProblem>,
}

/// Every file's outcome and every file's problem, or, when no file went
/// well, the first error as it is (so a client with one file fails as that
/// file does).
fn gather<T>(
    results: Vec<(PathBuf, Result<T, ClientError>)>,
) -> Result<(Vec<T>, Vec<FileProblem>), ClientError> {
    let mut done = Vec::new();
    let mut problems = Vec::new();
    let mut first_error = None;
    for (path, result) in results {
        match result {
            Ok(outcome) => done.push(outcome),
            Err(error) => {
                problems.push(FileProblem::new(path, &error));
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) if done.is_empty() => Err(error),
        _ => Ok((done, problems)),
    }
}

/// The placeholder the diff shows instead of the client's token.
fn token_placeholder(client: ClientKind) -> String {
    format!("<gateway token for {client}>")
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ClientError + '_ {
    move |source| ClientError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `path`, or the client's documented location.
fn location(client: ClientKind, path: Option<&Path>) -> Result<PathBuf, ClientError> {
    match path {
        Some(path) => Ok(path.to_path_buf()),
        None => default_location(client).ok_or(ClientError::NoLocation { client }),
    }
}

/// Reads and parses `client`'s file; `Ok(None)` when it does not exist.
fn read_document(client: ClientKind, path: &Path) -> Result<Option<ClientDocument>, ClientError> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    };
    let text = String::from_utf8(text).map_err(|_| ClientError::Parse {
        client,
        path: path.to_path_buf(),
        source: DocumentError::Syntax {
            line: 1,
            column: 1,
            message: "not UTF-8 text".into(),
        },
    })?;
    ClientDocument::parse(client, &text)
        .map(Some)
        .map_err(|source| ClientError::Parse {
            client,
            path: path.to_path_buf(),
            source,
        })
}

impl Engine {
    /// Every known client (or only one), each file of it as
    /// [`Discovery`] finds them (Claude Code: `~/.claude.json` and each
    /// project's `.mcp.json`), with its entries and whether each goes
    /// through Gatehouse. A client with no file found is listed once, at
    /// its documented place.
    pub fn detect_clients(
        &self,
        discovery: Discovery,
        only: Option<ClientKind>,
    ) -> BoxFuture<'_, Vec<DetectedClient>> {
        Box::pin(async move {
            let config = self.current_config();
            let data_dir = self.paths().data_dir().to_path_buf();
            self.off_runtime(move |_| {
                ClientKind::ALL
                    .into_iter()
                    .filter(|kind| only.is_none_or(|only| only == *kind))
                    .flat_map(|client| {
                        let running = is_running(client);
                        let files: Vec<Option<ClientFile>> = match discovery.files(client) {
                            Some(files) => files.into_iter().map(Some).collect(),
                            None => vec![None],
                        };
                        files
                            .into_iter()
                            .map(|file| detect_file(&config, &data_dir, client, running, file))
                            .collect::<Vec<_>>()
                    })
                    .collect()
            })
            .await
        })
    }

    /// Plans (and unless `dry_run`, carries out) the import of the given
    /// clients' remote servers: servers into the config, found secrets into
    /// the vault. A client without a path is read from every file found at
    /// its documented places (Claude Code: also each project's `.mcp.json`);
    /// a file named twice is read once. A file that cannot be read (or a
    /// project folder that is gone) is reported and skipped.
    pub fn import_clients(
        &self,
        clients: Vec<(ClientKind, Option<PathBuf>)>,
        dry_run: bool,
    ) -> BoxFuture<'_, Result<ImportOutcome, ClientError>> {
        Box::pin(async move {
            let (sources, reports) = self
                .off_runtime(move |_| {
                    let mut sources = Vec::new();
                    let mut reports = Vec::new();
                    let mut seen = BTreeSet::new();
                    let files = clients.into_iter().flat_map(|(client, path)| {
                        let files = match path {
                            Some(path) => vec![ClientFile::at(path)],
                            None => discover(client, &[]).unwrap_or_default(),
                        };
                        files.into_iter().map(move |file| (client, file))
                    });
                    for (client, file) in files {
                        if !seen.insert((client, file.identity())) {
                            continue;
                        }
                        let path = file.path;
                        if let Some(problem) = file.problem {
                            reports.push(ClientReport {
                                client,
                                path,
                                entries: 0,
                                problem: Some(problem),
                            });
                            continue;
                        }
                        match read_document(client, &path) {
                            Ok(Some(document)) => {
                                let entries = document.entries();
                                reports.push(ClientReport {
                                    client,
                                    path: path.clone(),
                                    entries: entries.len(),
                                    problem: None,
                                });
                                sources.push(ImportSource {
                                    client,
                                    path,
                                    entries,
                                });
                            }
                            Ok(None) => {}
                            Err(error) => reports.push(ClientReport {
                                client,
                                path,
                                entries: 0,
                                problem: Some(error.to_string()),
                            }),
                        }
                    }
                    (sources, reports)
                })
                .await;
            let secret_names = self.secret_names().await?;
            let plan = import::plan_import(&sources, &self.current_config(), &secret_names);
            if !dry_run {
                for secret in &plan.secrets {
                    if let Some(value) = &secret.value {
                        self.set_secret(&secret.name, value).await?;
                    }
                }
                for planned in &plan.servers {
                    self.add_server(planned.server.clone()).await?;
                }
            }
            Ok(ImportOutcome {
                dry_run,
                clients: reports,
                plan,
            })
        })
    }

    /// Rewrites `client`'s entries for Gatehouse's servers to go through
    /// Gatehouse, after a backup. `proxy_command` is what a stdio entry
    /// runs (`gatehouse`, or a full path).
    pub fn connect_client(
        &self,
        client: ClientKind,
        path: Option<PathBuf>,
        dry_run: bool,
        proxy_command: String,
    ) -> BoxFuture<'_, Result<ConnectOutcome, ClientError>> {
        Box::pin(async move {
            let path = location(client, path.as_deref())?;
            let config = self.current_config();
            let port = config.gateway.port();
            let data_dir = self.paths().data_dir().to_path_buf();
            let tokens = self.gateway_tokens();
            // The gateway with a token where the client speaks HTTP, except in
            // a file a project shares (its token would go into the repository).
            let http = client.speaks_http() && !discovery::is_shared_project_file(client, &path);
            self.off_runtime(move |_| {
                let document =
                    read_document(client, &path)?.ok_or_else(|| ClientError::Missing {
                        client,
                        path: path.clone(),
                    })?;
                let target_with = |token: String| {
                    let command = proxy_command.clone();
                    move |id: &str| {
                        if http {
                            GatewayTarget::Http {
                                id: id.to_owned(),
                                url: crate::gateway::http::server_url(port, id),
                                token: token.clone(),
                            }
                        } else {
                            GatewayTarget::Proxy {
                                command: command.clone(),
                                id: id.to_owned(),
                            }
                        }
                    }
                };
                let shown = connect::plan_connect(
                    &document,
                    &config,
                    &target_with(token_placeholder(client)),
                )
                .map_err(|source| ClientError::Parse {
                    client,
                    path: path.clone(),
                    source,
                })?;
                let diff = connect::redacted_diff(
                    &path.display().to_string(),
                    document.text(),
                    &shown.new_text,
                    &connect::secret_values(&document),
                );
                let mut outcome = ConnectOutcome {
                    client,
                    path: path.clone(),
                    dry_run,
                    changes: shown.changes.clone(),
                    diff,
                    backup: None,
                    written: false,
                    running: is_running(client),
                };
                if dry_run || !shown.changes_anything() {
                    return Ok(outcome);
                }
                let token_name = http.then(|| {
                    backup::token_name(client, &path, default_location(client).as_deref())
                });
                let token = match &token_name {
                    Some(name) => {
                        // Its value cannot be read back, so connecting again
                        // makes a new one (and rewrites every entry that
                        // carried the old one).
                        match tokens.revoke(name) {
                            Ok(()) | Err(TokenError::NotFound { .. }) => {}
                            Err(error) => return Err(error.into()),
                        }
                        secrecy::ExposeSecret::expose_secret(&tokens.add(name)?).to_owned()
                    }
                    None => String::new(),
                };
                let plan = connect::plan_connect(&document, &config, &target_with(token)).map_err(
                    |source| ClientError::Parse {
                        client,
                        path: path.clone(),
                        source,
                    },
                )?;
                let original = document.text().as_bytes();
                let mut record = match backup::load_record(&data_dir, client, &path)
                    .map_err(io_error(&path))?
                {
                    Some(mut record) => {
                        // Connected before: keep the first backup; it stays an
                        // exact undo only if nobody changed the file since.
                        if record.connected_sha256.as_deref() != Some(&backup::sha256(original)) {
                            record.connected_sha256 = None;
                        }
                        record
                    }
                    None => {
                        let backup = backup::write_backup(&data_dir, client, &path, original)
                            .map_err(io_error(&data_dir))?;
                        outcome.backup = Some(backup.clone());
                        BackupRecord {
                            client,
                            path: path.clone(),
                            backup: Some(backup),
                            connected_sha256: Some(String::new()),
                            entries: Vec::new(),
                            created_at: crate::oauth::store::now(),
                            token: None,
                        }
                    }
                };
                for original in plan.originals {
                    if !record
                        .entries
                        .iter()
                        .any(|(table, name, _)| *table == original.0 && *name == original.1)
                    {
                        record.entries.push(original);
                    }
                }
                record.token = token_name;
                if record.connected_sha256.is_some() {
                    record.connected_sha256 = Some(backup::sha256(plan.new_text.as_bytes()));
                }
                // The record first: a crash between the two leaves an undo that
                // finds the file unchanged and does nothing harmful.
                backup::save_record(&data_dir, &record).map_err(io_error(&data_dir))?;
                if record.token.is_some() {
                    backup::write_client_file_with_token(&path, plan.new_text.as_bytes())
                } else {
                    backup::write_client_file(&path, plan.new_text.as_bytes())
                }
                .map_err(io_error(&path))?;
                outcome.written = true;
                Ok(outcome)
            })
            .await
        })
    }

    /// Undoes [`Engine::connect_client`]: the backup back in place when the
    /// file is as Gatehouse left it, otherwise only Gatehouse's entries put
    /// back as they were. Revokes the gateway token that file carried.
    pub fn disconnect_client(
        &self,
        client: ClientKind,
        path: Option<PathBuf>,
    ) -> BoxFuture<'_, Result<DisconnectOutcome, ClientError>> {
        Box::pin(async move {
            let path = location(client, path.as_deref())?;
            let data_dir = self.paths().data_dir().to_path_buf();
            let tokens = self.gateway_tokens();
            self.off_runtime(move |_| {
                let record = backup::load_record(&data_dir, client, &path)
                    .map_err(io_error(&data_dir))?
                    .ok_or_else(|| ClientError::NotConnected {
                        client,
                        path: path.clone(),
                    })?;
                let current = match std::fs::read(&path) {
                    Ok(bytes) => Some(bytes),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(io_error(&path)(e)),
                };
                let unchanged = current.as_deref().is_some_and(|c| {
                    record.connected_sha256.as_deref() == Some(&backup::sha256(c))
                });
                let restored_from = match (&record.backup, unchanged) {
                    (Some(backup), true) => {
                        let original = std::fs::read(backup).map_err(io_error(backup))?;
                        backup::write_client_file(&path, &original).map_err(io_error(&path))?;
                        "backup"
                    }
                    _ => {
                        let document =
                            read_document(client, &path)?.ok_or_else(|| ClientError::Missing {
                                client,
                                path: path.clone(),
                            })?;
                        // Only entries that still go through Gatehouse: one the
                        // person changed since is theirs now.
                        let ours: Vec<_> = record
                            .entries
                            .iter()
                            .filter(|(table, name, _)| {
                                document.entries().iter().any(|e| {
                                    e.table == *table
                                        && e.name == *name
                                        && matches!(import::reach(e), Reach::Gatehouse(_))
                                })
                            })
                            .cloned()
                            .collect();
                        let text =
                            document
                                .edited(&connect::restore_edits(&ours))
                                .map_err(|source| ClientError::Parse {
                                    client,
                                    path: path.clone(),
                                    source,
                                })?;
                        backup::write_client_file(&path, text.as_bytes())
                            .map_err(io_error(&path))?;
                        "rewrite"
                    }
                };
                backup::remove_record(&data_dir, client, &path).map_err(io_error(&data_dir))?;
                let mut token_revoked = false;
                if let Some(name) = &record.token {
                    match tokens.revoke(name) {
                        Ok(()) => token_revoked = true,
                        Err(TokenError::NotFound { .. }) => {}
                        Err(error) => return Err(error.into()),
                    }
                }
                Ok(DisconnectOutcome {
                    client,
                    path,
                    restored_from,
                    token_revoked,
                    running: is_running(client),
                })
            })
            .await
        })
    }

    /// [`Engine::connect_client`] for every file of `client` that
    /// [`Discovery`] finds and that exists (Claude Code: `~/.claude.json`
    /// and each project's `.mcp.json`), each with its own backup and, for a
    /// client that speaks HTTP, its own gateway token. A file that cannot
    /// be read, parsed or written is reported and left as it was; the
    /// others are connected all the same.
    pub fn connect_client_files(
        &self,
        client: ClientKind,
        discovery: Discovery,
        dry_run: bool,
        proxy_command: String,
    ) -> BoxFuture<'_, Result<ConnectReport, ClientError>> {
        Box::pin(async move {
            let files = self
                .off_runtime(move |_| discovery.files(client))
                .await
                .ok_or(ClientError::NoLocation { client })?;
            let main = files[0].path.clone();
            let paths: Vec<PathBuf> = files
                .into_iter()
                .filter(|file| file.problem.is_none() && file.path.exists())
                .map(|file| file.path)
                .collect();
            if paths.is_empty() {
                return Err(ClientError::Missing { client, path: main });
            }
            let mut results = Vec::new();
            for path in paths {
                let result = self
                    .connect_client(client, Some(path.clone()), dry_run, proxy_command.clone())
                    .await;
                results.push((path, result));
            }
            let (files, problems) = gather(results)?;
            Ok(ConnectReport {
                client,
                files,
                problems,
            })
        })
    }

    /// [`Engine::disconnect_client`] for every file of `client` that
    /// Gatehouse connected (its backup records say which), wherever it
    /// is. A file that cannot be restored is reported; the others are
    /// restored all the same.
    pub fn disconnect_client_files(
        &self,
        client: ClientKind,
    ) -> BoxFuture<'_, Result<DisconnectReport, ClientError>> {
        Box::pin(async move {
            let data_dir = self.paths().data_dir().to_path_buf();
            let paths = self
                .off_runtime(move |_| {
                    backup::connected_files(&data_dir, client).map_err(io_error(&data_dir))
                })
                .await?;
            if paths.is_empty() {
                return Err(ClientError::NotConnected {
                    client,
                    path: location(client, None)?,
                });
            }
            let mut results = Vec::new();
            for path in paths {
                let result = self.disconnect_client(client, Some(path.clone())).await;
                results.push((path, result));
            }
            let (files, problems) = gather(results)?;
            Ok(DisconnectReport {
                client,
                files,
                problems,
            })
        })
    }
}

/// One file of `client` as `clients list` shows it (`None`: no known place).
fn detect_file(
    config: &crate::config::Config,
    data_dir: &Path,
    client: ClientKind,
    running: Option<bool>,
    file: Option<ClientFile>,
) -> DetectedClient {
    let mut detected = DetectedClient {
        client,
        display_name: client.display_name(),
        path: file.as_ref().map(|f| f.path.clone()),
        project: file.as_ref().and_then(|f| f.project.clone()),
        found: file.as_ref().is_some_and(|f| f.path.exists()),
        problem: file.as_ref().and_then(|f| f.problem.clone()),
        running,
        connected: false,
        entries: Vec::new(),
    };
    let Some(file) = file else {
        return detected;
    };
    detected.connected = backup::load_record(data_dir, client, &file.path)
        .ok()
        .flatten()
        .is_some();
    if file.problem.is_some() {
        return detected;
    }
    match read_document(client, &file.path) {
        Ok(Some(document)) => {
            detected.entries = document
                .entries()
                .iter()
                .map(|entry| entry_status(config, entry))
                .collect();
        }
        Ok(None) => {}
        Err(error) => detected.problem = Some(error.to_string()),
    }
    detected
}

fn entry_status(config: &crate::config::Config, entry: &super::ClientEntry) -> EntryStatus {
    let (kind, server, url) = match import::reach(entry) {
        Reach::Gatehouse(id) => ("gatehouse", id, entry.url().map(str::to_owned)),
        Reach::Remote(remote) => (
            "remote",
            import::server_for_url(config, remote.url()).map(|s| s.id.clone()),
            Some(remote.url().to_owned()),
        ),
        Reach::Local(_) => ("local", None, None),
        Reach::Unknown => ("unknown", None, None),
    };
    EntryStatus {
        name: entry.name.clone(),
        kind,
        server,
        url,
    }
}
