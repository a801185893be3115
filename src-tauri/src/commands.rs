//! The window's commands: each a thin call into the core engine. Every
//! command that reaches the vault or the config file is `async` (the
//! engine's methods for those run their blocking work on Tokio's blocking
//! pool), so none of them holds the UI thread; the synchronous ones only
//! read what the engine holds in memory.

use std::sync::Arc;

use gatehouse_core::activity::{ActivityFilter, ActivityRecord};
use gatehouse_core::api::{
    ServerSettings, ServerView, ToolCallResult, ToolInfo, TraySummary, Validation,
};
use gatehouse_core::clients::{
    ClientKind, ConnectReport, DetectedClient, DisconnectReport, Discovery, ImportPreview,
};
use gatehouse_core::gateway::host::{GatewayHost, HostStatus};
use gatehouse_core::gateway::tokens::TokenInfo;
use gatehouse_core::mcp::JsonObject;
use gatehouse_core::vault::VaultStatus;
use gatehouse_core::{ConsentSink, Engine, ErrorCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_autostart::ManagerExt;
use tauri_plugin_opener::OpenerExt;
use ts_rs::TS;

use crate::ask::{PersonAnswer, WindowPerson};
use crate::error::{IpcError, Result};

/// What the window's header shows: the tray summary and any problem with
/// the config file.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppState {
    pub summary: TraySummary,
    pub config_problem: Option<String>,
}

/// The overall state: the same summary the tray icon shows.
#[tauri::command]
pub async fn app_state(engine: State<'_, Engine>) -> Result<AppState> {
    Ok(AppState {
        summary: TraySummary::of(&engine.servers().await),
        config_problem: engine.config_problem(),
    })
}

/// When the app started, for the one log line that says how long the
/// window took to show the server list (`window_painted`).
#[derive(Debug)]
pub struct Launched {
    at: std::time::Instant,
    painted: std::sync::atomic::AtomicBool,
}

impl Launched {
    pub fn now() -> Self {
        Self {
            at: std::time::Instant::now(),
            painted: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// The window has painted its first server list (`servers` rows): logged
/// once, with the time since launch, for the person's log file and for the
/// benchmark's launch-to-paint figure. Later calls are ignored.
#[tauri::command]
pub fn window_painted(launched: State<'_, Launched>, servers: u32) {
    if !launched
        .painted
        .swap(true, std::sync::atomic::Ordering::Relaxed)
    {
        let after_ms = launched.at.elapsed().as_millis();
        tracing::info!(after_ms, servers, "the window painted its server list");
    }
}

/// Every configured server with its live status.
#[tauri::command]
pub async fn list_servers(engine: State<'_, Engine>) -> Result<Vec<ServerView>> {
    Ok(engine.servers().await)
}

/// One server's settings, for the editor.
#[tauri::command]
pub fn get_server(engine: State<'_, Engine>, id: String) -> Result<ServerSettings> {
    Ok(ServerSettings::from(&engine.server_config(&id)?))
}

/// Validates editor input with the config loader's rules.
#[tauri::command]
pub fn validate_server(
    engine: State<'_, Engine>,
    settings: ServerSettings,
    replacing: Option<String>,
) -> Validation {
    engine.validate_settings(&settings, replacing.as_deref())
}

/// Adds or replaces a server, then (re)connects that server only.
#[tauri::command]
pub async fn save_server(
    engine: State<'_, Engine>,
    settings: ServerSettings,
    replacing: Option<String>,
) -> Result<()> {
    Ok(engine
        .save_settings(&settings, replacing.as_deref())
        .await?)
}

/// Removes a server and forgets its credentials.
#[tauri::command]
pub async fn remove_server(engine: State<'_, Engine>, id: String) -> Result<()> {
    Ok(engine.remove_server(&id).await?)
}

/// Switches a server on or off.
#[tauri::command]
pub async fn set_server_enabled(
    engine: State<'_, Engine>,
    id: String,
    enabled: bool,
) -> Result<()> {
    Ok(engine.set_enabled(&id, enabled).await?)
}

/// The vault's secret names (never values).
#[tauri::command]
pub async fn list_secrets(engine: State<'_, Engine>) -> Result<Vec<String>> {
    Ok(engine.secret_names().await?)
}

/// Stores or replaces a secret.
#[tauri::command]
pub async fn set_secret(engine: State<'_, Engine>, name: String, value: String) -> Result<()> {
    let value = SecretString::from(value);
    Ok(engine.set_secret(&name, &value).await?)
}

/// Deletes a secret.
#[tauri::command]
pub async fn delete_secret(engine: State<'_, Engine>, name: String) -> Result<()> {
    Ok(engine.delete_secret(&name).await?)
}

/// Whether the vault is usable, and if not, why.
#[tauri::command]
pub async fn vault_status(engine: State<'_, Engine>) -> Result<VaultStatus> {
    Ok(engine.vault_status().await)
}

/// Unlocks a passphrase vault, or chooses a passphrase for a new one.
#[tauri::command]
pub async fn unlock_vault(engine: State<'_, Engine>, passphrase: String) -> Result<()> {
    let passphrase = SecretString::from(passphrase);
    Ok(engine.use_passphrase(passphrase).await?)
}

/// A connected server's tools.
#[tauri::command]
pub async fn list_tools(engine: State<'_, Engine>, id: String) -> Result<Vec<ToolInfo>> {
    let tools = engine
        .list_tools(&id)
        .await
        .map_err(gatehouse_core::Error::from)?;
    Ok(tools.iter().map(ToolInfo::from).collect())
}

/// Calls a tool with JSON arguments.
#[tauri::command]
pub async fn call_tool(
    engine: State<'_, Engine>,
    id: String,
    tool: String,
    arguments: JsonObject,
) -> Result<ToolCallResult> {
    let result = engine
        .call_tool(&id, &tool, Some(arguments))
        .await
        .map_err(gatehouse_core::Error::from)?;
    Ok(ToolCallResult::from(&result))
}

/// Where the browser was sent to authorize.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationStarted {
    pub url: String,
}

/// Opens consent pages in the system browser.
pub struct BrowserConsent<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> BrowserConsent<R> {
    pub fn new(app: AppHandle<R>) -> Arc<Self> {
        Arc::new(Self { app })
    }
}

#[async_trait::async_trait]
impl<R: Runtime> ConsentSink for BrowserConsent<R> {
    async fn present(&self, _server: &str, url: &str) -> std::result::Result<(), String> {
        self.app
            .opener()
            .open_url(url, None::<&str>)
            .map_err(|e| e.to_string())
    }
}

/// Starts authorizing a server: the system browser opens at the consent
/// page; progress arrives as events.
#[tauri::command]
pub async fn authorize<R: Runtime>(
    app: AppHandle<R>,
    engine: State<'_, Engine>,
    id: String,
) -> Result<AuthorizationStarted> {
    let ticket = engine
        .start_authorization(&id, BrowserConsent::new(app))
        .await?;
    Ok(AuthorizationStarted { url: ticket.url })
}

/// Starts authorizing from the tray menu; the result shows as events.
pub fn authorize_from_tray<R: Runtime>(app: &AppHandle<R>, id: String) {
    let engine = app.state::<Engine>().inner().clone();
    let sink = BrowserConsent::new(app.clone());
    tauri::async_runtime::spawn(async move {
        if let Err(error) = engine.start_authorization(&id, sink).await {
            tracing::warn!(server = %id, %error, "authorization from the tray failed");
        }
    });
}

/// Stops an authorization that is waiting for the browser.
#[tauri::command]
pub fn cancel_authorization(engine: State<'_, Engine>, id: String) {
    engine.cancel_authorization(&id);
}

/// Signs out of a server: revokes (where supported) and forgets its tokens.
#[tauri::command]
pub async fn sign_out(engine: State<'_, Engine>, id: String) -> Result<()> {
    if let Some(warning) = engine.sign_out(&id).await? {
        tracing::warn!(server = %id, %warning, "sign-out");
    }
    Ok(())
}

/// Opens a pending authorization's URL in the system browser again. Only
/// URLs of authorizations in progress are opened.
#[tauri::command]
pub fn open_url<R: Runtime>(
    app: AppHandle<R>,
    engine: State<'_, Engine>,
    url: String,
) -> Result<()> {
    if !engine.is_pending_authorization_url(&url) {
        return Err(IpcError::new(
            ErrorCode::UnknownAuthorization,
            "only the address of an authorization in progress can be opened",
        ));
    }
    app.opener()
        .open_url(url, None::<&str>)
        .map_err(|e| IpcError::new(ErrorCode::OpenFailed, e.to_string()))
}

/// Starts the built-in demo OAuth server and adds it as server `demo`.
#[tauri::command]
pub async fn start_demo_server(
    engine: State<'_, Engine>,
    demo: State<'_, crate::demo::DemoServer>,
) -> Result<ServerView> {
    demo.start(&engine).await
}

/// Desktop settings, and what the Settings page tells about this Gatehouse.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppSettings {
    pub start_at_login: bool,
    /// The version, the same as `gatehouse --version` and the package's.
    pub version: String,
    /// The config file.
    pub config_file: String,
    /// The folder of the vault and the app's other data.
    pub data_dir: String,
    /// The folder of the log files.
    pub log_dir: String,
}

/// The desktop settings.
#[tauri::command]
pub fn get_app_settings<R: Runtime>(
    app: AppHandle<R>,
    engine: State<'_, Engine>,
) -> Result<AppSettings> {
    let start_at_login = app
        .autolaunch()
        .is_enabled()
        .map_err(|e| IpcError::new(ErrorCode::Autostart, e.to_string()))?;
    let paths = engine.paths();
    Ok(AppSettings {
        start_at_login,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        config_file: paths.config_file().display().to_string(),
        data_dir: paths.data_dir().display().to_string(),
        log_dir: paths.log_dir().display().to_string(),
    })
}

/// A folder of Gatehouse's files that the person may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    /// The folder of the config file.
    Config,
    /// The folder of the vault.
    Data,
    /// The folder of the log files.
    Logs,
}

/// The person's answer to a server's question (an `ask` event): a form's
/// values (checked against its fields), agreement to open a page, decline
/// or cancel.
#[tauri::command]
pub fn answer_question<R: Runtime>(app: AppHandle<R>, id: u64, answer: PersonAnswer) -> Result<()> {
    app.state::<Arc<WindowPerson<R>>>().answer(id, answer)
}

/// Opens one of Gatehouse's folders in the file manager (made first if missing).
#[tauri::command]
pub fn open_folder<R: Runtime>(
    app: AppHandle<R>,
    engine: State<'_, Engine>,
    folder: Folder,
) -> Result<()> {
    let paths = engine.paths();
    paths
        .create_dirs()
        .map_err(|e| IpcError::new(ErrorCode::OpenFolder, e.to_string()))?;
    let logs = paths.log_dir();
    let dir = match folder {
        Folder::Config => paths.config_dir(),
        Folder::Data => paths.data_dir(),
        Folder::Logs => logs.as_path(),
    };
    app.opener()
        .open_path(dir.display().to_string(), None::<&str>)
        .map_err(|e| IpcError::new(ErrorCode::OpenFolder, e.to_string()))
}

/// The diagnostics report (versions, platform, server statuses, recent log
/// lines; never a secret), for the person to copy into a bug report.
#[tauri::command]
pub async fn get_diagnostics(engine: State<'_, Engine>) -> Result<String> {
    Ok(gatehouse_core::diagnostics::report(&engine, "app").await)
}

/// The newest `limit` calls (default 500) from the Activity record, oldest
/// first, of one server and/or one client when named; new ones arrive as
/// `activity` events.
#[tauri::command]
pub async fn list_activity(
    engine: State<'_, Engine>,
    server: Option<String>,
    client: Option<String>,
    limit: Option<usize>,
) -> Result<Vec<ActivityRecord>> {
    let filter = ActivityFilter { server, client };
    Ok(engine.activity(filter, limit.unwrap_or(500)).await?)
}

/// Turns starting Gatehouse at login on or off.
#[tauri::command]
pub fn set_start_at_login<R: Runtime>(app: AppHandle<R>, enabled: bool) -> Result<()> {
    crate::autostart::set_enabled(&app, enabled).map_err(|e| IpcError::new(ErrorCode::Autostart, e))
}

/// The AI clients on this computer, their servers, and which go through
/// Gatehouse.
#[tauri::command]
pub async fn list_clients(engine: State<'_, Engine>) -> Result<Vec<DetectedClient>> {
    Ok(engine.detect_clients(Default::default(), None).await)
}

/// Imports the given clients' remote servers (secrets into the vault), or
/// with `dry_run` only shows what would happen.
#[tauri::command]
pub async fn import_clients(
    engine: State<'_, Engine>,
    clients: Vec<ClientKind>,
    dry_run: bool,
) -> Result<ImportPreview> {
    let clients = clients.into_iter().map(|c| (c, None)).collect();
    let outcome = engine.import_clients(clients, dry_run).await?;
    Ok(ImportPreview::from(&outcome))
}

/// Points a client's entries at Gatehouse in each of its files (after a
/// backup of each), or with `dry_run` only shows the diffs.
#[tauri::command]
pub async fn connect_client(
    engine: State<'_, Engine>,
    client: ClientKind,
    dry_run: bool,
) -> Result<ConnectReport> {
    Ok(engine
        .connect_client_files(
            client,
            Discovery::default(),
            dry_run,
            gatehouse_core::clients::proxy_program(),
        )
        .await?)
}

/// Puts each file Gatehouse connected of a client back as it was.
#[tauri::command]
pub async fn disconnect_client(
    engine: State<'_, Engine>,
    client: ClientKind,
) -> Result<DisconnectReport> {
    Ok(engine.disconnect_client_files(client).await?)
}

/// A ready-to-paste entry for a server in a client's file (a client
/// Gatehouse did not find).
#[tauri::command]
pub fn client_snippet(client: ClientKind, server: String) -> String {
    gatehouse_core::clients::snippet(client, &server, &gatehouse_core::clients::proxy_program())
}

/// What Settings shows about the local HTTP gateway: where it runs (or why
/// not) with each server's URL, and the clients with a token (names and
/// dates, never a token).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GatewayOverview {
    pub gateway: HostStatus,
    pub tokens: Vec<TokenInfo>,
}

/// A client's new gateway token: the only answer that ever carries one.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NewGatewayToken {
    pub client: String,
    pub token: String,
}

/// The gateway's status and its clients' tokens (never a token value).
#[tauri::command]
pub async fn gateway_status(
    engine: State<'_, Engine>,
    host: State<'_, GatewayHost>,
) -> Result<GatewayOverview> {
    Ok(GatewayOverview {
        gateway: host.status().await,
        tokens: engine.gateway_token_list().await?,
    })
}

/// Makes a gateway token for a client and returns it, once.
#[tauri::command]
pub async fn add_gateway_token(
    engine: State<'_, Engine>,
    client: String,
) -> Result<NewGatewayToken> {
    let token = engine.gateway_token_add(&client).await?;
    Ok(NewGatewayToken {
        token: token.expose_secret().to_owned(),
        client,
    })
}

/// Revokes a client's gateway token; its next request is refused.
#[tauri::command]
pub async fn revoke_gateway_token(engine: State<'_, Engine>, client: String) -> Result<()> {
    Ok(engine.gateway_token_revoke(&client).await?)
}
