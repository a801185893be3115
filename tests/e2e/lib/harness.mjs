// What every end-to-end test of the real Gatehouse window needs: the built binaries, fixture MCP
// servers on loopback, the app started through tauri-driver with a config and data directory of
// its own, WebDriver helpers that select by data-testid, and a browser stand-in that completes
// OAuth consent the way a person's browser would.
//
// One app (and one tauri-driver) per test file: tauri-driver cannot hand the app an environment,
// so each gets its own, with GATEHOUSE_CONFIG / GATEHOUSE_DATA_DIR pointing into a fresh temporary
// directory. The app's "system browser" is tests/e2e/bin/xdg-open, which only writes down the
// URL it was asked to open (see `openedUrls`).

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { test } from "node:test";
import { remote } from "webdriverio";
import { start } from "./processes.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../../..");
const targetDir = resolve(repoRoot, process.env.CARGO_TARGET_DIR || "target");
export const appBinary = join(targetDir, "debug", "gatehouse-app");
export const fixtureBinary = join(targetDir, "debug", "gatehouse-fixture");
export const trayHostBinary = join(targetDir, "debug", "gatehouse-tray-host");
const fakeBrowserDir = join(repoRoot, "tests", "e2e", "bin");

/** How long a condition in the window may take to come true. */
export const WAIT_MS = Number(process.env.GATEHOUSE_E2E_WAIT_MS || 20000);

/** Keep the temporary directories (config, vault, logs) of passing tests, for a look. */
const KEEP = process.env.GATEHOUSE_E2E_KEEP === "1";

/** A port free on 127.0.0.1 now. */
export async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts the in-repo fixture server; resolves once it printed its MCP URL. With `control`, the
 * fixture takes commands on stdin (`--control`) and `command(text)` sends one and waits for its
 * acknowledgement.
 */
export async function startFixture(dir, name, args, { control = false } = {}) {
  let resolveUrl;
  const url = new Promise((r) => (resolveUrl = r));
  const acks = [];
  const proc = start(name, fixtureBinary, control ? [...args, "--control"] : args, {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
    logFile: join(dir, `${name}.log`),
    stdin: control,
    onStdout: (line) => {
      if (line.startsWith("ok ")) acks.push(line.slice(3));
      else resolveUrl(line.trim());
    },
  });
  const timeout = sleep(15000).then(() => null);
  const exited = proc.exited.then(() => null);
  const found = await Promise.race([url, timeout, exited]);
  if (!found) {
    await proc.stop();
    throw new Error(`fixture ${name} did not print its URL; see ${proc.logFile}:\n${tail(proc.logFile)}`);
  }
  const command = async (text) => {
    proc.child.stdin.write(`${text}\n`);
    const deadline = Date.now() + 5000;
    while (!acks.includes(text)) {
      if (Date.now() > deadline) throw new Error(`fixture ${name} did not carry out ${text}`);
      await sleep(20);
    }
    acks.splice(acks.indexOf(text), 1);
  };
  return { url: found, proc, command };
}

function tail(file, lines = 40) {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** TOML for a config file with these servers (each `{ id, url, headers?, oauth? }`). */
export function configToml(servers) {
  const str = (s) => JSON.stringify(s);
  return servers
    .map((s) => {
      const lines = ["[[servers]]", `id = ${str(s.id)}`, `url = ${str(s.url)}`];
      if (s.enabled === false) lines.push("enabled = false");
      if (s.headers) {
        const pairs = Object.entries(s.headers).map(([k, v]) => `${str(k)} = ${str(v)}`);
        lines.push(`headers = { ${pairs.join(", ")} }`);
      }
      if (s.oauth) lines.push("[servers.oauth]", "enabled = true");
      return lines.join("\n");
    })
    .join("\n\n");
}

/**
 * A test's world: a temporary directory, the fixtures it started, and the app once launched.
 * `close()` stops everything and removes the directory (kept when the test failed, or with
 * GATEHOUSE_E2E_KEEP=1, and its path printed).
 */
export class World {
  constructor(name) {
    this.name = name;
    this.dir = mkdtempSync(join(tmpdir(), `gatehouse-e2e-${name}-`));
    this.procs = [];
    this.browser = null;
    this.app = null;
    this.driver = null;
    this.failed = false;
  }

  async fixture(name, args) {
    const fixture = await startFixture(this.dir, name, args);
    this.procs.push(fixture.proc);
    return fixture.url;
  }

  /** An OAuth fixture steered while the app runs: `{ url, command("revoke-all") }`. */
  async controlledFixture(name, args) {
    const fixture = await startFixture(this.dir, name, args, { control: true });
    this.procs.push(fixture.proc);
    return fixture;
  }

  get configFile() {
    return join(this.dir, "config.toml");
  }

  /** Marks the world failed (its directory is kept) and prints the app's log, once. */
  fail() {
    if (this.failed) return;
    this.failed = true;
    console.log(`# ${this.name} failed; the end of the app's log:\n${this.appLog().replace(/^/gm, "#   ")}`);
  }

  /** URLs the app asked the system browser to open, in order. */
  openedUrls() {
    try {
      return readFileSync(join(this.dir, "opened-urls.txt"), "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  }

  /** The app's (and its WebDriver's) log so far. */
  appLog() {
    return this.driver ? tail(this.driver.logFile, 150) : "";
  }

  /**
   * Starts tauri-driver (and through it the app, with `args`) with `config` as the config file's
   * text, and opens a WebDriver session on the window.
   */
  async launch({ config = "", env: extraEnv = {}, args = [] } = {}) {
    writeFileSync(this.configFile, config);
    const home = join(this.dir, "home");
    for (const sub of [".config", ".local/share", ".cache"]) mkdirSync(join(home, sub), { recursive: true });
    const port = await freePort();
    const nativePort = await freePort();
    const env = {
      ...process.env,
      PATH: `${fakeBrowserDir}${delimiter}${process.env.PATH}`,
      GATEHOUSE_CONFIG: this.configFile,
      GATEHOUSE_DATA_DIR: join(this.dir, "data"),
      GATEHOUSE_E2E_OPENED: join(this.dir, "opened-urls.txt"),
      GATEHOUSE_LOG: process.env.GATEHOUSE_LOG ?? "info",
      // The webview's own storage and caches stay in the test's directory too.
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_DATA_HOME: join(home, ".local/share"),
      XDG_CACHE_HOME: join(home, ".cache"),
      ...extraEnv,
    };
    this.driver = start("tauri-driver", "tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
      env,
      logFile: join(this.dir, "app.log"),
    });
    this.procs.push(this.driver);
    await waitForDriver(port, this.driver);
    this.browser = await remote({
      hostname: "127.0.0.1",
      port,
      logLevel: "error",
      connectionRetryCount: 1,
      connectionRetryTimeout: 60000,
      capabilities: {
        // Plain WebDriver: WebKitWebDriver speaks no WebDriver BiDi.
        "wdio:enforceWebDriverClassic": true,
        "tauri:options": { application: appBinary, args },
      },
    });
    await this.browser.setTimeout({ implicit: 0 });
    const app = new App(this.browser, this);
    await app.ready();
    this.app = app;
    return app;
  }

  async close() {
    if (this.browser) {
      try {
        await this.browser.deleteSession();
      } catch {
        // The app may be gone already; stopping tauri-driver below cleans up regardless.
      }
    }
    for (const proc of [...this.procs].reverse()) await proc.stop();
    if (this.failed || KEEP) {
      console.log(`# kept ${this.dir} (config, vault, app.log, fixture logs)`);
    } else {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

async function waitForDriver(port, driver) {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    if (driver.child.exitCode !== null) break;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/status`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`tauri-driver did not start; its log:\n${tail(driver.logFile)}`);
}

/** The Gatehouse window, driven by data-testid. */
export class App {
  constructor(browser, world) {
    this.browser = browser;
    this.world = world;
  }

  /** Waits for the UI to have mounted and talked to the backend; watches for CSP violations. */
  async ready() {
    await this.waitFor("app-summary");
    // Report anything the strict CSP blocks from now on (inline styles, eval, …).
    await this.browser.execute(() => {
      const w = window;
      w.__cspViolations = [];
      document.addEventListener("securitypolicyviolation", (e) => {
        w.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
      });
    });
    // The stylesheet loaded (a blocked one leaves the page unstyled).
    const background = await this.browser.execute(() => getComputedStyle(document.body).backgroundColor);
    if (background === "rgba(0, 0, 0, 0)" || background === "transparent") {
      throw new Error("the window's stylesheet did not apply (blocked by the CSP?)");
    }
  }

  async cspViolations() {
    return this.browser.execute(() => window.__cspViolations ?? []);
  }

  el(testid) {
    return this.browser.$(`[data-testid="${testid}"]`);
  }

  async exists(testid) {
    return this.el(testid).isExisting();
  }

  async waitFor(testid, { timeout = WAIT_MS } = {}) {
    const element = this.el(testid);
    await element.waitForExist({ timeout, timeoutMsg: `no element with data-testid="${testid}" after ${timeout} ms` });
    return element;
  }

  async waitGone(testid, { timeout = WAIT_MS } = {}) {
    await this.el(testid).waitForExist({
      timeout,
      reverse: true,
      timeoutMsg: `data-testid="${testid}" still present after ${timeout} ms`,
    });
  }

  /**
   * The element's rendered text (`innerText`, trimmed). WebKitWebDriver's own Get Element Text
   * answers "" for some visible elements (e.g. in an `overflow: hidden` box), so it is not used.
   */
  async text(testid) {
    return this.#innerText(await this.waitFor(testid));
  }

  async #innerText(element) {
    const node = await element;
    const text = await this.browser.execute((n) => n.innerText, node);
    return (text ?? "").trim();
  }

  /**
   * Polls the element until `read(element)` gives a value `matches` accepts; returns that value.
   * On timeout, throws `failure(last)`, `last` being the last value read ("(absent)" if none).
   */
  async #waitValueOf(testid, read, matches, failure, timeout) {
    let last = "(absent)";
    try {
      await this.browser.waitUntil(
        async () => {
          try {
            const element = this.el(testid);
            if (!(await element.isExisting())) return false;
            last = await read(element);
            return matches(last);
          } catch {
            return false; // replaced while we looked: look again
          }
        },
        { timeout, interval: 150 },
      );
    } catch {
      throw new Error(failure(last));
    }
    return last;
  }

  /** Waits until the element's text matches `pattern` (a RegExp or a substring); returns it. */
  async waitText(testid, pattern, { timeout = WAIT_MS } = {}) {
    const matches = (text) => (pattern instanceof RegExp ? pattern.test(text) : text.includes(pattern));
    return this.#waitValueOf(
      testid,
      (element) => this.#innerText(element),
      matches,
      (last) => `data-testid="${testid}" never matched ${pattern} within ${timeout} ms; last text: ${JSON.stringify(last)}`,
      timeout,
    );
  }

  /** Waits until an input's value equals `value`. */
  async waitValue(testid, value, { timeout = WAIT_MS } = {}) {
    await this.#waitValueOf(
      testid,
      (element) => element.getValue(),
      (last) => last === value,
      (last) => `data-testid="${testid}" never held ${JSON.stringify(value)} within ${timeout} ms; last: ${JSON.stringify(last)}`,
      timeout,
    );
  }

  /** Waits until the element's attribute equals `value`. */
  async waitAttr(testid, name, value, { timeout = WAIT_MS } = {}) {
    await this.#waitValueOf(
      testid,
      (element) => element.getAttribute(name),
      (last) => last === value,
      (last) =>
        `data-testid="${testid}" ${name} never became ${JSON.stringify(value)} within ${timeout} ms; last: ${JSON.stringify(last)}`,
      timeout,
    );
  }

  async click(testid) {
    const element = await this.waitFor(testid);
    await element.waitForClickable({ timeout: WAIT_MS, timeoutMsg: `data-testid="${testid}" never became clickable` });
    await element.click();
  }

  /** Replaces an input's text, typing it as a person would (so input events fire). */
  async fill(testid, value) {
    const element = await this.waitFor(testid);
    await element.clearValue();
    if (value !== "") await element.addValue(value);
    const now = await element.getValue();
    if (now !== value) throw new Error(`data-testid="${testid}" holds ${JSON.stringify(now)}, not ${JSON.stringify(value)}`);
  }

  async select(testid, value) {
    const element = await this.waitFor(testid);
    await element.selectByAttribute("value", value);
  }

  async summaryState() {
    return (await this.waitFor("app-summary")).getAttribute("data-state");
  }

  /** Saves a PNG of the window once the DOM has been quiet for a moment. */
  async screenshot(file) {
    // No hover effects: the pointer rests in the window's bottom-left corner, over nothing.
    const { height } = await this.browser.getWindowSize();
    await this.browser.action("pointer").move({ x: 1, y: Math.max(0, height - 40), origin: "viewport" }).perform();
    await this.settle();
    await this.browser.saveScreenshot(file);
  }

  /** Waits until the DOM has not changed for `quietMs` (and a frame was painted after that). */
  async settle({ quietMs = 400, timeout = 10000 } = {}) {
    await this.browser.executeAsync(
      (quiet, limit, done) => {
        let timer;
        const finish = () => {
          observer.disconnect();
          requestAnimationFrame(() => requestAnimationFrame(() => done(true)));
        };
        const observer = new MutationObserver(() => {
          clearTimeout(timer);
          timer = setTimeout(finish, quiet);
        });
        observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
        timer = setTimeout(finish, quiet);
        setTimeout(finish, limit);
      },
      quietMs,
      timeout,
    );
  }

  // --- Flows a person goes through ---------------------------------------------------------

  async storeSecret(name, value) {
    await this.click("nav-secrets");
    await this.fill("secret-name-input", name);
    await this.fill("secret-value-input", value);
    await this.click("secret-save");
    await this.waitFor(`secret-row-${name}`);
  }

  /**
   * Adds a server through the editor. `auth` is `{ headers: [[name, value], …] }`,
   * `{ oauth: true }` or nothing.
   */
  async addServer({ id, url, headers, oauth }) {
    await this.click("nav-servers");
    await this.click("add-server");
    await this.waitFor("editor");
    await this.fill("editor-url", url);
    await this.fill("editor-id", id);
    if (headers) {
      await this.click("editor-mode-headers");
      for (const [index, [name, value]] of headers.entries()) {
        if (index > 0) await this.click("header-add");
        await this.fill(`header-name-${index}`, name);
        await this.fill(`header-value-${index}`, value);
      }
    } else if (oauth) {
      await this.click("editor-mode-oauth");
      await this.waitFor("editor-oauth");
    }
    await this.click("editor-save");
    await this.waitGone("editor");
    await this.waitFor(`server-row-${id}`);
  }

  /** Clicks Authorize and returns the consent URL the window shows. */
  async startAuthorization(id) {
    await this.click(`server-authorize-${id}`);
    return this.waitText(`auth-url-${id}`, /^https?:\/\//);
  }
}

/**
 * Plays the person's browser for a consent URL: follows it and, when the authorization server
 * shows its consent page, submits the Approve button's form; then follows the redirect back to
 * the app's loopback callback. Resolves with the callback page's status.
 */
export async function approveInBrowser(authorizationUrl) {
  let response = await fetch(authorizationUrl, { redirect: "manual" });
  if (response.status === 200) {
    const page = await response.text();
    const form = /<form[^>]*method="post"[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i.exec(page);
    if (!form || !/data-testid="consent-approve"/.test(form[2])) {
      throw new Error(`the consent page has no approve form:\n${page.slice(0, 2000)}`);
    }
    const fields = new URLSearchParams();
    for (const input of form[2].matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) {
      fields.append(input[1], decodeEntities(input[2]));
    }
    const approve = /<button[^>]*name="([^"]+)"[^>]*value="([^"]+)"[^>]*data-testid="consent-approve"/i.exec(form[2]);
    if (approve) fields.append(approve[1], approve[2]);
    response = await fetch(new URL(form[1], authorizationUrl), {
      method: "POST",
      body: fields,
      redirect: "manual",
    });
  }
  if (response.status < 300 || response.status >= 400) {
    throw new Error(`expected a redirect back to the app, got ${response.status}: ${(await response.text()).slice(0, 500)}`);
  }
  const callback = response.headers.get("location");
  if (!callback || !/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(callback)) {
    throw new Error(`the redirect does not go to the app's loopback listener: ${callback}`);
  }
  const back = await fetch(callback);
  await back.text();
  return back.status;
}

function decodeEntities(text) {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/**
 * A `node:test` test of `world`: on failure the world's directory is kept and the app's log
 * printed; after it, nothing may have been blocked by the window's CSP.
 */
export function scenario(world, name, body, { timeout = 120000 } = {}) {
  test(name, { timeout }, async () => {
    try {
      if (!world.app) throw new Error("the app did not start (see the first failure)");
      await body(world.app);
      assert.deepEqual(await world.app.cspViolations(), [], "the CSP blocked something in the window");
    } catch (error) {
      world.fail();
      throw error;
    }
  });
}

/**
 * Runs `body(world)` with a fresh World, recording failure (to keep the directory and print the
 * app's log) and always closing it.
 */
export async function withWorld(name, body) {
  const world = new World(name);
  try {
    return await body(world);
  } catch (error) {
    world.fail();
    throw error;
  } finally {
    await world.close();
  }
}

/** The binaries and tools the e2e run needs, with what is missing. */
export function missingPrerequisites() {
  const missing = [];
  if (!existsSync(appBinary)) missing.push(`the app binary ${appBinary} (npm run ui:build && cargo build -p gatehouse-app)`);
  if (!existsSync(fixtureBinary)) missing.push(`the fixture binary ${fixtureBinary} (cargo build -p gatehouse-fixture)`);
  if (!existsSync(trayHostBinary)) missing.push(`the tray host binary ${trayHostBinary} (cargo build -p gatehouse-fixture)`);
  return missing;
}
