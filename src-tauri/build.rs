//! Embeds the UI and generates one permission per app command, so the
//! window's capability can list exactly the commands it uses.

/// Every `#[tauri::command]` in src/commands.rs.
const COMMANDS: &[&str] = &[
    "app_state",
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
    "authorize",
    "cancel_authorization",
    "sign_out",
    "open_url",
    "start_demo_server",
    "get_app_settings",
    "set_start_at_login",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("failed to run the Tauri build script");
}
