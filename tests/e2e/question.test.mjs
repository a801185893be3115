// A server that asks the person for input in the middle of a tool call (MCP elicitation; with a
// 2026-07-28 server, an input request the app answers and sends again): the window brings up a
// form built from the server's schema, and the answer reaches the server.

import assert from "node:assert/strict";
import { after, before } from "node:test";
import { World, scenario } from "./lib/harness.mjs";

const world = new World("question");

before(async () => {
  const url = await world.fixture("asking-fixture", ["--interactive", "--name", "asking-fixture"]);
  await world.launch({ config: `[[servers]]\nid = "asking"\nurl = "${url}"\n` });
});
after(() => world.close());

async function callAskName(app) {
  await app.click("nav-servers");
  await app.waitText("server-status-asking", /^Connected/);
  await app.click("server-tools-asking");
  await app.click("tool-ask_name");
  await app.fill("tool-args", "{}");
  await app.click("tool-call");
  await app.waitFor("question-dialog");
}

scenario(world, "the server's form appears in the window and the answer reaches the server", async (app) => {
  await callAskName(app);
  assert.match(await app.text("question-dialog"), /asking asks/);
  assert.equal(await app.text("question-message"), "What is your name?");
  await app.fill("question-input-name", "Ada");
  await app.click("question-accept");
  await app.waitGone("question-dialog");
  await app.waitFor("tool-result");
  assert.equal(await app.text("tool-result-text"), "Hello, Ada!");
});

scenario(world, "declining tells the server no", async (app) => {
  await callAskName(app);
  await app.click("question-decline");
  await app.waitGone("question-dialog");
  await app.waitFor("tool-result");
  assert.equal(await app.text("tool-result-text"), "no name given (decline)");
});
