// The tray's state follows the servers' states. The window header's badge (`app-summary`) shows
// the very summary the tray icon is drawn from (`app_state`, TraySummary::of), so the test reads
// it there: nothing configured → all connected → needs attention → errors, and back.

import assert from "node:assert/strict";
import { after, before } from "node:test";
import { World, approveInBrowser, scenario } from "./lib/harness.mjs";

const world = new World("tray-summary");
let openUrl;
let oauthUrl;

before(async () => {
  openUrl = await world.fixture("open-fixture", ["--name", "open-fixture"]);
  oauthUrl = await world.fixture("oauth-fixture", ["--oauth", "--consent", "approve"]);
  await world.launch();
});
after(() => world.close());

async function expectSummary(app, state, label) {
  await app.waitAttr("app-summary", "data-state", state);
  assert.equal(await app.text("app-summary"), label);
}

scenario(world, "the summary follows the servers' states", async (app) => {
  await expectSummary(app, "nothing_configured", "No servers");

  await app.addServer({ id: "open", url: openUrl });
  await app.waitText("server-status-open", /^Connected/);
  await expectSummary(app, "all_connected", "All connected");

  await app.addServer({ id: "remote", url: oauthUrl, oauth: true });
  await app.waitText("server-status-remote", "Needs authorization");
  await expectSummary(app, "needs_attention", "Needs attention");

  // Nothing listens on the discard port: an error outranks a server waiting for consent.
  await app.addServer({ id: "down", url: "http://127.0.0.1:9/mcp" });
  await app.waitText("server-status-down", "Error");
  await expectSummary(app, "errors", "Errors");

  // Switched-off servers do not count.
  await app.click("server-toggle-down");
  await app.waitText("server-status-down", "Disabled");
  await expectSummary(app, "needs_attention", "Needs attention");

  const authUrl = await app.startAuthorization("remote");
  assert.equal(await approveInBrowser(authUrl), 200);
  await app.waitText("server-status-remote", /^Connected/);
  await expectSummary(app, "all_connected", "All connected");

  for (const id of ["open", "remote"]) {
    await app.click(`server-remove-${id}`);
    await app.click("confirm-ok");
    await app.waitGone(`server-row-${id}`);
  }
  // Only the disabled server is left.
  await expectSummary(app, "nothing_configured", "No servers");
});
