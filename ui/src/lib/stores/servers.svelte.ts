// The window's picture of the configured servers and their live status.
//
// The list comes from `list_servers` at start and whenever the backend says `servers_changed`;
// after that each row's status is kept current by `status` events alone (no polling). Alongside
// the backend's status this store keeps what only the window knows: an authorization the person
// just started (before the backend's first event arrives), the last authorization failure in
// plain words, and which Authorize buttons deserve attention.

import type { GatehouseEvent } from "../bindings/GatehouseEvent";
import type { IpcError } from "../bindings/IpcError";
import type { ServerStatus } from "../bindings/ServerStatus";
import type { ServerView } from "../bindings/ServerView";
import { CoalescedRefresh } from "../coalesce";
import * as ipc from "../ipc";
import { describeError, explainAuthorizationReason } from "../messages";

export type AuthStep = "starting" | "waiting" | "exchanging";

export type AuthProgress = {
  /** The consent URL, once known (from `authorize`, the status or a `waiting_for_browser` step). */
  url: string | null;
  step: AuthStep;
  /** Whether the backend has confirmed the authorization (status `authorizing` or an event). */
  confirmed: boolean;
};

export class ServersStore {
  servers = $state<ServerView[]>([]);
  /** True once the first `list_servers` answered (or failed). */
  loaded = $state(false);
  loadError = $state<IpcError | null>(null);
  /** Authorizations in progress, by server id. */
  progress = $state<Record<string, AuthProgress>>({});
  /** The last failure of an action on a server, in plain words, by server id. */
  problems = $state<Record<string, string>>({});
  /** Servers whose Authorize button should stand out (the demo, a server asking to re-authorize). */
  attention = $state<Record<string, boolean>>({});
  /** The client (through a proxy or the gateway) waiting for a server that needs authorization, by server id. */
  waiting = $state<Record<string, string>>({});

  #refresh = new CoalescedRefresh(() => this.#fetchOnce());
  /** Status events that arrived while `list_servers` was in flight, applied over its answer. */
  #recent = new Map<string, ServerStatus>();
  #cancelling = new Set<string>();

  get needingAttention(): number {
    return this.servers.filter(
      (s) => s.status.state === "needs_authorization" || s.status.state === "error",
    ).length;
  }

  find(id: string): ServerView | undefined {
    return this.servers.find((s) => s.id === id);
  }

  /** Fetches the list; concurrent calls share one request and re-fetch once after it. */
  load(): Promise<void> {
    return this.#refresh.run();
  }

  async #fetchOnce(): Promise<void> {
    this.#recent.clear();
    try {
      const list = await ipc.listServers();
      for (const [id, status] of this.#recent) {
        const row = list.find((s) => s.id === id);
        if (row) row.status = status;
      }
      this.servers = list;
      this.loadError = null;
      for (const view of list) this.#settleLocalState(view.id, view.status);
    } catch (error) {
      this.loadError = ipc.toIpcError(error);
    }
    this.loaded = true;
  }

  /** Applies one backend event. */
  handle(event: GatehouseEvent): void {
    switch (event.type) {
      case "servers_changed":
        void this.load();
        break;
      case "status":
        this.applyStatus(event.server, event.status);
        break;
      case "authorization":
        this.#applyAuthorizationStep(event);
        break;
      case "reauthorization_needed":
        this.attention[event.server] = true;
        break;
      case "authorization_wanted":
        this.attention[event.server] = true;
        this.waiting[event.server] = event.client;
        break;
      case "vault_changed":
        break;
    }
  }

  #clearAttention(id: string): void {
    delete this.attention[id];
    delete this.waiting[id];
  }

  applyStatus(id: string, status: ServerStatus): void {
    if (this.#refresh.busy) this.#recent.set(id, status);
    const row = this.find(id);
    const wasConnected = row?.status.state === "connected";
    if (row) row.status = status;
    this.#settleLocalState(id, status);
    // Status events carry no token facts: an OAuth server that just connected (a new grant, or a
    // refreshed one) is read again for its issuer and expiry.
    if (row?.authMode === "oauth" && status.state === "connected" && !wasConnected) void this.load();
  }

  /** Keeps the window-only state consistent with a status from the backend. */
  #settleLocalState(id: string, status: ServerStatus): void {
    const current = this.progress[id];
    switch (status.state) {
      case "authorizing":
        this.progress[id] = {
          url: status.url ?? current?.url ?? null,
          step: current?.step === "exchanging" ? "exchanging" : "waiting",
          confirmed: true,
        };
        delete this.problems[id];
        break;
      case "connected":
        delete this.progress[id];
        delete this.problems[id];
        this.#clearAttention(id);
        break;
      case "needs_authorization":
        if (current?.confirmed) delete this.progress[id];
        break;
      case "connecting":
        if (current?.confirmed) delete this.progress[id];
        break;
      case "disabled":
      case "error":
        delete this.progress[id];
        break;
    }
  }

  #applyAuthorizationStep(event: Extract<GatehouseEvent, { type: "authorization" }>): void {
    const id = event.server;
    const step = event.step;
    switch (step.step) {
      case "waiting_for_browser":
        this.progress[id] = { url: step.url, step: "waiting", confirmed: true };
        delete this.problems[id];
        break;
      case "exchanging_code": {
        const current = this.progress[id];
        this.progress[id] = { url: current?.url ?? null, step: "exchanging", confirmed: true };
        break;
      }
      case "connected":
        delete this.progress[id];
        delete this.problems[id];
        this.#clearAttention(id);
        break;
      case "failed":
        delete this.progress[id];
        if (this.#cancelling.has(id)) break;
        this.problems[id] = explainAuthorizationReason(step.reason);
        break;
    }
  }

  /** Starts click-to-authorize; the backend opens the system browser. */
  async authorize(id: string): Promise<void> {
    delete this.problems[id];
    this.#cancelling.delete(id);
    this.progress[id] = { url: null, step: "starting", confirmed: false };
    try {
      const { url } = await ipc.authorize(id);
      // The backend has opened the browser by now; events may already have moved things on.
      const current = this.progress[id];
      if (current) {
        if (current.url === null) current.url = url;
        if (current.step === "starting") current.step = "waiting";
      }
    } catch (error) {
      delete this.progress[id];
      this.problems[id] = describeError(ipc.toIpcError(error));
    }
  }

  async cancelAuthorization(id: string): Promise<void> {
    this.#cancelling.add(id);
    try {
      await ipc.cancelAuthorization(id);
      delete this.progress[id];
    } catch (error) {
      this.#cancelling.delete(id);
      this.problems[id] = describeError(ipc.toIpcError(error));
    }
  }

  async openAgain(id: string, url: string): Promise<void> {
    try {
      await ipc.openUrl(url);
    } catch (error) {
      this.problems[id] = describeError(ipc.toIpcError(error));
    }
  }

  /** Runs an action on one server; a failure is shown on its row. Returns whether it worked. */
  async #act(id: string, action: () => Promise<void>): Promise<boolean> {
    delete this.problems[id];
    try {
      await action();
      return true;
    } catch (error) {
      this.problems[id] = describeError(ipc.toIpcError(error));
      return false;
    }
  }

  async setEnabled(id: string, enabled: boolean): Promise<void> {
    const row = this.find(id);
    const ok = await this.#act(id, () => ipc.setServerEnabled(id, enabled));
    if (ok && row) row.enabled = enabled;
    if (ok) void this.load();
  }

  async remove(id: string): Promise<void> {
    const ok = await this.#act(id, () => ipc.removeServer(id));
    if (ok) {
      this.servers = this.servers.filter((s) => s.id !== id);
      delete this.progress[id];
      this.#clearAttention(id);
      void this.load();
    }
  }

  async signOut(id: string): Promise<void> {
    const ok = await this.#act(id, () => ipc.signOut(id));
    if (ok) void this.load();
  }

  /** Adds the built-in demo server and points the person at its Authorize button. */
  async startDemo(): Promise<IpcError | null> {
    try {
      const view = await ipc.startDemoServer();
      this.upsert(view);
      this.attention[view.id] = true;
      void this.load();
      return null;
    } catch (error) {
      return ipc.toIpcError(error);
    }
  }

  upsert(view: ServerView): void {
    const index = this.servers.findIndex((s) => s.id === view.id);
    if (index === -1) this.servers.push(view);
    else this.servers[index] = view;
  }
}
