// The window's picture of the Activity record: the newest calls that clients made through
// `gatehouse proxy` and the gateway (in any process), loaded once when the Activity page first
// opens and kept current by `activity` events. Records hold names and numbers only — never
// arguments, results or tokens — so nothing here is secret.

import type { ActivityRecord } from "../bindings/ActivityRecord";
import type { GatehouseEvent } from "../bindings/GatehouseEvent";
import type { IpcError } from "../bindings/IpcError";
import type { Outcome } from "../bindings/Outcome";
import * as ipc from "../ipc";

/** The most calls the window keeps; older ones fall off the top. */
export const KEEP = 500;

export type ActivityFilter = { server: string; client: string };

/** What the filters leave of `records` ("" means any). */
export function filterActivity(records: ActivityRecord[], filter: ActivityFilter): ActivityRecord[] {
  return records.filter(
    (r) => (filter.server === "" || r.server === filter.server) && (filter.client === "" || r.client === filter.client),
  );
}

/** The distinct values of one field, sorted, for a filter's choices. */
export function distinct(records: ActivityRecord[], field: "server" | "client"): string[] {
  return [...new Set(records.map((r) => r[field]))].sort((a, b) => a.localeCompare(b));
}

/** How a call ended, in a few words (as `gatehouse activity` prints it). */
export function outcomeText(outcome: Outcome): string {
  switch (outcome.kind) {
    case "ok":
      return "ok";
    case "tool_error":
      return "tool error";
    case "error":
      return `error ${outcome.code} (${outcome.message})`;
    case "cancelled":
      return "cancelled";
    case "timeout":
      return "timeout";
    case "filtered":
      return "filtered out";
    case "needs_authorization":
      return "needs authorization";
  }
}

/** What was called: the tool for `tools/call`, else the method. */
export function callText(record: ActivityRecord): string {
  return record.tool === undefined ? record.method : `${record.method} ${record.tool}`;
}

function key(record: ActivityRecord): string {
  return JSON.stringify(record);
}

export class ActivityStore {
  /** Oldest first, at most `KEEP`. */
  records = $state<ActivityRecord[]>([]);
  loaded = $state(false);
  loadError = $state<IpcError | null>(null);
  #loading: Promise<void> | null = null;
  /** Records announced while the first load was under way. */
  #pending: ActivityRecord[] = [];

  /** Loads the record once; later calls wait for the same load. */
  load(): Promise<void> {
    this.#loading ??= this.#fetch();
    return this.#loading;
  }

  async #fetch(): Promise<void> {
    try {
      const records = await ipc.listActivity(KEEP);
      // An event may have announced what the list already holds.
      const seen = new Set(records.map(key));
      this.#keep([...records, ...this.#pending.filter((r) => !seen.has(key(r)))]);
      this.loadError = null;
      this.loaded = true;
    } catch (error) {
      this.loadError = ipc.toIpcError(error);
      this.#loading = null;
    } finally {
      this.#pending = [];
    }
  }

  handle(event: GatehouseEvent): void {
    if (event.type !== "activity") return;
    if (this.loaded) this.#keep([...this.records, ...event.records]);
    else if (this.#loading) this.#pending.push(...event.records);
  }

  #keep(records: ActivityRecord[]): void {
    this.records = records.slice(-KEEP);
  }
}
