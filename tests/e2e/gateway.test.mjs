// The desktop app serves the local HTTP gateway: Settings says where, a client's token made there
// lets a real HTTP client initialize through it (and nothing else does), Revoke shuts that client
// out, and a port that another program holds is reported with the fix instead of stopping the app.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { after, before } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { World, configToml, freePort, scenario } from "./lib/harness.mjs";

const world = new World("gateway");
let port;
let fixtureUrl;
let token;


const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "e2e-http-client", version: "1.0.0" } },
};

/** POSTs an MCP initialize to `url` as an HTTP client would; `{ status, body }`. */
async function initialize(url, bearer) {
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(INITIALIZE) });
  return { status: response.status, body: await response.text() };
}

async function listening(p) {
  try {
    await fetch(`http://127.0.0.1:${p}/`);
    return true;
  } catch {
    return false;
  }
}

function config(gatewayPort) {
  return `[gateway]\nport = ${gatewayPort}\n\n${configToml([{ id: "fixture", url: fixtureUrl }])}\n`;
}

/** Opens Settings afresh (it reads the gateway's status when it opens). */
async function openSettings(app) {
  await app.click("nav-servers");
  await app.click("nav-settings");
  await app.waitFor("gateway-state");
}

before(async () => {
  fixtureUrl = await world.fixture("open-fixture", ["--name", "open-fixture"]);
  port = await freePort();
  await world.launch({ config: config(port) });
});
after(() => world.close());

scenario(world, "Settings shows the gateway this app serves and each server's URL", async (app) => {
  await app.waitText("server-status-fixture", /^Connected/);
  await openSettings(app);
  await app.waitAttr("gateway-state", "data-state", "running");
  assert.equal(await app.text("gateway-address"), `http://127.0.0.1:${port}`);
  assert.equal(await app.text("gateway-url-fixture"), `http://127.0.0.1:${port}/servers/fixture/mcp`);
  await app.waitFor("gateway-tokens-empty");
});

scenario(world, "a token made in Settings lets an HTTP client in; none, or a revoked one, gets 401", async (app) => {
  const url = `http://127.0.0.1:${port}/servers/fixture/mcp`;
  assert.equal((await initialize(url)).status, 401);

  await app.fill("gateway-client-input", "e2e-client");
  await app.click("gateway-add");
  await app.waitText("gateway-new-token", /shown only this time/);
  token = await app.text("gateway-new-token-value");
  assert.match(token, /^ghgw_[A-Za-z0-9_-]{40,}$/);
  await app.waitFor("gateway-token-e2e-client");

  const answer = await initialize(url, token);
  assert.equal(answer.status, 200, answer.body);
  assert.match(answer.body, /"result"/);
  assert.match(answer.body, /"serverInfo"/);
  assert.equal((await initialize(url, `${token}x`)).status, 401);

  // Once dismissed, the token is nowhere in the window.
  await app.click("gateway-new-token-done");
  await app.waitGone("gateway-new-token");
  assert.ok(!(await app.text("gateway")).includes(token));

  await app.click("gateway-revoke-e2e-client");
  await app.waitText("confirm-message", /401/);
  await app.click("confirm-ok");
  await app.waitGone("gateway-token-e2e-client");
  assert.equal((await initialize(url, token)).status, 401);
});

scenario(world, "a port held by another program is reported with the fix; the app keeps running", async (app) => {
  const taken = await new Promise((resolveServer) => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, "127.0.0.1", () => resolveServer(server));
  });
  const busyPort = taken.address().port;
  try {
    // The app follows its config file: the gateway moves to the new port, which is taken.
    writeFileSync(world.configFile, config(busyPort));
    const deadline = Date.now() + 20000;
    for (;;) {
      await openSettings(app);
      const state = await app.el("gateway-state").getAttribute("data-state");
      if (state === "failed") break;
      assert.ok(Date.now() < deadline, `the gateway is still ${state}`);
      await sleep(500);
    }
    assert.match(await app.text("gateway-problem"), new RegExp(`port ${busyPort} on 127\\.0\\.0\\.1 is already in use`));
    assert.match(await app.text("gateway-fix"), /gatehouse serve/);
    assert.match(await app.text("gateway-fix"), /\[gateway\]/);
    assert.equal(await listening(port), false, "the gateway left its old port");
    // Everything else works on.
    await app.click("nav-servers");
    await app.waitText("server-status-fixture", /^Connected/);
  } finally {
    await new Promise((done) => taken.close(done));
  }
});
