//! The one API both front ends use: the config file, the vault and the
//! connections, kept consistent with each other. A change made here (a
//! server edited, a secret stored) is written to disk and then applied to
//! exactly the connections it affects.
//!
//! The blocking boundary is here. Every public method that may touch the
//! disk or the OS keyring (the config file written under its lock with an
//! fsync, the vault read or written under its cross-process lock, age's
//! scrypt, a keyring call over D-Bus) is asynchronous and does that work on
//! Tokio's blocking pool, so a front end can call any of them from the
//! async runtime or a UI event handler without stalling it. The synchronous
//! methods only read what the engine holds in memory. Front ends go through
//! these methods only; the vault and the connection manager stay inside
//! the core.
//!
//! The asynchronous methods return a [`BoxFuture`] instead of being
//! `async fn`s, and so do the other entry points the front ends await
//! (the gateway, the proxy, client files, diagnostics). rustc compiles an
//! `async fn`'s body, and every body it awaits, again in each crate that
//! awaits it: its state machine is a closure, which crates never share. So
//! every program built on the core (the CLI, the app, each test and the
//! benchmark) compiled the engine's whole asynchronous side once more
//! (optimised, the `gatehouse` binary took about a minute instead of ten
//! seconds). A boxed future is compiled once, here, at the cost of one
//! allocation per call.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use secrecy::SecretString;
use tokio::sync::broadcast;

use crate::activity::{ActivityFeed, ActivityFilter, ActivityLog, ActivityRecord};
use crate::api::{ServerSettings, ServerView, Validation};
use crate::config::{AuthMode, Config, ConfigError, ConfigFile, ServerConfig};
use crate::connection::{
    AuthorizationTicket, AuthorizeError, ConnectionManager, EVENT_CAPACITY, RequestError,
};
use crate::error_code::ErrorCode;
use crate::events::{Event, ServerStatus};
use crate::gateway::tokens::{GatewayTokens, TokenError, TokenInfo};
use crate::oauth::loopback::Delivery;
use crate::oauth::{AuthorizationError, ConsentSink};
use crate::paths::Paths;
use crate::template::Template;
use crate::vault::{Vault, VaultError, VaultStatus};

/// Anything the engine's API can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Authorization(#[from] AuthorizationError),
    #[error(transparent)]
    GatewayToken(TokenError),
    #[error("cannot read the activity record {}: {source}", path.display())]
    ActivityUnreadable {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<TokenError> for Error {
    fn from(error: TokenError) -> Self {
        match error {
            // A locked vault is the vault's problem, whatever reads it.
            TokenError::Vault(e) => Self::Vault(e),
            other => Self::GatewayToken(other),
        }
    }
}

impl From<AuthorizeError> for Error {
    fn from(error: AuthorizeError) -> Self {
        match error {
            AuthorizeError::Request(e) => Self::Request(e),
            AuthorizeError::Authorization(e) => Self::Authorization(e),
        }
    }
}

impl Error {
    fn activity_unreadable(log: &ActivityLog, source: std::io::Error) -> Self {
        Self::ActivityUnreadable {
            path: log.path().to_path_buf(),
            source,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Config(ConfigError::Invalid { .. }) => ErrorCode::InvalidConfig,
            Self::Config(ConfigError::Syntax { .. }) => ErrorCode::ConfigSyntax,
            Self::Config(ConfigError::UnknownServer { .. }) => ErrorCode::UnknownServer,
            Self::Config(_) => ErrorCode::ConfigIo,
            Self::Vault(e) => e.code(),
            Self::Request(e) => e.code(),
            Self::Authorization(e) => e.code(),
            Self::GatewayToken(e) => e.code(),
            Self::ActivityUnreadable { .. } => ErrorCode::ActivityUnreadable,
        }
    }
}

/// The Gatehouse engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    /// The files and the vault's state; never a secret (the vault's own
    /// `Debug` shows no key and no value).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config_file", &self.inner.paths.config_file())
            .field("vault", &self.inner.vault)
            .finish_non_exhaustive()
    }
}

struct Inner {
    /// Why the config file could not be loaded, when it could not.
    config_problem: Mutex<Option<String>>,
    paths: Paths,
    config_file: ConfigFile,
    config: Mutex<Config>,
    vault: Vault,
    connections: ConnectionManager,
    events: broadcast::Sender<Event>,
    /// A server added or changed in the config connects (the desktop app);
    /// when off (the CLI), only servers already running follow the change.
    connect_on_change: std::sync::atomic::AtomicBool,
}

impl Engine {
    /// Loads the config and prepares the vault (read on first use) with the
    /// OS keyring and `GATEHOUSE_VAULT_PASSPHRASE`. Connects nothing yet.
    pub fn open(paths: Paths) -> Result<Self, Error> {
        let vault = Vault::open_default(paths.vault_file());
        Self::with_vault(paths, vault)
    }

    /// As [`Engine::open`], but a config file that cannot be loaded does
    /// not stop the engine: it starts with no servers and reports the
    /// problem through [`Engine::config_problem`]. Edits are refused until
    /// the file is fixed, so it is never overwritten.
    pub fn open_tolerant(paths: Paths) -> Self {
        let vault = Vault::open_default(paths.vault_file());
        Self::tolerant_with_vault(paths, vault)
    }

    /// As [`Engine::open_tolerant`], with a vault of the caller's choosing.
    pub fn tolerant_with_vault(paths: Paths, vault: Vault) -> Self {
        let config_file = ConfigFile::new(paths.config_file());
        match config_file.load() {
            Ok(config) => Self::assemble(paths, vault, config, None),
            Err(error) => {
                // Reported through config_problem; the log is for the app's record.
                tracing::info!(%error, "the config file could not be loaded");
                Self::assemble(paths, vault, Config::default(), Some(error.to_string()))
            }
        }
    }

    /// As [`Engine::open`], with a vault of the caller's choosing.
    pub fn with_vault(paths: Paths, vault: Vault) -> Result<Self, Error> {
        let config = ConfigFile::new(paths.config_file()).load()?;
        Ok(Self::assemble(paths, vault, config, None))
    }

    fn assemble(
        paths: Paths,
        vault: Vault,
        config: Config,
        config_problem: Option<String>,
    ) -> Self {
        let config_file = ConfigFile::new(paths.config_file());
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let connections = ConnectionManager::new(vault.clone(), events.clone());
        Self {
            inner: Arc::new(Inner {
                config_problem: Mutex::new(config_problem),
                paths,
                config_file,
                config: Mutex::new(config),
                vault,
                connections,
                events,
                connect_on_change: std::sync::atomic::AtomicBool::new(true),
            }),
        }
    }

    /// Why the config file could not be loaded (see [`Engine::open_tolerant`]).
    pub fn config_problem(&self) -> Option<String> {
        self.inner
            .config_problem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Follows the config file as other programs change it (the CLI beside
    /// the app, a text editor): a change on disk is applied as if made here;
    /// a file that no longer loads is reported through
    /// [`Engine::config_problem`] while the servers keep their last good
    /// settings. Checks every `every`; stops when the engine is dropped.
    pub fn follow_config_file(&self, every: Duration) {
        let engine = Arc::downgrade(&self.inner);
        let path = self.inner.paths.config_file().to_path_buf();
        let mut seen = crate::fsutil::Fingerprint::of(&path).ok().flatten();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = engine.upgrade() else {
                    return;
                };
                let now = crate::fsutil::Fingerprint::of(&path).ok().flatten();
                if now != seen {
                    seen = now;
                    Engine { inner }.reload_config();
                }
            }
        });
    }

    /// Reads the config file again and applies what changed.
    fn reload_config(&self) {
        let loaded = self.inner.config_file.load();
        let problem = loaded.as_ref().err().map(ToString::to_string);
        let had_problem = std::mem::replace(
            &mut *self
                .inner
                .config_problem
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
            problem.clone(),
        );
        match loaded {
            Ok(config) if config != *self.config() => self.config_changed(config),
            Ok(_) if had_problem.is_some() => {
                let _ = self.inner.events.send(Event::ServersChanged);
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "the config file changed and no longer loads; keeping the last good settings");
                let _ = self.inner.events.send(Event::ServersChanged);
            }
        }
    }

    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    pub(crate) fn connections(&self) -> &ConnectionManager {
        &self.inner.connections
    }

    /// Runs `work` on Tokio's blocking pool (see the module's note on the
    /// blocking boundary). The pool's threads are inside the runtime, so
    /// `work` may start connections. A panic in `work` is resumed here.
    pub(crate) async fn off_runtime<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> T {
        let engine = self.clone();
        match tokio::task::spawn_blocking(move || work(&engine)).await {
            Ok(value) => value,
            Err(error) => match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(error) => panic!("the runtime shut down under blocking work: {error}"),
            },
        }
    }

    /// Every value the vault keeps secret (none while it is locked).
    pub(crate) fn vault_secret_values(&self) -> Vec<secrecy::SecretString> {
        self.inner.vault.secret_values()
    }

    /// The local HTTP gateway's client tokens (in the vault).
    pub fn gateway_tokens(&self) -> GatewayTokens {
        GatewayTokens::new(self.inner.vault.clone())
    }

    /// The gateway's clients with a token, by name (never a token).
    pub fn gateway_token_list(&self) -> BoxFuture<'_, Result<Vec<TokenInfo>, Error>> {
        Box::pin(async move {
            self.off_runtime(|engine| Ok(engine.gateway_tokens().list()?))
                .await
        })
    }

    /// Makes a gateway token for client `name` and returns it: the only
    /// time it is ever seen.
    pub fn gateway_token_add<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<SecretString, Error>> {
        Box::pin(async move {
            let name = name.to_owned();
            self.off_runtime(move |engine| Ok(engine.gateway_tokens().add(&name)?))
                .await
        })
    }

    /// Revokes client `name`'s gateway token; its next request is refused.
    pub fn gateway_token_revoke<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let name = name.to_owned();
            self.off_runtime(move |engine| Ok(engine.gateway_tokens().revoke(&name)?))
                .await
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    fn config(&self) -> std::sync::MutexGuard<'_, Config> {
        self.inner.config.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of the current config.
    pub fn current_config(&self) -> Config {
        self.config().clone()
    }

    /// Connects every enabled server. Must run inside a Tokio runtime.
    pub fn start(&self) {
        let config = self.config().clone();
        self.inner.connections.apply(&config);
    }

    /// Whether servers added or changed in the config connect at once (the
    /// default). A front end that starts only the servers each command
    /// needs (the CLI) turns it off, so that editing one server does not
    /// connect to every other.
    pub fn set_connect_on_change(&self, connect: bool) {
        self.inner
            .connect_on_change
            .store(connect, std::sync::atomic::Ordering::SeqCst);
    }

    /// Connects only the named servers (the CLI's commands that need one).
    pub fn start_only(&self, ids: &[&str]) -> Result<(), Error> {
        let config = self.config().clone();
        let mut subset = Config::default();
        for id in ids {
            let server = config
                .server(id)
                .ok_or_else(|| ConfigError::UnknownServer {
                    id: (*id).to_owned(),
                })?;
            subset.servers.push(server.clone());
        }
        self.inner.connections.apply(&subset);
        Ok(())
    }

    /// Waits until every started server has settled (connected, failed,
    /// needs authorization), each within its own timeout.
    pub fn wait_settled(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let config = self.config().clone();
            let waits = config.servers.iter().map(|server| {
                let limit = server.timeout() + Duration::from_secs(2);
                self.inner.connections.wait_settled(&server.id, limit)
            });
            futures::future::join_all(waits).await;
        })
    }

    /// Every configured server with its status. (The vault is read for
    /// the grants of OAuth servers that are not running here.)
    pub fn servers(&self) -> BoxFuture<'_, Vec<ServerView>> {
        Box::pin(async move { self.off_runtime(|engine| engine.servers_now()).await })
    }

    fn servers_now(&self) -> Vec<ServerView> {
        let config = self.config().clone();
        config
            .servers
            .iter()
            .map(|server| ServerView {
                id: server.id.clone(),
                url: server.url.clone(),
                enabled: server.enabled,
                auth_mode: server.auth_mode(),
                header_names: server.headers.keys().cloned().collect(),
                status: self
                    .inner
                    .connections
                    .status(&server.id)
                    .unwrap_or(if server.enabled {
                        ServerStatus::Connecting
                    } else {
                        ServerStatus::Disabled
                    }),
                oauth: (server.auth_mode() == AuthMode::OAuth)
                    .then(|| self.inner.connections.oauth_view(&server.id))
                    .flatten()
                    .or_else(|| {
                        (server.auth_mode() == AuthMode::OAuth)
                            .then(|| crate::oauth::stored_view(server, &self.inner.vault))
                            .flatten()
                    }),
            })
            .collect()
    }

    /// One server's full settings, for the editor.
    pub fn server_config(&self, id: &str) -> Result<ServerConfig, Error> {
        self.config()
            .server(id)
            .cloned()
            .ok_or_else(|| ConfigError::UnknownServer { id: id.to_owned() }.into())
    }

    /// The problems `server` would have if saved (replacing `replacing`).
    pub fn check_server(
        &self,
        server: &ServerConfig,
        replacing: Option<&str>,
    ) -> Vec<crate::config::ConfigIssue> {
        self.config().check_server(server, replacing)
    }

    /// Validates editor input exactly as the config loader would.
    pub fn validate_settings(
        &self,
        settings: &ServerSettings,
        replacing: Option<&str>,
    ) -> Validation {
        settings.validate(&self.config(), replacing)
    }

    /// Saves editor input: adds a server (`replacing` is `None`) or replaces
    /// the server `replacing`, which may be renamed.
    pub fn save_settings<'a>(
        &'a self,
        settings: &'a ServerSettings,
        replacing: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let (settings, replacing) = (settings.clone(), replacing.map(str::to_owned));
            self.off_runtime(move |engine| {
                engine.save_settings_now(&settings, replacing.as_deref())
            })
            .await
        })
    }

    fn save_settings_now(
        &self,
        settings: &ServerSettings,
        replacing: Option<&str>,
    ) -> Result<(), Error> {
        let (server, issues) = settings.to_config();
        if !issues.is_empty() {
            return Err(ConfigError::Invalid {
                path: self.inner.config_file.path().to_path_buf(),
                issues: issues
                    .into_iter()
                    .map(|issue| crate::config::ConfigIssue {
                        server: server.id.clone(),
                        index: None,
                        field: issue.field,
                        message: issue.message,
                    })
                    .collect(),
                locations: Vec::new(),
            }
            .into());
        }
        match replacing {
            None => self.add_server_now(server),
            Some(id) => self.update_server_now(id, server),
        }
    }

    /// Switches a server on or off.
    pub fn set_enabled<'a>(
        &'a self,
        id: &'a str,
        enabled: bool,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let id = id.to_owned();
            self.off_runtime(move |engine| {
                let mut server = engine.server_config(&id)?;
                server.enabled = enabled;
                engine.update_server_now(&id, server)
            })
            .await
        })
    }

    /// Adds a server to the config file and connects it.
    pub fn add_server(&self, server: ServerConfig) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            self.off_runtime(move |engine| engine.add_server_now(server))
                .await
        })
    }

    fn add_server_now(&self, server: ServerConfig) -> Result<(), Error> {
        let config = self.inner.config_file.add_server(server)?;
        self.config_changed(config);
        Ok(())
    }

    /// Replaces server `id`'s settings and restarts that connection only. A
    /// renamed OAuth server keeps its tokens; a server whose address changed,
    /// or whose OAuth was switched off, loses them (they were issued for the
    /// old address and are never sent to another).
    pub fn update_server<'a>(
        &'a self,
        id: &'a str,
        server: ServerConfig,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let id = id.to_owned();
            self.off_runtime(move |engine| engine.update_server_now(&id, server))
                .await
        })
    }

    fn update_server_now(&self, id: &str, server: ServerConfig) -> Result<(), Error> {
        let before = self.server_config(id)?;
        let (old_key, new_key) = (
            crate::config::normalize_id(id),
            crate::config::normalize_id(&server.id),
        );
        let had_oauth = before.auth_mode() == AuthMode::OAuth;
        let keeps_grants = before.url == server.url && server.auth_mode() == AuthMode::OAuth;
        let config = self.inner.config_file.update_server(id, server)?;
        let migrated = if had_oauth && !keeps_grants {
            crate::oauth::store::forget_server(&self.inner.vault, &old_key)
        } else if old_key != new_key {
            crate::oauth::store::rename_grants(&self.inner.vault, &old_key, &new_key)
        } else {
            Ok(())
        };
        self.config_changed(config);
        Ok(migrated?)
    }

    /// Removes a server from the config file and disconnects it. An OAuth
    /// server is signed out first (tokens revoked where the server supports
    /// it, then forgotten).
    pub fn remove_server<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let server = self.server_config(id)?;
            if server.auth_mode() == AuthMode::OAuth
                && let Err(error) = self.sign_out(id).await
            {
                tracing::warn!(server = id, %error, "sign-out before removal failed");
            }
            let id = id.to_owned();
            self.off_runtime(move |engine| {
                let config = engine.inner.config_file.remove_server(&id)?;
                // Whatever sign-out managed (or if OAuth was off by now), nothing
                // of this server's grants outlives it: a new server under the
                // same id must not inherit them.
                // (A vault that cannot be read now keeps them, unused: they are
                // bound to the old address.)
                let key = crate::config::normalize_id(&id);
                if let Err(error) = crate::oauth::store::forget_server(&engine.inner.vault, &key) {
                    tracing::warn!(server = id, %error, "could not forget the removed server's tokens");
                }
                engine.config_changed(config);
                Ok(())
            })
            .await
        })
    }

    /// Where authorizations the engine starts by itself (step-up) go.
    pub fn set_consent_sink(&self, sink: Arc<dyn ConsentSink>) {
        self.inner.connections.set_consent_sink(sink);
    }

    /// Where servers' elicitation requests (a form to fill, a page to
    /// open) reach the person. Without one, Gatehouse does not offer
    /// elicitation and declines a server that asks anyway. Set it before
    /// servers connect: a session advertises what it had when it started.
    pub fn set_elicitation_sink(&self, sink: Arc<dyn crate::elicitation::ElicitationSink>) {
        self.inner.connections.set_elicitation_sink(sink);
    }

    /// Makes sure the server's connection task runs (the CLI starts only
    /// the servers a command needs).
    fn ensure_started(&self, id: &str) -> Result<(), Error> {
        if self.inner.connections.status(id).is_none() {
            let server = self.server_config(id)?;
            self.inner.connections.ensure(&server);
        }
        Ok(())
    }

    /// Starts authorizing an OAuth server. Returns as soon as the consent
    /// page has a URL (which was handed to `sink`); the ticket resolves when
    /// the authorization ends. Progress arrives as events.
    pub fn start_authorization<'a>(
        &'a self,
        id: &'a str,
        sink: Arc<dyn ConsentSink>,
    ) -> BoxFuture<'a, Result<AuthorizationTicket, Error>> {
        Box::pin(async move {
            self.ensure_started(id)?;
            Ok(self.inner.connections.start_authorization(id, sink).await?)
        })
    }

    /// Authorizes an OAuth server and waits until it is connected (or the
    /// authorization or the connection failed).
    pub fn authorize<'a>(
        &'a self,
        id: &'a str,
        sink: Arc<dyn ConsentSink>,
    ) -> BoxFuture<'a, Result<ServerStatus, Error>> {
        Box::pin(async move {
            let ticket = self.start_authorization(id, sink).await?;
            self.finish_authorization(id, ticket).await
        })
    }

    /// Waits for a started authorization to end and then for the server to
    /// connect (or fail to); returns the status it settled in.
    pub fn finish_authorization<'a>(
        &'a self,
        id: &'a str,
        ticket: AuthorizationTicket,
    ) -> BoxFuture<'a, Result<ServerStatus, Error>> {
        Box::pin(async move {
            ticket
                .done
                .await
                .unwrap_or(Err(AuthorizationError::Cancelled))?;
            let limit = self.server_config(id)?.timeout() + Duration::from_secs(5);
            let status = self
                .inner
                .connections
                .wait_until(id, limit, |s| {
                    !matches!(
                        s,
                        ServerStatus::Connecting | ServerStatus::Authorizing { .. }
                    )
                })
                .await;
            Ok(status.unwrap_or(ServerStatus::Connecting))
        })
    }

    /// Cancels the authorization of `id` that waits for the browser.
    pub fn cancel_authorization(&self, id: &str) -> bool {
        self.inner.connections.cancel_authorization(id)
    }

    /// The URL of the authorization in progress for `id`, if any.
    pub fn pending_authorization_url(&self, id: &str) -> Option<String> {
        self.inner.connections.pending_authorization_url(id)
    }

    /// Whether `url` is the consent page of an authorization in progress
    /// (the only kind of address a front end should reopen on request).
    pub fn is_pending_authorization_url(&self, url: &str) -> bool {
        let config = self.config().clone();
        config
            .servers
            .iter()
            .any(|s| self.pending_authorization_url(&s.id).as_deref() == Some(url))
    }

    /// Completes an authorization with the URL the browser ended on.
    pub fn deliver_callback<'a>(&'a self, id: &'a str, url: String) -> BoxFuture<'a, Delivery> {
        Box::pin(async move { self.inner.connections.deliver_callback(id, url).await })
    }

    /// Signs out of an OAuth server. Returns a warning when the server could
    /// not revoke the tokens (they are forgotten regardless).
    pub fn sign_out<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>> {
        Box::pin(async move {
            let server = self.server_config(id)?;
            if self.inner.connections.status(id).is_none() {
                // Not running here: no reason to connect just to sign out.
                return Ok(self.inner.connections.sign_out_idle(&server).await?);
            }
            Ok(self.inner.connections.sign_out(id).await?)
        })
    }

    fn config_changed(&self, config: Config) {
        *self.config() = config.clone();
        if tokio::runtime::Handle::try_current().is_ok() {
            if self
                .inner
                .connect_on_change
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                self.inner.connections.apply(&config);
            } else {
                // Only what runs already: editing one server from the command
                // line must not connect to every other one.
                let mut running = config;
                running
                    .servers
                    .retain(|s| self.inner.connections.status(&s.id).is_some());
                self.inner.connections.apply(&running);
            }
        }
        let _ = self.inner.events.send(Event::ServersChanged);
    }

    /// Stores or replaces a secret, then retries the servers that use it.
    pub fn set_secret<'a>(
        &'a self,
        name: &'a str,
        value: &'a SecretString,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let (name, value) = (name.to_owned(), value.clone());
            self.off_runtime(move |engine| {
                engine.inner.vault.set_secret(&name, &value)?;
                engine.secrets_changed(&name);
                Ok(())
            })
            .await
        })
    }

    /// Deletes a secret, then restarts the servers that used it (they will
    /// report it missing).
    pub fn delete_secret<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let name = name.to_owned();
            self.off_runtime(move |engine| {
                engine.inner.vault.delete_secret(&name)?;
                engine.secrets_changed(&name);
                Ok(())
            })
            .await
        })
    }

    /// The names of the stored secrets, sorted.
    pub fn secret_names(&self) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        Box::pin(async move {
            self.off_runtime(|engine| Ok(engine.inner.vault.secret_names()?))
                .await
        })
    }

    /// What the vault can do now (reading it, or asking the keyring, if
    /// it has not been read yet).
    pub fn vault_status(&self) -> BoxFuture<'_, VaultStatus> {
        Box::pin(async move { self.off_runtime(|engine| engine.inner.vault.status()).await })
    }

    /// Unlocks a passphrase vault, or makes a new vault use a passphrase.
    pub fn use_passphrase(&self, passphrase: SecretString) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            self.off_runtime(move |engine| {
                engine.inner.vault.use_passphrase(passphrase)?;
                let _ = engine.inner.events.send(Event::VaultChanged);
                engine.inner.connections.retry_waiting();
                Ok(())
            })
            .await
        })
    }

    /// Fails unless the vault can be written now (created if need be): a
    /// command about to authorize checks this before sending anyone to a
    /// browser whose tokens could not be kept.
    pub fn ensure_vault_writable(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            self.off_runtime(|engine| Ok(engine.inner.vault.ensure_writable()?))
                .await
        })
    }

    /// The vault's age identity, for a backup (keyring vaults only).
    pub fn export_vault_identity(&self) -> BoxFuture<'_, Result<SecretString, Error>> {
        Box::pin(async move {
            self.off_runtime(|engine| Ok(engine.inner.vault.export_identity()?))
                .await
        })
    }

    fn secrets_changed(&self, name: &str) {
        let _ = self.inner.events.send(Event::VaultChanged);
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let config = self.config().clone();
        for server in config.servers.iter().filter(|s| uses_secret(s, name)) {
            self.inner.connections.restart(&server.id);
        }
    }

    /// A running server's status; `None` when it is not running here.
    pub fn status(&self, id: &str) -> Option<ServerStatus> {
        self.inner.connections.status(id)
    }

    /// Waits up to `limit` for one running server to settle.
    pub fn wait_server_settled<'a>(
        &'a self,
        id: &'a str,
        limit: Duration,
    ) -> BoxFuture<'a, Option<ServerStatus>> {
        Box::pin(async move { self.inner.connections.wait_settled(id, limit).await })
    }

    /// Waits up to `limit` for a running server's status to satisfy `done`.
    pub async fn wait_until(
        &self,
        id: &str,
        limit: Duration,
        done: impl Fn(&ServerStatus) -> bool,
    ) -> Option<ServerStatus> {
        self.inner.connections.wait_until(id, limit, done).await
    }

    /// Reconnects a running server; false when it is not running here.
    pub fn restart(&self, id: &str) -> bool {
        self.inner.connections.restart(id)
    }

    /// How often connected servers are pinged to see they are still there.
    pub fn set_health_interval(&self, interval: Duration) {
        self.inner.connections.set_health_interval(interval);
    }

    /// What a running OAuth server's grant looks like now.
    pub fn oauth_view(&self, id: &str) -> Option<crate::api::OAuthView> {
        self.inner.connections.oauth_view(id)
    }

    /// A connected server's tools.
    pub fn list_tools<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<crate::mcp::Tool>, RequestError>> {
        Box::pin(async move { self.inner.connections.list_tools(id).await })
    }

    /// The server's tools as it describes them, listed afresh: each a JSON
    /// object with every field the server wrote, including those
    /// Gatehouse's model of a tool does not know (such as `execution`).
    pub fn describe_tools<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<serde_json::Value>, RequestError>> {
        Box::pin(async move { self.inner.connections.describe_tools(id).await })
    }

    /// A connected server's resources.
    pub fn list_resources<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<crate::mcp::Resource>, RequestError>> {
        Box::pin(async move { self.inner.connections.list_resources(id).await })
    }

    /// A connected server's resource templates.
    pub fn list_resource_templates<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<crate::mcp::ResourceTemplate>, RequestError>> {
        Box::pin(async move { self.inner.connections.list_resource_templates(id).await })
    }

    /// A connected server's prompts.
    pub fn list_prompts<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<crate::mcp::Prompt>, RequestError>> {
        Box::pin(async move { self.inner.connections.list_prompts(id).await })
    }

    /// Calls a tool of a connected server.
    pub fn call_tool<'a>(
        &'a self,
        id: &'a str,
        tool: &'a str,
        arguments: Option<crate::mcp::JsonObject>,
    ) -> BoxFuture<'a, Result<crate::mcp::CallToolResult, RequestError>> {
        Box::pin(async move { self.call_tool_within(id, tool, arguments, None).await })
    }

    /// [`Engine::call_tool`], giving the server `wait` (instead of its
    /// configured timeout) to answer, counted again from each progress
    /// notification it sends about the call.
    pub fn call_tool_within<'a>(
        &'a self,
        id: &'a str,
        tool: &'a str,
        arguments: Option<crate::mcp::JsonObject>,
        wait: Option<std::time::Duration>,
    ) -> BoxFuture<'a, Result<crate::mcp::CallToolResult, RequestError>> {
        Box::pin(async move {
            self.inner
                .connections
                .call_tool(id, tool, arguments, wait)
                .await
        })
    }

    /// The Activity record's file (in the data folder).
    pub fn activity_log(&self) -> ActivityLog {
        ActivityLog::new(self.inner.paths.data_dir())
    }

    /// The newest `limit` calls that `filter` matches, oldest first, as
    /// every process recorded them.
    pub fn activity(
        &self,
        filter: ActivityFilter,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ActivityRecord>, Error>> {
        Box::pin(async move {
            let log = self.activity_log();
            self.off_runtime(move |_| {
                log.recent(&filter, limit)
                    .map_err(|source| Error::activity_unreadable(&log, source))
            })
            .await
        })
    }

    /// What the Activity record holds now (oldest first), and a feed of the
    /// calls any process records after.
    pub fn follow_activity(
        &self,
    ) -> BoxFuture<'_, Result<(Vec<ActivityRecord>, ActivityFeed), Error>> {
        Box::pin(async move {
            let log = self.activity_log();
            self.off_runtime(move |_| {
                log.follow()
                    .map_err(|source| Error::activity_unreadable(&log, source))
            })
            .await
        })
    }

    /// Announces every call any process records as an [`Event::Activity`]
    /// (the desktop app's live Activity view), and a call refused because
    /// its server needs authorization as an [`Event::AuthorizationWanted`]
    /// (the app's Authorize prompt), until the engine is dropped. The file
    /// is watched by the operating system: nothing runs while no call is
    /// made.
    pub fn publish_activity(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let (_, mut feed) = self.follow_activity().await?;
            let engine = Arc::downgrade(&self.inner);
            tokio::spawn(async move {
                let mut wanted = crate::activity::AuthorizationWanted::default();
                while let Some(read) = feed.next().await {
                    let Some(inner) = engine.upgrade() else {
                        return;
                    };
                    match read {
                        Ok(records) => {
                            for event in wanted.events(&records, std::time::Instant::now()) {
                                let _ = inner.events.send(event);
                            }
                            let _ = inner.events.send(Event::Activity { records });
                        }
                        Err(error) => {
                            tracing::debug!(%error, "the activity record could not be read")
                        }
                    }
                }
            });
            Ok(())
        })
    }

    /// Appends `record` to the Activity record. A failure is logged, never
    /// the caller's: a call is not failed for its record.
    pub(crate) fn record_activity(&self, record: ActivityRecord) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let log = self.activity_log();
            let written = self.off_runtime(move |_| log.append(&record)).await;
            if let Err(error) = written {
                tracing::debug!(%error, "a call could not be recorded in the activity file");
            }
        })
    }

    /// Stops every connection.
    pub fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.inner.connections.shutdown().await;
        })
    }
}

/// Whether the server's headers reference the secret `name`.
fn uses_secret(server: &ServerConfig, name: &str) -> bool {
    server.auth_mode() == AuthMode::Headers
        && server
            .headers
            .values()
            .any(|value| Template::parse(value).is_ok_and(|t| t.references().any(|r| r == name)))
}
