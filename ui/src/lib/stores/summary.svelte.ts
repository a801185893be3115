// The window's copy of `app_state`: the same overall summary the tray icon shows, and why the
// config file could not be loaded (if it could not).
//
// The backend computes the summary (one definition for tray and window); the window re-fetches it
// at start and after every `status` and `servers_changed` event. Fetches that overlap share one
// request and run once more after it, so the last answer always reflects the last event.

import type { AppState } from "../bindings/AppState";
import type { TrayState } from "../bindings/TrayState";
import * as ipc from "../ipc";

const LABELS: Record<TrayState, string> = {
  nothing_configured: "No servers",
  all_connected: "All connected",
  needs_attention: "Needs attention",
  errors: "Errors",
};

export function summaryLabel(state: TrayState): string {
  return LABELS[state];
}

export class SummaryStore {
  /** The last answer of `app_state`; null before the first one. */
  current = $state<AppState | null>(null);

  #inFlight: Promise<void> | null = null;
  #again = false;

  refresh(): Promise<void> {
    if (this.#inFlight) {
      this.#again = true;
      return this.#inFlight;
    }
    this.#inFlight = this.#fetchUntilSettled();
    return this.#inFlight;
  }

  /**
   * Fetches until no request came in meanwhile. `#inFlight` is cleared in the same microtask as
   * the last `#again` check, so a request can never slip in between and be lost.
   */
  async #fetchUntilSettled(): Promise<void> {
    try {
      do {
        this.#again = false;
        try {
          this.current = await ipc.appState();
        } catch {
          // Keep the last known summary; the next event fetches it again.
        }
      } while (this.#again);
    } finally {
      this.#inFlight = null;
    }
  }
}
