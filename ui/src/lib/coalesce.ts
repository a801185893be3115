/**
 * One fetch at a time, never a lost update: a refresh requested while a
 * fetch is in flight joins it and makes it fetch once more when it ends, so
 * the last answer is never older than the last request. The stores use it
 * for `list_servers`, `app_state` and the vault, which events ask to
 * re-read in bursts.
 */
export class CoalescedRefresh {
  #inFlight: Promise<void> | null = null;
  #again = false;

  constructor(private readonly fetchOnce: () => Promise<void>) {}

  /** Whether a fetch is under way. */
  get busy(): boolean {
    return this.#inFlight !== null;
  }

  run(): Promise<void> {
    if (this.#inFlight) {
      this.#again = true;
      return this.#inFlight;
    }
    this.#inFlight = this.#fetchUntilSettled();
    return this.#inFlight;
  }

  /**
   * Fetches until no request came in meanwhile. `#inFlight` is cleared in the
   * same microtask as the last `#again` check, so a request can never slip in
   * between and be lost.
   */
  async #fetchUntilSettled(): Promise<void> {
    try {
      do {
        this.#again = false;
        await this.fetchOnce();
      } while (this.#again);
    } finally {
      this.#inFlight = null;
    }
  }
}
