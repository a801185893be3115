// A server authenticated by a static header whose secret lives in the vault: stored through the
// Secrets view, referenced as ${NAME} in the editor, used by a real MCP server on loopback.

import assert from "node:assert/strict";
import { after, before } from "node:test";
import { World, scenario } from "./lib/harness.mjs";

const TOKEN = "e2e-bearer-7f3a9c";
const world = new World("header-server");
let fixtureUrl;

before(async () => {
  fixtureUrl = await world.fixture("bearer-fixture", ["--bearer", TOKEN, "--name", "bearer-fixture"]);
  await world.launch();
});
after(() => world.close());

scenario(world, "the editor shows the backend's validation at the fields", async (app) => {
  await app.click("add-server");
  await app.waitFor("editor");
  // http is allowed on loopback only.
  await app.fill("editor-url", "http://mcp.example.com/mcp");
  await app.waitText("field-error-url", /https/i);
  await app.fill("editor-id", "bad id!");
  await app.waitFor("field-error-id");
  // A secret typed into a header is flagged, and can be moved to the vault from there.
  await app.fill("editor-url", fixtureUrl);
  await app.fill("editor-id", "literal");
  await app.click("editor-mode-headers");
  await app.fill("header-name-0", "Authorization");
  await app.fill("header-value-0", "Bearer sk_live_0123456789abcdef");
  await app.waitFor("field-warning-headers.Authorization");
  await app.waitGone("field-error-url");
  await app.waitGone("field-error-id");
  await app.click("editor-cancel");
  await app.waitGone("editor");
  assert.equal(await app.exists("server-row-literal"), false);
});

scenario(world, "add a header server with a secret stored through the Secrets view; it connects", async (app) => {
  await app.storeSecret("FIXTURE_TOKEN", TOKEN);
  assert.match(await app.text("secret-saved"), /FIXTURE_TOKEN/);
  // The value is never shown back.
  assert.ok(!(await app.text("secret-list")).includes(TOKEN));

  await app.addServer({ id: "fixture", url: fixtureUrl, headers: [["Authorization", "Bearer ${FIXTURE_TOKEN}"]] });
  const status = await app.waitText("server-status-fixture", /^Connected · \d+ tools?$/);
  assert.equal(status, "Connected · 3 tools");
  assert.match(await app.text("server-detail-fixture"), /bearer-fixture 1\.2\.3/);
  assert.equal(await app.exists("server-error-fixture"), false);
  await app.waitAttr("app-summary", "data-state", "all_connected");
});

scenario(world, "call the echo tool from the Tools view and see its result", async (app) => {
  await app.click("server-tools-fixture");
  await app.waitAttr("nav-tools", "aria-current", "page");
  assert.equal(await app.el("tools-server-select").getValue(), "fixture");
  await app.click("tool-echo");
  await app.waitText("tool-description", "Returns the text it is given");
  await app.fill("tool-args", '{"text":"hi"}');
  await app.click("tool-call");
  await app.waitFor("tool-result");
  assert.equal(await app.el("tool-result").getAttribute("data-error"), "false");
  assert.equal(await app.text("tool-result-text"), "hi");
});

scenario(world, "a header that references a missing secret shows the error at that server", async (app) => {
  await app.click("nav-servers");
  await app.click("server-edit-fixture");
  await app.waitFor("editor");
  // The editor loads the saved settings, reference and all.
  await app.waitValue("editor-url", fixtureUrl);
  assert.equal(await app.el("editor-id").getValue(), "fixture");
  assert.equal(await app.el("header-name-0").getValue(), "Authorization");
  assert.equal(await app.el("header-value-0").getValue(), "Bearer ${FIXTURE_TOKEN}");
  await app.fill("header-value-0", "Bearer ${MISSING_TOKEN}");
  // The editor already says so; saving is still allowed (the secret may be stored next).
  await app.waitText("header-missing-secret-0", "MISSING_TOKEN");
  await app.click("editor-save");
  await app.waitGone("editor");

  await app.waitText("server-status-fixture", "Error");
  await app.waitText("server-error-fixture", "The vault has no secret named MISSING_TOKEN");
  await app.waitText("server-detail-fixture", /secret/i);
  await app.waitAttr("app-summary", "data-state", "errors");

  // Storing the secret it names brings the server back by itself.
  await app.storeSecret("MISSING_TOKEN", TOKEN);
  await app.click("nav-servers");
  await app.waitText("server-status-fixture", /^Connected/);
  await app.waitGone("server-error-fixture");
  await app.waitAttr("app-summary", "data-state", "all_connected");
});
