// First run: the empty state's "Try the demo server" starts the built-in OAuth demo on loopback
// and adds it as `demo`, needing authorization; the person authorizes it on the demo's real
// consent page (here: fetched and its Approve form posted, as a browser would) and it connects.

import assert from "node:assert/strict";
import { after, before } from "node:test";
import { World, approveInBrowser, scenario } from "./lib/harness.mjs";

const world = new World("demo-server");

before(() => world.launch());
after(() => world.close());

scenario(world, "Try the demo server from the empty state, authorize it, and it connects", async (app) => {
  await app.waitFor("empty-state");
  await app.waitAttr("app-summary", "data-state", "nothing_configured");
  assert.equal(await app.text("app-summary"), "No servers");

  await app.click("try-demo");
  await app.waitFor("server-row-demo");
  await app.waitGone("empty-state");
  await app.waitText("server-status-demo", "Needs authorization");
  await app.waitAttr("server-authorize-demo", "data-attention", "true");
  await app.waitText("server-hint-demo", "Authorize");
  await app.waitAttr("app-summary", "data-state", "needs_attention");
  assert.equal(await app.text("app-summary"), "Needs attention");

  const authUrl = await app.startAuthorization("demo");
  assert.match(authUrl, /^http:\/\/127\.0\.0\.1:\d+\/authorize\?/);
  assert.equal(await approveInBrowser(authUrl), 200);

  await app.waitText("server-status-demo", /^Connected · \d+ tools?$/);
  await app.waitGone("server-hint-demo");
  assert.equal(await app.exists("server-authorize-demo"), false);
  await app.waitAttr("app-summary", "data-state", "all_connected");
  assert.equal(await app.text("app-summary"), "All connected");
});
