// Tokens that die behind the person's back: an authorized server whose grant the authorization
// server revokes. Gatehouse's background refresh is refused, the server turns to "needs
// authorization" in the window and the tray, and one desktop notification says so (seen on the
// session bus by the stand-in panel of lib/tray.mjs) — once, however long the app keeps running.
// Authorizing again brings it back.

import assert from "node:assert/strict";
import { after, before } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { World, approveInBrowser, configToml, scenario } from "./lib/harness.mjs";
import { TrayHost } from "./lib/tray.mjs";

const TOKEN_TTL_S = 4;

const world = new World("reauthorization");
let fixture;
let tray;

before(async () => {
  fixture = await world.controlledFixture("oauth-fixture", [
    "--oauth",
    "--consent",
    "approve",
    "--token-ttl",
    String(TOKEN_TTL_S),
  ]);
  tray = await TrayHost.start(world);
  await world.launch({ config: configToml([{ id: "remote", url: fixture.url, oauth: true }]) });
});
after(() => world.close());

scenario(world, "a revoked grant asks for authorization once, with a notification", async (app) => {
  await app.waitText("server-status-remote", "Needs authorization");
  assert.equal(await approveInBrowser(await app.startAuthorization("remote")), 200);
  await app.waitText("server-status-remote", /^Connected/);
  await tray.waitForState("tray-ok");
  // Refreshes keep it connected past several token lifetimes, without a notification.
  await sleep(TOKEN_TTL_S * 2 * 1000);
  await app.waitText("server-status-remote", /^Connected/, { timeout: 1000 });
  assert.deepEqual(await tray.notifications(), []);

  await fixture.command("revoke-all");

  await app.waitText("server-status-remote", "Needs authorization");
  await tray.waitForState("tray-attention", ["remote — needs authorization", "Authorize remote"]);
  await app.browser.waitUntil(async () => (await tray.notifications()).length > 0, {
    timeout: 10000,
    timeoutMsg: "no desktop notification arrived",
  });
  const [notice] = await tray.notifications();
  assert.equal(notice.summary, "Gatehouse: authorization needed");
  assert.match(notice.body, /remote needs you to authorize it again/);

  // No loop: the dead refresh token is not tried again, and nobody is told twice.
  await sleep(TOKEN_TTL_S * 2 * 1000);
  assert.equal((await tray.notifications()).length, 1);
  await app.waitText("server-status-remote", "Needs authorization", { timeout: 1000 });

  assert.equal(await approveInBrowser(await app.startAuthorization("remote")), 200);
  await app.waitText("server-status-remote", /^Connected/);
  await tray.waitForState("tray-ok");
});
