// The tray follows the servers' states. The real tray icon is watched through a stand-in desktop
// panel on the session bus (lib/tray.mjs): its image (one per aggregate state, recognised by its
// pixels among icons/*.png) and its menu (the counts, each server's status, "Authorize <id>").
// The window header's badge (`app-summary`) shows the same summary and is checked alongside:
// nothing configured → all connected → needs attention → errors, and back. Authorizing from the
// tray menu sends the browser to the consent page and ends connected.

import assert from "node:assert/strict";
import { after, before } from "node:test";
import { World, appBinary, approveInBrowser, scenario } from "./lib/harness.mjs";
import { TrayHost } from "./lib/tray.mjs";

const world = new World("tray-summary");
let openUrl;
let oauthUrl;
let tray;

before(async () => {
  openUrl = await world.fixture("open-fixture", ["--name", "open-fixture"]);
  oauthUrl = await world.fixture("oauth-fixture", ["--oauth", "--consent", "approve"]);
  tray = await TrayHost.start(world);
  await world.launch();
});
after(() => world.close());

async function expectSummary(app, state, label) {
  await app.waitAttr("app-summary", "data-state", state);
  assert.equal(await app.text("app-summary"), label);
}

scenario(world, "the tray icon, its menu and the badge follow the servers' states", async (app) => {
  await expectSummary(app, "nothing_configured", "No servers");
  await tray.waitForState("tray-idle", ["Gatehouse: no servers", "Open Gatehouse", "Quit"]);

  await app.addServer({ id: "open", url: openUrl });
  await app.waitText("server-status-open", /^Connected/);
  await expectSummary(app, "all_connected", "All connected");
  await tray.waitForState("tray-ok", ["Gatehouse: 1 of 1 connected", "open — connected (3 tools)"]);

  await app.addServer({ id: "remote", url: oauthUrl, oauth: true });
  await app.waitText("server-status-remote", "Needs authorization");
  await expectSummary(app, "needs_attention", "Needs attention");
  const attention = await tray.waitForState("tray-attention", [
    "Gatehouse: 1 of 2 connected, 1 needs authorization",
    "remote — needs authorization",
    "Authorize remote",
  ]);
  assert.equal(
    attention.menu.find((entry) => entry.label === "remote — needs authorization").enabled,
    false,
    "a status line is information, not an action",
  );

  // Nothing listens on the discard port: an error outranks a server waiting for consent.
  await app.addServer({ id: "down", url: "http://127.0.0.1:9/mcp" });
  await app.waitText("server-status-down", "Error");
  await expectSummary(app, "errors", "Errors");
  await tray.waitForState("tray-error", ["Gatehouse: 1 of 3 connected, 1 needs authorization, 1 with errors"]);

  // Switched-off servers do not count.
  await app.click("server-toggle-down");
  await app.waitText("server-status-down", "Disabled");
  await expectSummary(app, "needs_attention", "Needs attention");
  await tray.waitForState("tray-attention", ["down — disabled", "Authorize remote"]);

  // "Authorize remote" in the tray menu: the browser is sent to the consent page.
  const opened = world.openedUrls().length;
  await tray.click("Authorize remote");
  await app.waitText("server-status-remote", /browser/i);
  const authUrl = await app.waitText("auth-url-remote", /^https?:\/\//);
  assert.deepEqual(world.openedUrls().slice(opened), [authUrl], "the tray's Authorize opened the consent page");
  await tray.waitFor("no Authorize entry while the browser is out", (item) => !TrayHost.labels(item).includes("Authorize remote"));
  assert.equal(await approveInBrowser(authUrl), 200);
  await app.waitText("server-status-remote", /^Connected/);
  await expectSummary(app, "all_connected", "All connected");
  await tray.waitForState("tray-ok", ["Gatehouse: 2 of 2 connected", /^remote — connected \(\d+ tools\)$/]);

  for (const id of ["open", "remote"]) {
    await app.click(`server-remove-${id}`);
    await app.click("confirm-ok");
    await app.waitGone(`server-row-${id}`);
  }
  // Only the disabled server is left.
  await expectSummary(app, "nothing_configured", "No servers");
  await tray.waitForState("tray-idle", ["Gatehouse: no servers", "down — disabled"]);
});

scenario(world, "a second launch hands over to the running app and ends", async (app) => {
  const { spawn } = await import("node:child_process");
  const second = spawn(appBinary, [], {
    env: { ...process.env, GATEHOUSE_CONFIG: world.configFile },
    stdio: "ignore",
  });
  const code = await Promise.race([
    new Promise((resolve) => second.once("exit", (exitCode) => resolve(exitCode))),
    new Promise((resolve) => setTimeout(() => resolve("still running"), 15000)),
  ]);
  if (code === "still running") second.kill("SIGKILL");
  assert.equal(code, 0, "the second instance should hand over and exit");
  // The first is still there, with its window and its one tray icon.
  await app.waitFor("app-summary");
  const items = await tray.item();
  assert.ok(items, "the running app's tray icon is still registered");
});
