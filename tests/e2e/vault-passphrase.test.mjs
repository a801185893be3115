// Without an OS keyring (no Secret Service reachable) the vault's key has nowhere safe to live:
// the Secrets view says so before anything is saved and offers to choose a passphrase, and from
// then on the vault works with it — secrets are stored and a header server using one connects.

import assert from "node:assert/strict";
import { after, before } from "node:test";
import { World, scenario } from "./lib/harness.mjs";

const TOKEN = "e2e-passphrase-vault-token";
const world = new World("vault-passphrase");
let fixtureUrl;

before(async () => {
  fixtureUrl = await world.fixture("bearer-fixture", ["--bearer", TOKEN]);
  // A session bus that is not there: no keyring for this app.
  await world.launch({ env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${world.dir}/no-bus` } });
});
after(() => world.close());

scenario(world, "with no keyring, choose a passphrase in the Secrets view and use the vault", async (app) => {
  await app.click("nav-secrets");
  await app.waitAttr("vault-status", "data-state", "unavailable");
  await app.waitText("vault-status", "Choose a passphrase instead");
  await app.fill("vault-passphrase", "correct horse battery");
  await app.fill("vault-passphrase-repeat", "correct horse battery");
  await app.click("vault-unlock");
  await app.waitGone("vault-passphrase");

  await app.fill("secret-name-input", "FIXTURE_TOKEN");
  await app.fill("secret-value-input", TOKEN);
  await app.click("secret-save");
  await app.waitFor("secret-row-FIXTURE_TOKEN");
  await app.waitAttr("vault-status", "data-state", "unlocked");
  assert.match(await app.text("vault-status"), /passphrase/);

  await app.addServer({ id: "fixture", url: fixtureUrl, headers: [["Authorization", "Bearer ${FIXTURE_TOKEN}"]] });
  await app.waitText("server-status-fixture", /^Connected/);
});
