// A config file that cannot be loaded does not stop Gatehouse: the window says what is wrong with
// it, in a red banner, and the file is left as it is.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before } from "node:test";
import { World, scenario } from "./lib/harness.mjs";

const world = new World("config-problem");
const BROKEN = '[[servers]]\nid = "plain"\nurl = "http://mcp.example.com/mcp"\n';

before(() => world.launch({ config: BROKEN }));
after(() => world.close());

scenario(world, "a config file that cannot be loaded shows a banner and is not overwritten", async (app) => {
  const banner = await app.text("config-problem");
  assert.match(banner, /could not read its config file/);
  // The loader's own words name the server and the field.
  assert.match(banner, /plain/);
  assert.match(banner, /url/);
  assert.match(banner, /Fix the file and restart Gatehouse; it will not be overwritten\./);
  await app.waitAttr("app-summary", "data-state", "nothing_configured");
  // Nothing invites an edit that would be refused.
  await app.waitFor("servers-config-problem");
  assert.equal(await app.exists("add-server"), false);
  assert.equal(await app.exists("try-demo"), false);

  // The banner stays on every page.
  await app.click("nav-secrets");
  await app.waitFor("config-problem");
  await app.click("nav-servers");
  assert.equal(readFileSync(world.configFile, "utf8"), BROKEN);
});
