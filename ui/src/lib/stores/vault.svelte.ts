// The window's picture of the vault: whether it can be used, and the names of its secrets.
//
// Values never come back from the backend, so nothing here ever holds one; `set` passes a value
// straight through to `set_secret`. Refreshed at start and on every `vault_changed` event.

import type { IpcError } from "../bindings/IpcError";
import type { VaultStatus } from "../bindings/VaultStatus";
import { CoalescedRefresh } from "../coalesce";
import * as ipc from "../ipc";

export class VaultStore {
  status = $state<VaultStatus | null>(null);
  /** Secret names, sorted. Empty while the vault is locked or unavailable. */
  names = $state<string[]>([]);
  loadError = $state<IpcError | null>(null);
  /**
   * A write failed because no OS keyring is reachable (`vault_status` also says so up front, as
   * `unavailable` with code `vault_no_keyring`); the window then offers to choose a passphrase.
   */
  noKeyring = $state(false);

  #refresh = new CoalescedRefresh(() => this.#fetchOnce());

  /** True when secrets can be listed and written. */
  get usable(): boolean {
    const state = this.status?.state;
    return state === "unlocked" || state === "not_created";
  }

  refresh(): Promise<void> {
    return this.#refresh.run();
  }

  async #fetchOnce(): Promise<void> {
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
