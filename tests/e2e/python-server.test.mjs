// The Python SDK's own server (PyPI `mcp` 2.x, tests/peers/py_server.py in gatehouse-cli) in the
// real window: served statelessly in MCP 2026-07-28, it is listed and shown connected with the
// revision it speaks, its tool is called, and its question (an elicitation, which 2026-07-28
// makes an "input required" result) is answered in the window's dialog. The test command sets
// GATEHOUSE_PYTHON_MCP to a Python with that SDK.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { World, freePort, repoRoot, scenario } from "./lib/harness.mjs";
import { start } from "./lib/processes.mjs";

const world = new World("python-server");

before(async () => {
  const python = process.env.GATEHOUSE_PYTHON_MCP;
  if (!python) throw new Error("GATEHOUSE_PYTHON_MCP must name a Python with PyPI `mcp` 2.x (scripts/test.sh sets it)");
  const port = await freePort();
  let ready;
  const listening = new Promise((resolve) => (ready = resolve));
  const server = start(
    "py-server",
    python,
    [join(repoRoot, "crates/gatehouse-cli/tests/peers/py_server.py"), String(port), "--stateless"],
    { env: process.env, logFile: join(world.dir, "py-server.log"), onStdout: (line) => line === "ready" && ready() },
  );
  world.procs.push(server);
  const started = await Promise.race([listening.then(() => true), sleep(30000).then(() => false)]);
  if (!started) throw new Error(`the Python SDK server did not start; see ${join(world.dir, "py-server.log")}`);
  await world.launch({ config: `[[servers]]\nid = "python"\nurl = "http://127.0.0.1:${port}/mcp"\n` });
});
after(() => world.close());

scenario(world, "listed and connected in MCP 2026-07-28, its tools called from the window", async (app) => {
  assert.equal(await app.waitText("server-status-python", /^Connected/), "Connected · 2 tools");
  assert.match(await app.text("server-detail-python"), /py-peer .*MCP 2026-07-28/);

  await app.click("server-tools-python");
  await app.click("tool-greet");
  await app.fill("tool-args", '{"name":"Grace"}');
  await app.click("tool-call");
  await app.waitFor("tool-result");
  assert.equal(await app.text("tool-result-text"), "Hello, Grace!");

  await app.click("tool-ask_name");
  await app.fill("tool-args", "{}");
  await app.click("tool-call");
  await app.waitFor("question-dialog");
  assert.equal(await app.text("question-message"), "What is your name?");
  await app.fill("question-input-name", "Ada");
  await app.click("question-accept");
  await app.waitGone("question-dialog");
  await app.waitText("tool-result-text", "Hello, Ada!");
});
