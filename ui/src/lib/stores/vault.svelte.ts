// The window's picture of the vault: whether it can be used, and the names of its secrets.
//
// Values never come back from the backend, so nothing here ever holds one; `set` passes a value
// straight through to `set_secret`. Refreshed at start and on every `vault_changed` event.

import type { IpcError } from "../bindings/IpcError";
import type { VaultStatus } from "../bindings/VaultStatus";
import * as ipc from "../ipc";

export class VaultStore {
  status = $state<VaultStatus | null>(null);
  /** Secret names, sorted. Empty while the vault is locked or unavailable. */
  names = $state<string[]>([]);
  loadError = $state<IpcError | null>(null);
  /**
   * A write failed because no OS keyring is reachable. `vault_status` cannot tell beforehand for a
   * vault that does not exist yet (it answers `not_created`), so the window remembers it and
   * offers to choose a passphrase instead.
   */
  noKeyring = $state(false);

  #inFlight: Promise<void> | null = null;
  #again = false;

  /** True when secrets can be listed and written. */
  get usable(): boolean {
    const state = this.status?.state;
    return state === "unlocked" || state === "not_created";
  }

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
          const status = await ipc.vaultStatus();
          this.status = status;
          this.loadError = null;
          if (status.state === "unlocked" || status.state === "not_created") {
            const names = await ipc.listSecrets();
            this.names = [...names].sort((a, b) => a.localeCompare(b));
          } else {
            this.names = [];
          }
        } catch (error) {
          this.loadError = ipc.toIpcError(error);
        }
      } while (this.#again);
    } finally {
      this.#inFlight = null;
    }
  }

  /** Opens the vault with a passphrase (or sets one when no keyring is reachable). */
  async unlock(passphrase: string): Promise<void> {
    await ipc.unlockVault(passphrase);
    this.noKeyring = false;
    await this.refresh();
  }

  /** Sets or replaces a secret. Rejects with an `IpcError`. */
  async set(name: string, value: string): Promise<void> {
    try {
      await ipc.setSecret(name, value);
    } catch (error) {
      const failure = ipc.toIpcError(error);
      if (failure.code === "vault_no_keyring") this.noKeyring = true;
      throw failure;
    }
    if (!this.names.includes(name)) {
      this.names = [...this.names, name].sort((a, b) => a.localeCompare(b));
    }
    void this.refresh();
  }

  async remove(name: string): Promise<void> {
    await ipc.deleteSecret(name);
    this.names = this.names.filter((n) => n !== name);
    void this.refresh();
  }
}
