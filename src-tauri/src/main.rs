// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // SAFETY: first thing in main, before any thread exists. The browser
    // and the other programs the app opens must not inherit the passphrase.
    let vault_passphrase = unsafe { gatehouse_core::vault::take_passphrase_from_env() };
    gatehouse_app::run(vault_passphrase);
}
