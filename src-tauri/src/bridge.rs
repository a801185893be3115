//! Forwards the engine's events to the window (`app.emit`) and the tray,
//! and turns "needs authorization again" and "a client is waiting for a
//! server that needs authorization" into desktop notifications.

use gatehouse_core::Engine;
use gatehouse_core::events::Event;
use tauri::{AppHandle, Emitter, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;

use crate::{EVENT_NAME, tray};

/// Runs for the life of the app.
pub fn spawn<R: Runtime>(app: AppHandle<R>, engine: Engine) {
    let mut events = engine.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => forward(&app, &engine, &event).await,
                Err(RecvError::Lagged(missed)) => {
                    // The window re-reads the whole list on this event.
                    tracing::warn!(missed, "event bridge lagged; asking the window to refresh");
                    forward(&app, &engine, &Event::ServersChanged).await;
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}

async fn forward<R: Runtime>(app: &AppHandle<R>, engine: &Engine, event: &Event) {
    if let Err(error) = app.emit(EVENT_NAME, event) {
        tracing::warn!(%error, "could not send an event to the window");
    }
    match event {
        Event::Status { .. } | Event::ServersChanged => tray::refresh(app, &engine.servers().await),
        Event::ReauthorizationNeeded { server } => notify(
            app,
            format!(
                "{server} needs you to authorize it again. Open Gatehouse and click Authorize."
            ),
        ),
        Event::AuthorizationWanted { server, client } => notify(
            app,
            format!(
                "{} is waiting for {server}, which needs you to authorize it. Open Gatehouse and click Authorize.",
                gatehouse_core::text::one_line(client, 60)
            ),
        ),
        _ => {}
    }
}

fn notify<R: Runtime>(app: &AppHandle<R>, body: String) {
    let shown = app
        .notification()
        .builder()
        .title("Gatehouse: authorization needed")
        .body(body)
        .show();
    if let Err(error) = shown {
        tracing::info!(%error, "could not show a desktop notification");
    }
}
