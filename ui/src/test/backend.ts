// A scripted stand-in for the Gatehouse backend in component tests, built on Tauri's own IPC mocks
// (`mockIPC` with event mocking). It exists only in tests: the app never ships a fake backend.
// Tests import `@tauri-apps/api` here and nowhere else; app code goes through `lib/ipc.ts`.

import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { act } from "@testing-library/svelte";
import type { AskEvent } from "../lib/bindings/AskEvent";
import type { GatehouseEvent } from "../lib/bindings/GatehouseEvent";
import type { IpcError } from "../lib/bindings/IpcError";
import type { ServerStatus } from "../lib/bindings/ServerStatus";
import type { ServerView } from "../lib/bindings/ServerView";
import type { TraySummary } from "../lib/bindings/TraySummary";
import { ASK_EVENT, EVENT_NAME } from "../lib/ipc";

export type Args = Record<string, unknown>;
export type Handler = (args: Args) => unknown;
export type Call = { cmd: string; args: Args };

/** Makes a handler reject the way the backend does, with an `IpcError`. */
export function reject(error: IpcError): Handler {
  return () => {
    throw error;
  };
}

/** What get_app_settings tells besides the settings themselves. */
export const APP_INFO = {
  version: "0.1.0",
  configFile: "/home/ada/.config/gatehouse/config.toml",
  dataDir: "/home/ada/.local/share/gatehouse",
  logDir: "/home/ada/.local/share/gatehouse/logs",
};

/** What gateway_status answers unless a test scripts it: this app serves the gateway, no clients yet. */
export const GATEWAY_RUNNING = {
  gateway: { port: 47821, listening: true, servedHere: true, servers: [], problem: null },
  tokens: [],
};

const defaults: Record<string, Handler> = {
  list_servers: () => [],
  window_painted: () => undefined,
  vault_status: () => ({ state: "unlocked", protection: "keyring" }),
  list_secrets: () => [],
  validate_server: () => ({ errors: [], warnings: [] }),
  get_app_settings: () => ({ ...APP_INFO, startAtLogin: false }),
  gateway_status: () => GATEWAY_RUNNING,
};

export type Backend = {
  calls: Call[];
  /** Calls of one command, in order. */
  callsTo: (cmd: string) => Call[];
  /** Replaces or adds a handler mid-test. */
  on: (cmd: string, handler: Handler) => void;
};

/** The tray summary of a server list, as the backend computes it (`TraySummary::of`). */
export function summarize(servers: ServerView[]): TraySummary {
  const active = servers.filter((s) => s.status.state !== "disabled");
  const count = (states: string[]) => active.filter((s) => states.includes(s.status.state)).length;
  const connected = count(["connected"]);
  const needsAttention = count(["needs_authorization", "authorizing"]);
  const errors = count(["error"]);
  const state =
    active.length === 0
      ? "nothing_configured"
      : errors > 0
        ? "errors"
        : needsAttention > 0
          ? "needs_attention"
          : connected < active.length
            ? "connecting"
            : "all_connected";
  return { state, total: active.length, connected, needsAttention, errors };
}

/**
 * Installs the mock; commands without a handler reject with code "unknown", as the app does for a
 * command it lacks (Tauri rejects with a string, which `ipc.ts` turns into "unknown"). Unless a test
 * scripts `app_state`, it answers with the summary of whatever `list_servers` answers.
 */
export function mockBackend(handlers: Record<string, Handler> = {}): Backend {
  const table: Record<string, Handler> = {
    ...defaults,
    app_state: (args) => ({
      summary: summarize((table.list_servers?.(args) ?? []) as ServerView[]),
      configProblem: null,
    }),
    ...handlers,
  };
  const calls: Call[] = [];
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Args;
      calls.push({ cmd, args });
      const handler = table[cmd];
      if (!handler) throw { code: "unknown", message: `no mock for ${cmd}` } satisfies IpcError;
      return handler(args);
    },
    { shouldMockEvents: true },
  );
  return {
    calls,
    callsTo: (cmd) => calls.filter((c) => c.cmd === cmd),
    on: (cmd, handler) => {
      table[cmd] = handler;
    },
  };
}

/** Delivers a backend event to the window, as the Tauri bridge would. */
export async function emitEvent(event: GatehouseEvent): Promise<void> {
  await act(() => emit(EVENT_NAME, event));
}

/** A server's question (or its withdrawal) reaching the window. */
export async function emitAsk(event: AskEvent): Promise<void> {
  await act(() => emit(ASK_EVENT, event));
}

export function resetBackend(): void {
  clearMocks();
}

export function server(id: string, status: ServerStatus, extra: Partial<ServerView> = {}): ServerView {
  return {
    id,
    url: `https://${id}.example.com/mcp`,
    enabled: status.state !== "disabled",
    authMode: "none",
    headerNames: [],
    status,
    oauth: null,
    ...extra,
  };
}

export function oauthServer(id: string, status: ServerStatus, extra: Partial<ServerView> = {}): ServerView {
  return server(id, status, {
    authMode: "oauth",
    oauth: { expiresAt: null, scopes: [], issuer: null },
    ...extra,
  });
}
