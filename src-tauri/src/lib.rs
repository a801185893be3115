//! The Gatehouse desktop shell: a Tauri window and tray over the core
//! engine. Everything here is glue — commands that call the engine, a bridge
//! that forwards engine events to the window and the tray, and the window's
//! lifecycle (closing hides it; a second launch focuses it).

pub mod ask;
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
use gatehouse_core::gateway::host::GatewayHost;
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
/// process that found a running Gatehouse would forward to it and exit; and
/// the gateway binds a fixed port on loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Desktop {
    /// The tray icon and its menu.
    pub tray: bool,
    /// One Gatehouse per session: a second launch focuses the first.
    pub single_instance: bool,
    /// The local HTTP gateway on the config's port, for the AI clients.
    pub gateway: bool,
}

impl Desktop {
    /// Everything: the desktop app.
    pub const FULL: Self = Self {
        tray: true,
        single_instance: true,
        gateway: true,
    };
    /// Nothing outside the app's own window and engine: tests.
    pub const NONE: Self = Self {
        tray: false,
        single_instance: false,
        gateway: false,
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
        .manage(GatewayHost::new(engine.clone()))
        .manage(engine)
        .manage(demo::DemoServer::default())
        .manage(commands::Launched::now())
        .invoke_handler(tauri::generate_handler![
            commands::app_state,
            commands::window_painted,
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
            commands::answer_question,
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
            commands::gateway_status,
            commands::add_gateway_token,
            commands::revoke_gateway_token,
        ])
        .setup(move |app| {
            let engine = app.state::<Engine>().inner().clone();
            engine.set_consent_sink(commands::BrowserConsent::new(app.handle().clone()));
            let person = std::sync::Arc::new(ask::WindowPerson::new(app.handle().clone()));
            engine.set_elicitation_sink(person.clone());
            app.manage(person);
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
                if desktop.gateway {
                    // Before the servers connect, so that their sessions
                    // advertise what the gateway's clients can do. Not fatal
                    // when it cannot start: Settings says why.
                    let gateway = handle.state::<GatewayHost>();
                    let _ = gateway.start_from_config().await;
                    gateway.follow_config();
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
    app.run(move |app, event| {
        if let tauri::RunEvent::Exit = event {
            let gateway = app.state::<GatewayHost>().inner().clone();
            tauri::async_runtime::block_on(async {
                gateway.shutdown().await;
                engine.shutdown().await;
            });
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
        invoke_with(window, cmd, serde_json::json!({}))
            .unwrap_or_else(|e| panic!("{cmd} failed: {e:?}"))
    }

    /// Calls `cmd` with `args` through the real IPC path: its answer, or
    /// the error it rejected with.
    fn invoke_with(
        window: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        cmd: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(window, request).map(|body| body.deserialize().unwrap())
    }

    fn mock_app(config: &str) -> (tempfile::TempDir, tauri::App<tauri::test::MockRuntime>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, config).unwrap();
        let paths = Paths::new(&file, dir.path().join("data"));
        let vault = Vault::new(
            paths.vault_file(),
            Arc::new(MemoryKeyStore::default()),
            None,
        );
        let engine = Engine::with_vault(paths, vault).unwrap();
        let mut app = run_app(mock_builder(), engine, Desktop::NONE);
        #[allow(deprecated)]
        app.run_iteration(|_, _| {});
        (dir, app)
    }

    /// The status line of a POST of an MCP `initialize` to `url`, with
    /// `token` as its bearer token when given.
    fn post_initialize(port: u16, path: &str, token: Option<&str>) -> String {
        use std::io::{Read as _, Write as _};
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut head = [0u8; 64];
        let n = stream.read(&mut head).unwrap();
        String::from_utf8_lossy(&head[..n])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// Settings' gateway commands: status with the tokens' names and dates
    /// (never a token), a new token returned once and accepted by the
    /// gateway this app serves, validation and revocation with their codes.
    #[test]
    fn gateway_commands_manage_tokens_and_report_the_gateway() {
        let (_dir, app) = mock_app(
            "[gateway]\nport = 47999\n\n[[servers]]\nid = \"off\"\nurl = \"https://off.example/mcp\"\nenabled = false\n",
        );
        let window = app.get_webview_window("main").unwrap();

        // Not started on the mock runtime (Desktop::NONE): the config's port.
        let status = invoke(&window, "gateway_status");
        assert_eq!(status["gateway"]["port"], 47999);
        assert_eq!(status["gateway"]["servedHere"], false);
        assert_eq!(status["gateway"]["problem"], serde_json::Value::Null);
        assert_eq!(
            status["gateway"]["servers"][0]["url"],
            "http://127.0.0.1:47999/servers/off/mcp"
        );
        assert_eq!(status["tokens"], serde_json::json!([]));

        let added = invoke_with(
            &window,
            "add_gateway_token",
            serde_json::json!({"client": "cursor"}),
        )
        .unwrap();
        assert_eq!(added["client"], "cursor");
        let token = added["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("ghgw_") && token.len() > 30, "{token}");

        let status = invoke(&window, "gateway_status");
        assert_eq!(status["tokens"][0]["name"], "cursor");
        assert!(status["tokens"][0]["createdAt"].as_u64().unwrap() > 1_700_000_000);
        assert!(
            !status.to_string().contains(&token),
            "a token value in a status response"
        );

        // The gateway as the app serves it takes that token.
        let host = app.state::<GatewayHost>().inner().clone();
        let port = tauri::async_runtime::block_on(
            host.start(gatehouse_core::gateway::http::GatewayOptions { port: 0 }),
        )
        .unwrap();
        let status = invoke(&window, "gateway_status");
        assert_eq!(status["gateway"]["port"], port);
        assert_eq!(status["gateway"]["servedHere"], true);
        assert_eq!(status["gateway"]["listening"], true);
        assert!(!status.to_string().contains(&token));
        let path = "/servers/off/mcp";
        assert!(post_initialize(port, path, None).contains(" 401 "));
        assert!(post_initialize(port, path, Some("ghgw_wrong")).contains(" 401 "));
        let accepted = post_initialize(port, path, Some(&token));
        assert!(
            accepted.starts_with("HTTP/1.1 ")
                && !accepted.contains(" 401 ")
                && !accepted.contains(" 403 "),
            "{accepted}"
        );

        let error = invoke_with(
            &window,
            "add_gateway_token",
            serde_json::json!({"client": "cursor"}),
        )
        .unwrap_err();
        assert_eq!(error["code"], "token_exists");
        let error = invoke_with(
            &window,
            "add_gateway_token",
            serde_json::json!({"client": "no spaces"}),
        )
        .unwrap_err();
        assert_eq!(error["code"], "invalid_client_name");

        invoke_with(
            &window,
            "revoke_gateway_token",
            serde_json::json!({"client": "cursor"}),
        )
        .unwrap();
        assert_eq!(
            invoke(&window, "gateway_status")["tokens"],
            serde_json::json!([])
        );
        assert!(post_initialize(port, path, Some(&token)).contains(" 401 "));
        let error = invoke_with(
            &window,
            "revoke_gateway_token",
            serde_json::json!({"client": "cursor"}),
        )
        .unwrap_err();
        assert_eq!(error["code"], "token_not_found");
        tauri::async_runtime::block_on(host.shutdown());
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

    /// A server's question reaches the window as an `ask` event; the
    /// window's answer, checked against the form's fields, goes back to the
    /// request; a request that ends first withdraws its question.
    #[test]
    fn a_servers_question_is_answered_through_the_window() {
        use gatehouse_core::elicitation::{Answer, ElicitationSink, FormRequest};
        use serde_json::json;
        use std::time::Duration;
        use tauri::Listener;

        let (_dir, app) = mock_app("");
        let window = app.get_webview_window("main").unwrap();
        let (tx, events) = std::sync::mpsc::channel::<serde_json::Value>();
        app.listen_any(ask::ASK_EVENT, move |event| {
            let _ = tx.send(serde_json::from_str(event.payload()).unwrap());
        });
        let person = app
            .state::<Arc<ask::WindowPerson<tauri::test::MockRuntime>>>()
            .inner()
            .clone();
        let form = || FormRequest {
            server: "calendar".into(),
            message: "Who is coming?".into(),
            schema: json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "title": "Name"},
                    "count": {"type": "integer", "default": 2},
                    "room": {"type": "string", "enum": ["A", "B"]}
                },
                "required": ["name"]
            }),
            defaults: Default::default(),
        };
        let asking = tauri::async_runtime::spawn({
            let person = person.clone();
            async move { person.fill_form(form()).await }
        });
        let asked = events.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(asked["type"], "ask");
        assert_eq!(asked["server"], "calendar");
        assert_eq!(asked["message"], "Who is coming?");
        assert_eq!(asked["kind"]["mode"], "form");
        let fields = &asked["kind"]["fields"];
        assert_eq!(fields[0]["name"], "name");
        assert_eq!(fields[0]["required"], true);
        assert_eq!(fields[1]["kind"], "integer");
        assert_eq!(fields[1]["default"], 2);
        assert_eq!(fields[2]["kind"], "choice");
        assert_eq!(fields[2]["choices"], json!(["A", "B"]));
        let id = asked["id"].clone();

        let answer = |values: serde_json::Value| {
            invoke_with(
                &window,
                "answer_question",
                json!({"id": id, "answer": {"action": "accept", "values": values}}),
            )
        };
        for (values, why) in [
            (json!({"name": 5}), "Name must be text."),
            (json!({"count": 2}), "Name is required."),
            (
                json!({"name": "Ada", "count": 1.5}),
                "count must be a whole number.",
            ),
            (
                json!({"name": "Ada", "room": "C"}),
                "room must be one of: A, B.",
            ),
            (
                json!({"name": "Ada", "extra": true}),
                "The form has no field \"extra\".",
            ),
        ] {
            let refused = answer(values).unwrap_err();
            assert_eq!(refused["code"], "invalid_answer");
            assert_eq!(refused["message"], why);
        }
        answer(json!({"name": "Ada", "count": 3, "room": "B"})).unwrap();
        let answered = tauri::async_runtime::block_on(asking).unwrap();
        let mut expected = serde_json::Map::new();
        expected.insert("name".into(), json!("Ada"));
        expected.insert("count".into(), json!(3));
        expected.insert("room".into(), json!("B"));
        assert_eq!(answered, Answer::Accept(expected));
        let again = answer(json!({"name": "Ada"})).unwrap_err();
        assert_eq!(again["code"], "unknown_question");

        // The request ends before the person answers: the window is told.
        let asking = tauri::async_runtime::spawn({
            let person = person.clone();
            async move { person.fill_form(form()).await }
        });
        let asked = events.recv_timeout(Duration::from_secs(5)).unwrap();
        asking.abort();
        let withdrawn = events.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(withdrawn, json!({"type": "withdrawn", "id": asked["id"]}));
        let late = invoke_with(
            &window,
            "answer_question",
            json!({"id": asked["id"], "answer": {"action": "decline"}}),
        )
        .unwrap_err();
        assert_eq!(late["code"], "unknown_question");
    }
}
