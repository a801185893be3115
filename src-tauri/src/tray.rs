//! The tray icon: one image per aggregate state, a tooltip with counts, and
//! a menu with each server's status, "Authorize <id>" for servers that need
//! it, "Open Gatehouse" and "Quit". Fed by the same events as the window.

use gatehouse_core::api::{ServerView, TrayState, TraySummary};
use gatehouse_core::events::ServerStatus;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Runtime};

const TRAY_ID: &str = "gatehouse";
const OPEN: &str = "open";
const QUIT: &str = "quit";
const AUTHORIZE_PREFIX: &str = "authorize:";

fn icon(state: TrayState) -> Image<'static> {
    let bytes: &'static [u8] = match state {
        TrayState::AllConnected => include_bytes!("../../icons/tray-ok.png"),
        TrayState::NeedsAttention => include_bytes!("../../icons/tray-attention.png"),
        TrayState::Errors => include_bytes!("../../icons/tray-error.png"),
        TrayState::NothingConfigured => include_bytes!("../../icons/tray-idle.png"),
    };
    Image::from_bytes(bytes).expect("tray icons are valid PNGs")
}

/// Creates the tray icon.
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let summary = TraySummary::of(&[]);
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(summary.state))
        .tooltip(summary.tooltip())
        .menu(&menu(app, &[])?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .build(app)?;
    Ok(())
}

/// Brings the tray up to date with the servers.
pub fn refresh<R: Runtime>(app: &AppHandle<R>, servers: &[ServerView]) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    if let Err(error) = update(app, &tray, servers) {
        tracing::warn!(%error, "could not update the tray");
    }
}

fn update<R: Runtime>(
    app: &AppHandle<R>,
    tray: &TrayIcon<R>,
    servers: &[ServerView],
) -> tauri::Result<()> {
    let summary = TraySummary::of(servers);
    tray.set_icon(Some(icon(summary.state)))?;
    tray.set_tooltip(Some(summary.tooltip()))?;
    tray.set_menu(Some(menu(app, servers)?))?;
    Ok(())
}

fn menu<R: Runtime>(app: &AppHandle<R>, servers: &[ServerView]) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    if servers.is_empty() {
        menu.append(&MenuItem::new(app, "No servers yet", false, None::<&str>)?)?;
    }
    for server in servers {
        let label = format!("{} — {}", server.id, status_label(&server.status));
        menu.append(&MenuItem::new(app, label, false, None::<&str>)?)?;
    }
    let needing: Vec<&ServerView> = servers
        .iter()
        .filter(|s| matches!(s.status, ServerStatus::NeedsAuthorization { .. }))
        .collect();
    if !needing.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
        for server in needing {
            menu.append(&MenuItem::with_id(
                app,
                format!("{AUTHORIZE_PREFIX}{}", server.id),
                format!("Authorize {}", server.id),
                true,
                None::<&str>,
            )?)?;
        }
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(
        app,
        OPEN,
        "Open Gatehouse",
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(app, QUIT, "Quit", true, None::<&str>)?)?;
    Ok(menu)
}

fn status_label(status: &ServerStatus) -> String {
    match status {
        ServerStatus::Connected { tool_count, .. } => format!("connected ({tool_count} tools)"),
        ServerStatus::Error { message, .. } => {
            let short: String = message.chars().take(60).collect();
            format!("error: {short}")
        }
        other => other.label().replace('_', " "),
    }
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    match id {
        OPEN => crate::show_main_window(app),
        QUIT => app.exit(0),
        other => {
            if let Some(server) = other.strip_prefix(AUTHORIZE_PREFIX) {
                crate::show_main_window(app);
                crate::commands::authorize_from_tray(app, server.to_owned());
            }
        }
    }
}
