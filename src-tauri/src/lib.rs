//! The Gatehouse desktop shell: a Tauri window and tray over the core
//! engine. Everything here is glue — commands that call the engine, a bridge
//! that forwards engine events to the window and the tray, and the window's
//! lifecycle (closing hides it; a second launch focuses it).

mod bridge;
pub mod commands;
pub mod demo;
pub mod error;
mod tray;

use gatehouse_core::Engine;
use gatehouse_core::paths::Paths;
use tauri::{Builder, Manager, Runtime, WindowEvent};

/// The event name the window listens on.
pub const EVENT_NAME: &str = "gatehouse://event";

/// Builds the app on any runtime (the real one, or the mock one in tests).
pub fn run_app<R: Runtime>(builder: Builder<R>, engine: Engine) -> tauri::App<R> {
    builder
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            show_main_window(app);
        }))
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::Builder::new().build())
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
        ])
        .setup(|app| {
            let engine = app.state::<Engine>().inner().clone();
            engine.set_consent_sink(commands::BrowserConsent::new(app.handle().clone()));
            tray::create(app.handle())?;
            bridge::spawn(app.handle().clone(), engine.clone());
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<demo::DemoServer>().resume(&engine).await;
                engine.start();
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

/// The desktop entry point.
pub fn run() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let paths = match Paths::resolve(None, None) {
        Ok(paths) => paths,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            std::process::exit(1);
        }
    };
    let engine = Engine::open_tolerant(paths);
    let app = run_app(tauri::Builder::default(), engine.clone());
    app.run(move |_app, event| {
        if let tauri::RunEvent::Exit = event {
            tauri::async_runtime::block_on(engine.shutdown());
        }
    });
}
