// A real MCP client, the TypeScript SDK's (npm @modelcontextprotocol/sdk),
// driving `gatehouse proxy` over stdio for crates/gatehouse-cli/tests/proxy.rs.
//
//   node ts_client.mjs SDK_DIR MODE GATEHOUSE [ARGS...]
//
// SDK_DIR is the SDK package's folder. MODE is `full` (initialize,
// tools/list, tools/call, progress, cancellation, elicitation, sampling,
// roots), `refused`
// (connecting should fail: report how), `reconnect` (a call, then another
// after a line arrives on stdin) or `filtered` (the tools listed, a call of
// `whoami` and one of `echo`). Results are JSON, one object per line.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [sdkDir, mode, command, ...args] = process.argv.slice(2);
const load = (rel) => import(pathToFileURL(join(sdkDir, "dist/esm", rel)).href);
const { Client } = await load("client/index.js");
const { StdioClientTransport } = await load("client/stdio.js");
const { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } = await load("types.js");
const version = JSON.parse(readFileSync(join(sdkDir, "package.json"), "utf8")).version;

const say = (object) => process.stdout.write(JSON.stringify(object) + "\n");
const text = (result) => result.content?.find((c) => c.type === "text")?.text;

const client = new Client(
  { name: "ts-sdk-proxy-test", version },
  { capabilities: { elicitation: { form: {} }, sampling: {}, roots: {} } },
);
client.setRequestHandler(ElicitRequestSchema, async (request) => ({
  action: "accept",
  content: { name: `Ada (asked: ${request.params.message})` },
}));
client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
  role: "assistant",
  model: "test-model",
  content: { type: "text", text: `hello (asked: ${request.params.messages[0].content.text})` },
}));
client.setRequestHandler(ListRootsRequestSchema, async () => ({
  roots: [{ uri: "file:///home/ada/project", name: "project" }],
}));
const transport = new StdioClientTransport({ command, args, env: { ...process.env }, stderr: "inherit" });

const started = Date.now();
try {
  await client.connect(transport);
} catch (error) {
  say({ connected: false, error: String(error?.message ?? error), ms: Date.now() - started });
  process.exit(mode === "refused" ? 0 : 1);
}
if (mode === "refused") {
  say({ connected: true });
  await client.close();
  process.exit(1);
}

if (mode === "filtered") {
  const out = { tools: (await client.listTools()).tools.map((t) => t.name).sort() };
  try {
    out.whoami = { result: text(await client.callTool({ name: "whoami", arguments: {} })) };
  } catch (error) {
    out.whoami = { error: String(error?.message ?? error), code: error?.code };
  }
  out.echo = text(await client.callTool({ name: "echo", arguments: { text: "allowed" } }));
  say(out);
  await client.close();
  process.exit(0);
}

if (mode === "reconnect") {
  say({ step: "first", echo: text(await client.callTool({ name: "echo", arguments: { text: "before" } })) });
  const lines = createInterface({ input: process.stdin });
  for await (const _ of lines) break;
  try {
    say({ step: "second", echo: text(await client.callTool({ name: "echo", arguments: { text: "after" } })) });
  } catch (error) {
    say({ step: "second", error: String(error?.message ?? error) });
  }
  await client.close();
  process.exit(0);
}

const out = { sdk: version, server: client.getServerVersion()?.name };
const listed = (await client.listTools()).tools;
out.tools = listed.map((t) => t.name).sort();
out.echo = text(await client.callTool({ name: "echo", arguments: { text: "hello through the proxy" } }));
// A structured output that is not an object (MCP 2026-07-28), to a client
// of an earlier revision: no output schema, the value as text.
const primes = await client.callTool({ name: "primes", arguments: { count: 4 } });
out.primes = {
  schema: listed.find((t) => t.name === "primes")?.outputSchema ?? null,
  text: text(primes),
  structured: primes.structuredContent ?? null,
};

const progress = [];
const counted = await client.callTool({ name: "count", arguments: { steps: 3 } }, undefined, {
  onprogress: (p) => progress.push([p.progress, p.total, p.message]),
});
out.count = text(counted);
out.progress = progress;

const abort = new AbortController();
setTimeout(() => abort.abort("the person pressed stop"), 500);
const waitStarted = Date.now();
try {
  const result = await client.callTool({ name: "wait_for_cancel", arguments: {} }, undefined, { signal: abort.signal });
  out.cancel = { error: null, result: text(result) };
} catch (error) {
  out.cancel = { error: String(error?.message ?? error), ms: Date.now() - waitStarted };
}

out.elicited = text(await client.callTool({ name: "ask_name", arguments: {} }));
out.sampled = text(await client.callTool({ name: "ask_model", arguments: {} }));
out.roots = text(await client.callTool({ name: "ask_roots", arguments: {} }));
// The session still works after all of that.
out.after = text(await client.callTool({ name: "add", arguments: { a: 2, b: 3 } }));
say(out);
await client.close();
