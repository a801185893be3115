//! Embeds the UI and generates one permission per app command, so the
//! window's capability can list exactly the commands it uses.
//!
//! The UI is built by `npm run ui:build` into `ui/dist`, which Tauri's
//! context macro needs to exist. In a fresh clone it does not yet, so a plain
//! `cargo build` or `cargo test` gets a small placeholder page there (saying
//! how to build the real one); the UI build replaces it.

use std::path::Path;

/// Every `#[tauri::command]` in src/commands.rs.
const COMMANDS: &[&str] = &[
    "app_state",
    "window_painted",
    "list_servers",
    "get_server",
    "validate_server",
    "save_server",
    "remove_server",
    "set_server_enabled",
    "list_secrets",
    "set_secret",
    "delete_secret",
    "vault_status",
    "unlock_vault",
    "list_tools",
    "call_tool",
    "answer_question",
    "authorize",
    "cancel_authorization",
    "sign_out",
    "open_url",
    "start_demo_server",
    "get_app_settings",
    "set_start_at_login",
    "open_folder",
    "get_diagnostics",
    "list_activity",
    "list_clients",
    "import_clients",
    "connect_client",
    "disconnect_client",
    "client_snippet",
    "gateway_status",
    "add_gateway_token",
    "revoke_gateway_token",
];

/// What the placeholder page carries, so that scripts can tell it from a built UI.
const PLACEHOLDER_MARK: &str = "gatehouse-placeholder";

fn ensure_ui_dist() {
    let index = Path::new("../ui/dist/index.html");
    println!("cargo:rerun-if-changed=../ui/dist/index.html");
    if index.exists() {
        return;
    }
    let placeholder = std::fs::read_to_string("placeholder/index.html")
        .expect("src-tauri/placeholder/index.html is part of the repository");
    assert!(placeholder.contains(PLACEHOLDER_MARK));
    std::fs::create_dir_all("../ui/dist").expect("cannot create ui/dist");
    std::fs::write(index, placeholder).expect("cannot write ui/dist/index.html");
    println!(
        "cargo:warning=ui/dist was missing: the app embeds a placeholder page; \
         run `npm ci && npm run ui:build` (or scripts/run-app.sh) for the real window"
    );
}

fn main() {
    ensure_ui_dist();
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("failed to run the Tauri build script");
}
