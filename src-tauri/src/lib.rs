//! The Gatehouse desktop shell: a Tauri window and tray over the core
//! engine. Everything here is glue — commands that call the engine, a bridge
//! that forwards engine events to the window and the tray, and the window's
//! lifecycle (closing hides it; a second launch focuses it).

mod autostart;
#[cfg(test)]
mod bindings;
mod bridge;
#[cfg(test)]
mod bundle_inputs;
#[cfg(test)]
mod command_list;
pub mod commands;
pub mod demo;
pub mod error;
mod tray;

use gatehouse_core::Engine;
use gatehouse_core::paths::Paths;
use tauri::{Builder, Manager, Runtime, WindowEvent};

/// The event name the window listens on.
pub const EVENT_NAME: &str = "gatehouse://event";

/// The argument the login autostart entry starts Gatehouse with: straight
/// into the tray, without opening the window.
pub const START_HIDDEN_ARG: &str = "--hidden";

/// The parts of the person's desktop session the app hooks into. The real
/// app takes all of them; a test on Tauri's mock runtime takes none, because
/// the mock runtime runs no GTK main loop (which the tray icon needs), and
/// the single-instance lock claims a name on the D-Bus session bus: a test
/// process that found a running Gatehouse would forward to it and exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Desktop {
    /// The tray icon and its menu.
    pub tray: bool,
    /// One Gatehouse per session: a second launch focuses the first.
    pub single_instance: bool,
}

impl Desktop {
    /// Everything: the desktop app.
    pub const FULL: Self = Self {
        tray: true,
        single_instance: true,
    };
    /// Nothing outside the app's own window and engine: tests.
    pub const NONE: Self = Self {
        tray: false,
        single_instance: false,
    };
}

/// Builds the app on any runtime (the real one, or the mock one in tests).
pub fn run_app<R: Runtime>(
    mut builder: Builder<R>,
    engine: Engine,
    desktop: Desktop,
) -> tauri::App<R> {
    if desktop.single_instance {
        builder = builder.plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            show_main_window(app);
        }));
    }
    builder
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        // The entry points at the running executable: /usr/bin/gatehouse-app
        // once installed, a path that a package upgrade keeps.
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .arg(START_HIDDEN_ARG)
                .build(),
        )
        .manage(engine)
        .manage(demo::DemoServer::default())
        .invoke_handler(tauri::generate_handler![
            commands::app_state,
            commands::list_servers,
            commands::get_server,
            commands::validate_server,
            commands::save_server,
            commands::remove_server,
            commands::set_server_enabled,
            commands::list_secrets,
            commands::set_secret,
            commands::delete_secret,
            commands::vault_status,
            commands::unlock_vault,
            commands::list_tools,
            commands::call_tool,
            commands::authorize,
            commands::cancel_authorization,
            commands::sign_out,
            commands::open_url,
            commands::start_demo_server,
            commands::get_app_settings,
            commands::set_start_at_login,
            commands::open_folder,
            commands::get_diagnostics,
            commands::list_activity,
            commands::list_clients,
            commands::import_clients,
            commands::connect_client,
            commands::disconnect_client,
            commands::client_snippet,
        ])
        .setup(move |app| {
            let engine = app.state::<Engine>().inner().clone();
            engine.set_consent_sink(commands::BrowserConsent::new(app.handle().clone()));
            if desktop.tray {
                tray::create(app.handle())?;
                autostart::refresh(app.handle());
                // Only with a tray icon to open it from.
                if std::env::args().any(|arg| arg == START_HIDDEN_ARG)
                    && let Some(window) = app.get_webview_window("main")
                {
                    window.hide()?;
                }
            }
            bridge::spawn(app.handle().clone(), engine.clone());
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<demo::DemoServer>().resume(&engine).await;
                // Calls that proxies and gateways (in this process or any
                // other) record reach the window as `activity` events.
                if let Err(error) = engine.publish_activity().await {
                    tracing::warn!(%error, "the Activity view will not update live");
                }
                engine.start();
                // The CLI (or an editor) may change the file while the app runs.
                engine.follow_config_file(std::time::Duration::from_secs(2));
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps Gatehouse running in the tray.
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == "main"
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .build(tauri::generate_context!())
        .expect("the Tauri app could not be built")
}

/// Shows, unminimizes and focuses the main window.
pub fn show_main_window<R: Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// The desktop entry point. `vault_passphrase` is
/// `GATEHOUSE_VAULT_PASSPHRASE`, already taken out of the environment
/// (`gatehouse_core::vault::take_passphrase_from_env`).
pub fn run(vault_passphrase: Option<secrecy::SecretString>) {
    let paths = match Paths::resolve(None, None) {
        Ok(paths) => paths,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            std::process::exit(1);
        }
    };
    // stderr and the log file a person can send (Settings, About).
    gatehouse_core::logging::init("info", Some(&paths.log_dir()), "app");
    let vault = gatehouse_core::vault::Vault::with_os_keyring(paths.vault_file(), vault_passphrase);
    let engine = Engine::tolerant_with_vault(paths, vault);
    let app = run_app(tauri::Builder::default(), engine.clone(), Desktop::FULL);
    app.run(move |_app, event| {
        if let tauri::RunEvent::Exit = event {
            tauri::async_runtime::block_on(engine.shutdown());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::vault::{MemoryKeyStore, Vault};
    use std::sync::Arc;
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{INVOKE_KEY, get_ipc_response, mock_builder};
    use tauri::webview::InvokeRequest;

    fn invoke(
        window: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        cmd: &str,
    ) -> serde_json::Value {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::default(),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(window, request)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e:?}"))
            .deserialize()
            .unwrap()
    }

    /// The whole app (commands, capabilities, plugins, setup) boots on the
    /// mock runtime over a throwaway engine, and the window's first calls
    /// answer through the real IPC path.
    #[test]
    fn boots_on_the_mock_runtime_and_answers_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            "[[servers]]\nid = \"off\"\nurl = \"https://off.example/mcp\"\nenabled = false\n",
        )
        .unwrap();
        let paths = Paths::new(&config, dir.path().join("data"));
        let vault = Vault::new(
            paths.vault_file(),
            Arc::new(MemoryKeyStore::default()),
            None,
        );
        let engine = Engine::with_vault(paths, vault).unwrap();

        let mut app = run_app(mock_builder(), engine, Desktop::NONE);
        // One iteration runs setup (the config's windows, then ours); this
        // is not the busy loop the deprecation warns about.
        #[allow(deprecated)]
        app.run_iteration(|_, _| {});
        let window = app
            .get_webview_window("main")
            .expect("the main window comes from tauri.conf.json");

        let servers = invoke(&window, "list_servers");
        assert_eq!(servers[0]["id"], "off");
        assert_eq!(servers[0]["status"]["state"], "disabled");

        let state = invoke(&window, "app_state");
        assert_eq!(
            state,
            serde_json::json!({
                "summary": {"state": "nothing_configured", "total": 0, "connected": 0, "needsAttention": 0, "errors": 0},
                "configProblem": null
            })
        );
    }
}
