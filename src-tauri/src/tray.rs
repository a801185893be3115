//! The tray icon: one image per aggregate state, a tooltip with counts, and
//! a menu with the same counts (Linux tray icons have no tooltip), each
//! server's status, "Authorize <id>" for servers that need it, "Open
//! Gatehouse" and "Quit". Fed by the same events as the window.

use gatehouse_core::api::{ServerView, TrayState, TraySummary};
use gatehouse_core::events::{ServerStatus, Wording};
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
        TrayState::Connecting => include_bytes!("../../icons/tray-connecting.png"),
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

/// One line of the tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// Information only (a server's status).
    Note(String),
    Separator,
    /// A clickable item: (id, label).
    Action(String, String),
}

/// The menu for these servers: the counts, each server with its status,
/// "Authorize <id>" for those waiting for consent, then "Open Gatehouse"
/// and "Quit".
fn entries(servers: &[ServerView]) -> Vec<Entry> {
    let mut entries = vec![Entry::Note(TraySummary::of(servers).tooltip())];
    if !servers.is_empty() {
        entries.push(Entry::Separator);
    }
    for server in servers {
        entries.push(Entry::Note(format!(
            "{} — {}",
            server.id,
            status_label(&server.status)
        )));
    }
    let needing: Vec<&ServerView> = servers
        .iter()
        .filter(|s| matches!(s.status, ServerStatus::NeedsAuthorization { .. }))
        .collect();
    if !needing.is_empty() {
        entries.push(Entry::Separator);
        for server in needing {
            entries.push(Entry::Action(
                format!("{AUTHORIZE_PREFIX}{}", server.id),
                format!("Authorize {}", server.id),
            ));
        }
    }
    entries.push(Entry::Separator);
    entries.push(Entry::Action(OPEN.into(), "Open Gatehouse".into()));
    entries.push(Entry::Action(QUIT.into(), "Quit".into()));
    entries
}

fn menu<R: Runtime>(app: &AppHandle<R>, servers: &[ServerView]) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    for entry in entries(servers) {
        match entry {
            Entry::Note(label) => menu.append(&MenuItem::new(app, label, false, None::<&str>)?)?,
            Entry::Separator => menu.append(&PredefinedMenuItem::separator(app)?)?,
            Entry::Action(id, label) => {
                menu.append(&MenuItem::with_id(app, id, label, true, None::<&str>)?)?
            }
        }
    }
    Ok(menu)
}

fn status_label(status: &ServerStatus) -> String {
    status.in_words(Wording::Brief)
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

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::config::AuthMode;
    use gatehouse_core::events::ErrorKind;

    fn view(id: &str, status: ServerStatus) -> ServerView {
        ServerView {
            id: id.into(),
            url: "https://x.example/mcp".into(),
            enabled: true,
            auth_mode: AuthMode::OAuth,
            header_names: vec![],
            status,
            oauth: None,
        }
    }

    #[test]
    fn the_menu_lists_each_server_and_offers_to_authorize_those_waiting() {
        let servers = [
            view(
                "linear",
                ServerStatus::Connected {
                    server_name: "l".into(),
                    server_version: "1".into(),
                    tool_count: 12,
                    protocol_version: "2026-07-28".into(),
                },
            ),
            view(
                "sentry",
                ServerStatus::NeedsAuthorization {
                    reason: "not authorized yet".into(),
                },
            ),
            view(
                "internal",
                ServerStatus::Error {
                    kind: ErrorKind::Timeout,
                    message: "the server did not answer within 30 s".into(),
                },
            ),
        ];
        assert_eq!(
            entries(&servers),
            [
                Entry::Note(
                    "Gatehouse: 1 of 3 connected, 1 needs authorization, 1 with errors".into()
                ),
                Entry::Separator,
                Entry::Note("linear — connected (12 tools)".into()),
                Entry::Note("sentry — needs authorization".into()),
                Entry::Note("internal — error: the server did not answer within 30 s".into()),
                Entry::Separator,
                Entry::Action("authorize:sentry".into(), "Authorize sentry".into()),
                Entry::Separator,
                Entry::Action("open".into(), "Open Gatehouse".into()),
                Entry::Action("quit".into(), "Quit".into()),
            ]
        );
        assert_eq!(
            entries(&[]),
            [
                Entry::Note("Gatehouse: no servers".into()),
                Entry::Separator,
                Entry::Action("open".into(), "Open Gatehouse".into()),
                Entry::Action("quit".into(), "Quit".into()),
            ],
            "an empty menu still says something"
        );
    }

    #[test]
    fn every_tray_state_has_its_own_icon() {
        let states = [
            TrayState::NothingConfigured,
            TrayState::AllConnected,
            TrayState::Connecting,
            TrayState::NeedsAttention,
            TrayState::Errors,
        ];
        let images: Vec<Vec<u8>> = states.iter().map(|s| icon(*s).rgba().to_vec()).collect();
        for (i, a) in images.iter().enumerate() {
            for b in &images[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
