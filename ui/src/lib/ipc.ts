// The one door between the UI and the Gatehouse backend.
//
// Every Tauri command the window uses has a typed wrapper here, and `onEvent` subscribes to the
// single `gatehouse://event` stream. No other module imports `@tauri-apps/api`, so the contract (the
// commands of src-tauri/src/commands.rs, the payload types generated into ./bindings) is mirrored in
// exactly one place; src-tauri/src/command_list.rs fails when the names here drift from the
// backend's. Every rejection is normalised to an `IpcError` (`{ code, message, issues? }`),
// including the plain strings Tauri itself rejects with (unknown command, capability denials) and
// the case of running outside the app.

import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type { ActivityRecord } from "./bindings/ActivityRecord";
import type { AppSettings } from "./bindings/AppSettings";
import type { AppState } from "./bindings/AppState";
import type { AskEvent } from "./bindings/AskEvent";
import type { AuthorizationStarted } from "./bindings/AuthorizationStarted";
import type { ClientKind } from "./bindings/ClientKind";
import type { ConnectReport } from "./bindings/ConnectReport";
import type { DetectedClient } from "./bindings/DetectedClient";
import type { DisconnectReport } from "./bindings/DisconnectReport";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { Folder } from "./bindings/Folder";
import type { GatewayOverview } from "./bindings/GatewayOverview";
import type { GatehouseEvent } from "./bindings/GatehouseEvent";
import type { ImportPreview } from "./bindings/ImportPreview";
import type { IpcError } from "./bindings/IpcError";
import type { NewGatewayToken } from "./bindings/NewGatewayToken";
import type { PersonAnswer } from "./bindings/PersonAnswer";
import type { ServerSettings } from "./bindings/ServerSettings";
import type { ServerView } from "./bindings/ServerView";
import type { ToolCallResult } from "./bindings/ToolCallResult";
import type { ToolInfo } from "./bindings/ToolInfo";
import type { Validation } from "./bindings/Validation";
import type { VaultStatus } from "./bindings/VaultStatus";

export const EVENT_NAME = "gatehouse://event";
/** Where servers' questions (and their withdrawal) arrive: see src-tauri/src/ask.rs. */
export const ASK_EVENT = "gatehouse://ask";

/** Code used when the page runs in a plain browser, without the Gatehouse backend. */
export const NOT_IN_GATEHOUSE = "not_in_gatehouse" satisfies ErrorCode;

type TauriWindow = { __TAURI_INTERNALS__?: { invoke?: unknown } };

/** True when a Tauri IPC bridge is present (the real app, or `mockIPC` in tests). */
export function inGatehouse(): boolean {
  if (typeof window === "undefined") return false;
  const internals = (window as unknown as TauriWindow).__TAURI_INTERNALS__;
  return typeof internals?.invoke === "function";
}

export function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

/** Turns whatever a command rejected with into an `IpcError`. */
export function toIpcError(value: unknown): IpcError {
  if (isIpcError(value)) return value;
  if (typeof value === "string") return { code: "unknown", message: value };
  if (value instanceof Error) return { code: "unknown", message: value.message };
  return { code: "unknown", message: "Something went wrong." };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  if (!inGatehouse()) {
    throw {
      code: NOT_IN_GATEHOUSE,
      message: "Not running inside Gatehouse.",
    } satisfies IpcError;
  }
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toIpcError(error);
  }
}

export const appState = () => call<AppState>("app_state");
/** Tells the backend the window painted its first server list (logged once, with the time since launch). */
export const windowPainted = (servers: number) => call<void>("window_painted", { servers });
export const listServers = () => call<ServerView[]>("list_servers");
export const getServer = (id: string) => call<ServerSettings>("get_server", { id });
export const validateServer = (settings: ServerSettings, replacing: string | null) =>
  call<Validation>("validate_server", { settings, replacing });
export const saveServer = (settings: ServerSettings, replacing: string | null) =>
  call<void>("save_server", { settings, replacing });
export const removeServer = (id: string) => call<void>("remove_server", { id });
export const setServerEnabled = (id: string, enabled: boolean) =>
  call<void>("set_server_enabled", { id, enabled });

export const listSecrets = () => call<string[]>("list_secrets");
export const setSecret = (name: string, value: string) => call<void>("set_secret", { name, value });
export const deleteSecret = (name: string) => call<void>("delete_secret", { name });
export const vaultStatus = () => call<VaultStatus>("vault_status");
export const unlockVault = (passphrase: string) => call<void>("unlock_vault", { passphrase });

export const listTools = (id: string) => call<ToolInfo[]>("list_tools", { id });
export const callTool = (id: string, tool: string, args: Record<string, unknown>) =>
  call<ToolCallResult>("call_tool", { id, tool, arguments: args });

export const authorize = (id: string) => call<AuthorizationStarted>("authorize", { id });
export const cancelAuthorization = (id: string) => call<void>("cancel_authorization", { id });
export const signOut = (id: string) => call<void>("sign_out", { id });
export const openUrl = (url: string) => call<void>("open_url", { url });
export const startDemoServer = () => call<ServerView>("start_demo_server");

export const getAppSettings = () => call<AppSettings>("get_app_settings");
export const setStartAtLogin = (enabled: boolean) => call<void>("set_start_at_login", { enabled });
export const openFolder = (folder: Folder) => call<void>("open_folder", { folder });
export const getDiagnostics = () => call<string>("get_diagnostics");

/** The local HTTP gateway: where it runs (or why not), each server's URL, the clients' token names. */
export const gatewayStatus = () => call<GatewayOverview>("gateway_status");
/** A new token for a gateway client: the only answer that carries one, to be shown once. */
export const addGatewayToken = (client: string) => call<NewGatewayToken>("add_gateway_token", { client });
export const revokeGatewayToken = (client: string) => call<void>("revoke_gateway_token", { client });

/** The person's answer to a server's question (`ask` event). */
export const answerQuestion = (id: number, answer: PersonAnswer) => call<void>("answer_question", { id, answer });

/** The newest calls in the Activity record, oldest first; new ones come as `activity` events. */
export const listActivity = (limit: number) => call<ActivityRecord[]>("list_activity", { limit });

/**
 * Subscribes to backend events. Resolves to an unsubscribe function; outside the app it resolves
 * to a no-op so callers need no special case.
 */
export function onEvent(handler: (event: GatehouseEvent) => void): Promise<() => void> {
  return subscribe(EVENT_NAME, handler);
}

/** Subscribes to servers' questions; like `onEvent`. */
export function onAsk(handler: (event: AskEvent) => void): Promise<() => void> {
  return subscribe(ASK_EVENT, handler);
}

async function subscribe<T>(name: string, handler: (payload: T) => void): Promise<() => void> {
  if (!inGatehouse()) return () => {};
  const unlisten = await listen<T>(name, (event) => handler(event.payload));
  return () => {
    // Unlistening can fail once the bridge is gone (window closing); nothing is left to do then.
    Promise.resolve()
      .then(() => unlisten())
      .catch(() => {});
  };
}

export const listClients = () => call<DetectedClient[]>("list_clients");
export const importClients = (clients: ClientKind[], dryRun: boolean) =>
  call<ImportPreview>("import_clients", { clients, dryRun });
export const connectClient = (client: ClientKind, dryRun: boolean) =>
  call<ConnectReport>("connect_client", { client, dryRun });
export const disconnectClient = (client: ClientKind) =>
  call<DisconnectReport>("disconnect_client", { client });
export const clientSnippet = (client: ClientKind, server: string) =>
  call<string>("client_snippet", { client, server });
