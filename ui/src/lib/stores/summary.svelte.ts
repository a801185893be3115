// The window's copy of `app_state`: the same overall summary the tray icon shows, and why the
// config file could not be loaded (if it could not).
//
// The backend computes the summary (one definition for tray and window); the window re-fetches it
// at start and after every `status` and `servers_changed` event. Fetches that overlap share one
// request and run once more after it, so the last answer always reflects the last event.

import type { AppState } from "../bindings/AppState";
import type { TrayState } from "../bindings/TrayState";
import { CoalescedRefresh } from "../coalesce";
import * as ipc from "../ipc";

const LABELS: Record<TrayState, string> = {
  nothing_configured: "No servers",
  all_connected: "All connected",
  connecting: "Connecting…",
  needs_attention: "Needs attention",
  errors: "Errors",
};

export function summaryLabel(state: TrayState): string {
  return LABELS[state];
}

export class SummaryStore {
  /** The last answer of `app_state`; null before the first one. */
  current = $state<AppState | null>(null);

  #refresh = new CoalescedRefresh(async () => {
    try {
      this.current = await ipc.appState();
    } catch {
      // Keep the last known summary; the next event fetches it again.
    }
  });

  refresh(): Promise<void> {
    return this.#refresh.run();
  }
}
