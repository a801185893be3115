// The AI clients a person already has: a Claude Desktop file with an `mcp-remote` entry carrying
// `--header "Authorization: Bearer sk-..."` (at its documented place under the app's
// XDG_CONFIG_HOME). The Clients view's import shows what will happen, imports the server with the
// key moved to the vault (and it connects with it); Connect rewrites the file to run
// `gatehouse proxy`; Disconnect restores it byte for byte.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import { World, scenario } from "./lib/harness.mjs";

const TOKEN = "sk-e2e-claude-5d1c7a";
const world = new World("clients");
let claudeFile;
let original;

before(async () => {
  const url = await world.fixture("bearer-fixture", ["--bearer", TOKEN, "--name", "bearer-fixture"]);
  const home = join(world.dir, "home");
  mkdirSync(join(home, ".config", "Claude"), { recursive: true });
  claudeFile = join(home, ".config", "Claude", "claude_desktop_config.json");
  original = `{\n  "mcpServers": {\n    "linear": {\n      "command": "npx",\n      "args": ["-y", "mcp-remote", "${url}", "--header", "Authorization: Bearer ${TOKEN}"]\n    }\n  },\n  "globalShortcut": "Ctrl+Space"\n}\n`;
  writeFileSync(claudeFile, original);
  await world.launch({ env: { HOME: home } });
});
after(() => world.close());

scenario(world, "import from Claude Desktop: preview, import, the key in the vault, the server connects", async (app) => {
  await app.click("nav-clients");
  await app.waitFor("client-claude-desktop");
  await app.click("import-preview");
  await app.waitFor("import-server-linear");
  await app.waitText("import-secret-LINEAR_AUTHORIZATION_TOKEN", /moves to the vault/);
  assert.equal(await app.exists("import-confirm"), true);
  await app.click("import-confirm");
  await app.waitText("clients-notice", /Imported 1 server; 1 secret moved to the vault/);

  await app.click("nav-servers");
  await app.waitText("server-status-linear", /^Connected/);
  await app.click("nav-secrets");
  await app.waitFor("secret-row-LINEAR_AUTHORIZATION_TOKEN");
  assert.ok(!(await app.text("secret-list")).includes(TOKEN));
  assert.ok(!readFileSync(world.configFile, "utf8").includes(TOKEN), "no key in Gatehouse's config");
});

scenario(world, "connect rewrites the file to go through Gatehouse; disconnect restores it exactly", async (app) => {
  await app.click("nav-clients");
  await app.click("client-connect-claude-desktop");
  await app.click("confirm-ok");
  await app.waitText("clients-notice", /Claude Desktop now goes through Gatehouse/);
  const rewritten = JSON.parse(readFileSync(claudeFile, "utf8"));
  assert.deepEqual(rewritten.mcpServers.linear.args, ["proxy", "linear"]);
  assert.equal(rewritten.globalShortcut, "Ctrl+Space");
  assert.ok(!readFileSync(claudeFile, "utf8").includes(TOKEN));
  await app.waitAttr("client-entry-claude-desktop-linear", "data-kind", "gatehouse");

  await app.click("client-disconnect-claude-desktop");
  await app.waitText("clients-notice", /restored exactly as it was/);
  assert.equal(readFileSync(claudeFile, "utf8"), original);
});
