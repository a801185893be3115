// Hand-written to match the IPC contract until ts-rs generates this file.
import type { AuthorizationStep } from "./AuthorizationStep";
import type { ServerStatus } from "./ServerStatus";

/** Payload of the one Tauri event `gatehouse://event`. */
export type GatehouseEvent =
  | { type: "status"; server: string; status: ServerStatus }
  | { type: "servers_changed" }
  | { type: "vault_changed" }
  | { type: "authorization"; server: string; step: AuthorizationStep }
  | { type: "reauthorization_needed"; server: string };
