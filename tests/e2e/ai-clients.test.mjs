// Issue 8's "done when", as a person would try it: an OAuth server authorized once in the app;
// then a Claude-Desktop-style stdio entry (`gatehouse proxy demo`, the installed CLI next to the
// app) uses it with no second OAuth dance, while the window shows the server connected and its
// Activity view the proxy's calls; and an HTTP client given a token made in Settings lists the
// same tools through the app's own gateway.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { after, before } from "node:test";
import { World, appBinary, approveInBrowser, configToml, freePort, scenario } from "./lib/harness.mjs";

const world = new World("ai-clients");
const cli = join(dirname(appBinary), "gatehouse");
const CLIENT = "Claude Desktop (e2e)";
let fixtureUrl;
let port;


/**
 * `gatehouse proxy <id>` as an AI client launches it from its config file, driven over stdio
 * with newline-delimited JSON-RPC: `request(method, params)` resolves with the answer.
 */
function launchProxy(id) {
  const child = spawn(cli, ["proxy", id], {
    env: { ...process.env, GATEHOUSE_CONFIG: world.configFile, GATEHOUSE_DATA_DIR: join(world.dir, "data") },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const waiting = new Map();
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    const message = JSON.parse(line);
    const resolveAnswer = waiting.get(message.id);
    if (resolveAnswer) {
      waiting.delete(message.id);
      resolveAnswer(message);
    }
  });
  let next = 1;
  return {
    request(method, params) {
      const id = next++;
      child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
      return new Promise((resolveAnswer, reject) => {
        waiting.set(id, resolveAnswer);
        setTimeout(() => reject(new Error(`no answer to ${method} in 30 s`)), 30000).unref();
      });
    },
    notify(method, params) {
      child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method, params })}\n`);
    },
    stop() {
      child.stdin.end();
      child.kill();
    },
  };
}

/** An MCP request to the gateway as an HTTP client sends it; the JSON-RPC answer. */
async function post(url, token, body, session) {
  const headers = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    authorization: `Bearer ${token}`,
  };
  if (session) headers["mcp-session-id"] = session;
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await response.text();
  assert.ok(response.ok, `${response.status}: ${text}`);
  // An answer in JSON, or as the data line of an SSE event (after a priming event with none).
  const json = text.trimStart().startsWith("{")
    ? text
    : [...text.matchAll(/^data: ?(.+)$/gm)].map((match) => match[1]).find((data) => data.includes('"jsonrpc"'));
  return { answer: json ? JSON.parse(json) : null, session: response.headers.get("mcp-session-id") };
}

before(async () => {
  fixtureUrl = await world.fixture("oauth-fixture", ["--oauth", "--consent", "approve"]);
  port = await freePort();
  const servers = configToml([{ id: "demo", url: fixtureUrl, oauth: true }]);
  await world.launch({ config: `[gateway]\nport = ${port}\n\n${servers}\n` });
});
after(() => world.close());

scenario(world, "a stdio entry and an HTTP client use the server the app authorized", async (app) => {
  const authUrl = await app.startAuthorization("demo");
  assert.equal(await approveInBrowser(authUrl), 200);
  await app.waitText("server-status-demo", /^Connected/);

  // The AI client's entry {"command": "gatehouse", "args": ["proxy", "demo"]}.
  const proxy = launchProxy("demo");
  let tools;
  try {
    const init = await proxy.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: CLIENT, version: "1.0.0" },
    });
    assert.ok(init.result, JSON.stringify(init));
    proxy.notify("notifications/initialized", {});
    const listed = await proxy.request("tools/list", {});
    tools = listed.result.tools.map((tool) => tool.name).sort();
    assert.ok(tools.includes("echo"), JSON.stringify(listed));
    const echoed = await proxy.request("tools/call", { name: "echo", arguments: { text: "through the proxy" } });
    assert.equal(echoed.result.content[0].text, "through the proxy", JSON.stringify(echoed));
  } finally {
    proxy.stop();
  }
  // No second consent: the app's authorization is the only one the browser saw.
  assert.equal(world.openedUrls().length, 1, JSON.stringify(world.openedUrls()));

  // The window still shows the server connected, and its Activity view the proxy's calls.
  await app.waitText("server-status-demo", /^Connected/);
  await app.click("nav-activity");
  await app.browser.waitUntil(
    async () => {
      const rows = await app.browser.$$('[data-testid="activity-row"]');
      for (const row of rows) {
        const text = await row.getText();
        if (text.includes(CLIENT) && text.includes("echo")) return true;
      }
      return false;
    },
    { timeout: 20000, timeoutMsg: "the Activity view never showed the proxy's tools/call" },
  );

  // An HTTP client with a token made in Settings lists the same tools through the app's gateway.
  await app.click("nav-settings");
  await app.waitFor("gateway-state");
  await app.fill("gateway-client-input", "cursor-e2e");
  await app.click("gateway-add");
  const token = await app.text("gateway-new-token-value");
  await app.click("gateway-new-token-done");
  const url = `http://127.0.0.1:${port}/servers/demo/mcp`;
  const { session } = await post(url, token, {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "cursor-e2e", version: "1" } },
  });
  await post(url, token, { jsonrpc: "2.0", method: "notifications/initialized" }, session);
  const { answer } = await post(url, token, { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }, session);
  assert.deepEqual(answer.result.tools.map((tool) => tool.name).sort(), tools);
});
