//! Start at login, made safe to leave behind. tauri-plugin-autostart writes
//! `~/.config/autostart/<app>.desktop` with only `Exec=` naming the binary;
//! after the package is removed that entry would stay and the desktop would
//! try (and fail) to run a missing program at every login. Removing a package
//! cannot touch a person's home folder, so the entry itself is made inert:
//! `TryExec=` names the same binary, and desktops skip an entry whose
//! `TryExec` program does not exist (Desktop Entry Specification).
//!
//! At each start of the desktop app an enabled entry is written again, so it
//! names the binary that runs now (after an upgrade, or from an older
//! version without `TryExec`).

use std::path::PathBuf;

use tauri::{AppHandle, Runtime};
use tauri_plugin_autostart::ManagerExt;

/// The autostart entry the plugin writes for this app (Linux only).
fn entry_path<R: Runtime>(app: &AppHandle<R>) -> Option<PathBuf> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(
        PathBuf::from(home)
            .join(".config/autostart")
            .join(format!("{}.desktop", app.package_info().name)),
    )
}

/// Turns start at login on or off; an entry written gets its `TryExec=`.
pub fn set_enabled<R: Runtime>(app: &AppHandle<R>, enabled: bool) -> Result<(), String> {
    let autolaunch = app.autolaunch();
    if !enabled {
        return autolaunch.disable().map_err(|e| e.to_string());
    }
    autolaunch.enable().map_err(|e| e.to_string())?;
    if let Some(path) = entry_path(app) {
        add_try_exec(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// At launch: rewrites an enabled entry for the binary running now.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    if app.autolaunch().is_enabled().unwrap_or(false)
        && let Err(error) = set_enabled(app, true)
    {
        tracing::warn!(%error, "the start-at-login entry could not be refreshed");
    }
}

/// Adds (or replaces) `TryExec=` with the program of the entry's `Exec=`.
fn add_try_exec(path: &std::path::Path) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    if let Some(updated) = with_try_exec(&text) {
        std::fs::write(path, updated)?;
    }
    Ok(())
}

/// `entry` with a `TryExec=` line naming its `Exec=` program, or `None`
/// when it has no `Exec=` (then nothing is changed).
fn with_try_exec(entry: &str) -> Option<String> {
    let program = entry
        .lines()
        .find_map(|line| line.strip_prefix("Exec="))
        .and_then(|exec| exec.split_whitespace().next())?
        .to_owned();
    let mut out = String::new();
    for line in entry.lines().filter(|l| !l.starts_with("TryExec=")) {
        out.push_str(line);
        out.push('\n');
        if line.starts_with("Exec=") {
            out.push_str(&format!("TryExec={program}\n"));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_exec_names_the_program_of_exec() {
        let written = "[Desktop Entry]\nType=Application\nName=Gatehouse\nExec=/usr/bin/gatehouse-app --hidden\nTerminal=false";
        let updated = with_try_exec(written).unwrap();
        assert!(
            updated
                .contains("Exec=/usr/bin/gatehouse-app --hidden\nTryExec=/usr/bin/gatehouse-app\n")
        );
        // Written again (after an upgrade), one TryExec for the new path.
        let moved = with_try_exec(&updated.replace("/usr/bin/", "/opt/gh/")).unwrap();
        assert_eq!(moved.matches("TryExec=").count(), 1, "{moved}");
        assert!(moved.contains("TryExec=/opt/gh/gatehouse-app\n"));
        assert_eq!(with_try_exec("[Desktop Entry]\nName=x\n"), None);
    }
}
