// The app's real tray icon and desktop notifications, seen the way a desktop panel sees them.
// Xvfb has no panel, so the test runs one: gatehouse-tray-host owns org.kde.StatusNotifierWatcher
// and org.freedesktop.Notifications on the session bus; the app's tray (libayatana-appindicator
// behind Tauri) registers its StatusNotifierItem there, and its notifications arrive there. The
// host reports the item's icon (recognised by its pixels among icons/*.png) and menu (dbusmenu),
// clicks menu entries, and lists the notifications. It also plays the window manager's close
// button (Xvfb has no window manager). Start it before the app: the app looks for a watcher when
// it starts.

import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { WAIT_MS, repoRoot, trayHostBinary } from "./harness.mjs";
import { start } from "./processes.mjs";

export class TrayHost {
  constructor(proc, lines) {
    this.proc = proc;
    this.lines = lines;
    this.last = null;
  }

  /** Starts the host; resolves once it owns the watcher's name. */
  static async start(world) {
    const lines = [];
    const waiters = [];
    const proc = start("tray-host", trayHostBinary, ["--icons", join(repoRoot, "icons")], {
      env: process.env,
      logFile: join(world.dir, "tray-host.log"),
      stdin: true,
      onStdout: (line) => {
        lines.push(line);
        while (waiters.length > 0 && lines.length > 0) waiters.shift()(lines.shift());
      },
    });
    world.procs.push(proc);
    const host = new TrayHost(proc, { lines, waiters });
    const first = await host.#nextLine(10000);
    if (first !== "ready") throw new Error(`gatehouse-tray-host did not start: ${first}`);
    return host;
  }

  async #nextLine(timeout) {
    const { lines, waiters } = this.lines;
    if (lines.length > 0) return lines.shift();
    const line = new Promise((resolve) => waiters.push(resolve));
    const expired = sleep(timeout).then(() => null);
    const exited = this.proc.exited.then(({ code }) => `(exited with ${code})`);
    const answer = await Promise.race([line, expired, exited]);
    if (answer === null) throw new Error("gatehouse-tray-host did not answer");
    return answer;
  }

  async #ask(command) {
    this.proc.child.stdin.write(`${command}\n`);
    const answer = JSON.parse(await this.#nextLine(10000));
    if (answer.error) throw new Error(`tray: ${answer.error}`);
    return answer;
  }

  /** The app's tray item now: `{ icon, menu: [{ label, enabled, separator }] }`, or null. */
  async item() {
    const { items } = await this.#ask("snapshot");
    this.last = items[0] ?? null;
    return this.last;
  }

  /** The labels of the menu's entries (separators as "---"). */
  static labels(item) {
    return item.menu.map((entry) => (entry.separator ? "---" : entry.label));
  }

  /** Waits until the tray item satisfies `check(item)`; fails with what it last showed. */
  async waitFor(description, check, { timeout = WAIT_MS } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const item = await this.item();
      if (item && check(item)) return item;
      if (Date.now() > deadline) {
        const shown = item ? `icon ${item.icon}, menu ${JSON.stringify(TrayHost.labels(item))}` : "no tray item";
        throw new Error(`the tray never showed ${description}; it shows ${shown}`);
      }
      await sleep(200);
    }
  }

  /**
   * Waits for the icon `icon` (a file name in icons/, e.g. "tray-ok") and a menu with an entry
   * for each of `entries` (a label, or a RegExp one label must match).
   */
  async waitForState(icon, entries = []) {
    const has = (labels, entry) =>
      labels.some((label) => (entry instanceof RegExp ? entry.test(label) : label === entry));
    return this.waitFor(`${icon} with ${entries.map(String).join(", ")}`, (item) => {
      const labels = TrayHost.labels(item);
      return item.icon === icon && entries.every((entry) => has(labels, entry));
    });
  }

  /** The desktop notifications received so far: `[{ appName, summary, body }]`. */
  async notifications() {
    return (await this.#ask("notifications")).notifications;
  }

  /** Chooses the menu entry labelled `label`, as a person would in the panel. */
  async click(label) {
    await this.#ask(`click ${label}`);
  }

  /**
   * Clicks the close button of the window titled `title`, as a window manager would (Xvfb has
   * none, and WebDriver's Close Window destroys the page instead of asking the app).
   */
  async closeWindow(title) {
    await this.#ask(`close-window ${title}`);
  }

  /** Waits until the window titled `title` is on screen (`viewable`) or not (or not there). */
  async waitForWindow(title, viewable, { timeout = WAIT_MS } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      let shown = false;
      try {
        shown = (await this.#ask(`window ${title}`)).viewable;
      } catch {
        // No such window (yet).
      }
      if (shown === viewable) return;
      if (Date.now() > deadline) throw new Error(`the window ${title} never became ${viewable ? "visible" : "hidden"}`);
      await sleep(200);
    }
  }
}
