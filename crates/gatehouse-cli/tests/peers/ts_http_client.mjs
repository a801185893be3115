// A real MCP client, the TypeScript SDK's (npm @modelcontextprotocol/sdk,
// StreamableHTTPClientTransport), talking to Gatehouse's local HTTP gateway
// for crates/gatehouse-cli/tests/gateway.rs.
//
//   node ts_http_client.mjs SDK_DIR MODE URL
//
// The bearer token is GATEHOUSE_GW_TOKEN (none when unset); GATEHOUSE_GW_ORIGIN,
// when set, is sent as the Origin header. MODE is `full` (initialize,
// tools/list, tools/call, progress, cancellation, elicitation) or `connect`
// (connect, list tools, report how it went). Results are JSON, one object
// per line.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [sdkDir, mode, url] = process.argv.slice(2);
const load = (rel) => import(pathToFileURL(join(sdkDir, "dist/esm", rel)).href);
const { Client } = await load("client/index.js");
const { StreamableHTTPClientTransport } = await load("client/streamableHttp.js");
const { CreateMessageRequestSchema, ElicitRequestSchema } = await load("types.js");
const version = JSON.parse(readFileSync(join(sdkDir, "package.json"), "utf8")).version;

const say = (object) => process.stdout.write(JSON.stringify(object) + "\n");
const text = (result) => result.content?.find((c) => c.type === "text")?.text;

const headers = {};
if (process.env.GATEHOUSE_GW_TOKEN) headers.Authorization = `Bearer ${process.env.GATEHOUSE_GW_TOKEN}`;
if (process.env.GATEHOUSE_GW_ORIGIN) headers.Origin = process.env.GATEHOUSE_GW_ORIGIN;

const client = new Client(
  { name: "ts-sdk-gateway-test", version },
  { capabilities: { elicitation: { form: {} }, sampling: {} } },
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
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });

const started = Date.now();
try {
  await client.connect(transport);
} catch (error) {
  say({ connected: false, error: String(error?.message ?? error), code: error?.code ?? null, ms: Date.now() - started });
  process.exit(0);
}

if (mode === "connect") {
  try {
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    say({ connected: true, tools, ms: Date.now() - started });
  } catch (error) {
    say({ connected: true, error: String(error?.message ?? error), code: error?.code ?? null, ms: Date.now() - started });
  }
  await client.close();
  process.exit(0);
}

const out = { sdk: version, server: client.getServerVersion()?.name };
const listed = (await client.listTools()).tools;
out.tools = listed.map((t) => t.name).sort();
out.echo = text(await client.callTool({ name: "echo", arguments: { text: "hello through the gateway" } }));
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
out.after = text(await client.callTool({ name: "add", arguments: { a: 2, b: 3 } }));
say(out);
await client.close();
