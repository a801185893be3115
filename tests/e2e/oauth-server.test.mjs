// An OAuth 2.1 server (the in-repo fixture, approving consent at once): added in the editor,
// authorized with the Authorize button, consent completed by following the URL the window shows
// exactly as the person's browser would, and then connected.

import assert from "node:assert/strict";
import { after, before } from "node:test";
import { World, approveInBrowser, scenario } from "./lib/harness.mjs";

const world = new World("oauth-server");
let fixtureUrl;

before(async () => {
  fixtureUrl = await world.fixture("oauth-fixture", ["--oauth", "--consent", "approve"]);
  await world.launch();
});
after(() => world.close());

scenario(world, "add an OAuth server, authorize it in the browser, and it connects", async (app) => {
  await app.addServer({ id: "remote", url: fixtureUrl, oauth: true });
  await app.waitText("server-status-remote", "Needs authorization");
  await app.waitAttr("app-summary", "data-state", "needs_attention");

  const authUrl = await app.startAuthorization("remote");
  await app.waitFor("auth-panel-remote");
  await app.waitText("server-status-remote", "Waiting for browser…");
  const consent = new URL(authUrl);
  assert.equal(consent.origin, new URL(fixtureUrl).origin);
  assert.equal(consent.searchParams.get("code_challenge_method"), "S256");
  assert.match(consent.searchParams.get("redirect_uri") ?? "", /^http:\/\/127\.0\.0\.1:\d+\//);
  // "Authorize" sent the system browser to the same page.
  assert.deepEqual(world.openedUrls(), [authUrl]);
  // "Open again" sends it there once more.
  await app.click("auth-open-remote");
  await app.browser.waitUntil(async () => world.openedUrls().length === 2, {
    timeout: 5000,
    timeoutMsg: `"Open again" did not open the browser: ${JSON.stringify(world.openedUrls())}`,
  });
  assert.deepEqual(world.openedUrls(), [authUrl, authUrl]);

  assert.equal(await approveInBrowser(authUrl), 200);

  await app.waitText("server-status-remote", /^Connected · \d+ tools?$/);
  await app.waitGone("auth-panel-remote");
  await app.waitText("server-detail-remote", /signed in with 127\.0\.0\.1:\d+/);
  await app.waitText("server-detail-remote", /token expires in/);
  assert.equal(await app.exists("server-signout-remote"), true);
  await app.waitAttr("app-summary", "data-state", "all_connected");
});
