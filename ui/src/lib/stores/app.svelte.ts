// The stores of one window, created once by App and handed to components through Svelte context,
// and the event subscription that keeps them current.

import { getContext, setContext, tick } from "svelte";
import * as ipc from "../ipc";
import { afterPaint } from "../paint";
import { ActivityStore } from "./activity.svelte";
import { QuestionsStore } from "./questions.svelte";
import { ServersStore } from "./servers.svelte";
import { SummaryStore } from "./summary.svelte";
import { UiStore } from "./ui.svelte";
import { VaultStore } from "./vault.svelte";

export type AppState = {
  servers: ServersStore;
  /** The tray's summary and any config-file problem (`app_state`). */
  summary: SummaryStore;
  vault: VaultStore;
  /** The calls clients made through the proxy and the gateway, kept live by `activity` events. */
  activity: ActivityStore;
  /** Servers' questions waiting for the person (elicitation), kept by `ask` events. */
  questions: QuestionsStore;
  ui: UiStore;
  /** False when the page runs outside the Gatehouse app (e.g. `vite dev` in a browser). */
  inGatehouse: boolean;
};

const KEY = Symbol("gatehouse-app-state");

export function createAppState(): AppState {
  return {
    servers: new ServersStore(),
    summary: new SummaryStore(),
    vault: new VaultStore(),
    activity: new ActivityStore(),
    questions: new QuestionsStore(),
    ui: new UiStore(),
    inGatehouse: ipc.inGatehouse(),
  };
}

export function provideAppState(state: AppState): void {
  setContext(KEY, state);
}

export function appState(): AppState {
  const state = getContext<AppState | undefined>(KEY);
  if (!state) throw new Error("appState() used outside <App>");
  return state;
}

/**
 * Subscribes to backend events first (so nothing is missed), then fetches the initial state.
 * Resolves to the unsubscribe function.
 */
export async function startSync(state: AppState): Promise<() => void> {
  if (!state.inGatehouse) {
    state.servers.loaded = true;
    return () => {};
  }
  let stop: () => void = () => {};
  try {
    const stopEvents = await ipc.onEvent((event) => {
      state.servers.handle(event);
      state.activity.handle(event);
      if (event.type === "status" || event.type === "servers_changed") void state.summary.refresh();
      if (event.type === "vault_changed") void state.vault.refresh();
    });
    const stopQuestions = await ipc.onAsk((event) => state.questions.handle(event));
    stop = () => {
      stopEvents();
      stopQuestions();
    };
  } catch (error) {
    state.servers.loadError = ipc.toIpcError(error);
  }
  await Promise.all([state.servers.load(), state.summary.refresh(), state.vault.refresh()]);
  return stop;
}

/**
 * Once the first server list is on screen (rendered, then two animation frames, so a frame with it
 * was painted), tells the backend, which logs the time since launch. A hidden window paints when
 * it is first shown.
 */
export async function reportFirstPaint(state: AppState, mounted: () => boolean): Promise<void> {
  if (!state.inGatehouse) return;
  await tick();
  await afterPaint();
  if (!mounted()) return;
  // Only a log line depends on it: a failure here is not the person's concern.
  await ipc.windowPainted(state.servers.servers.length).catch(() => {});
}
