#!/usr/bin/env node
// Screenshots of the real Gatehouse window for docs/screenshots/ (run by scripts/screenshots.sh,
// `npm run screenshots`): the app with fixture servers on loopback in several states, driven
// through tauri-driver exactly as the end-to-end tests drive it.

import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { World, approveInBrowser, configToml, missingPrerequisites, repoRoot } from "./lib/harness.mjs";

// Relative to the repository; an absolute path is taken as it is.
const out = resolve(repoRoot, process.argv[2] ?? "docs/screenshots");
const missing = missingPrerequisites();
if (missing.length > 0) {
  console.error(`screenshots: missing ${missing.join("; ")}`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const INTERNAL_TOKEN = "sk_live_4f9c2a7be1d04a8c";
// WebKitWebDriver's Take Screenshot never answers when WebKit's DMA-BUF renderer is switched off
// (as scripts/test.sh does for the tests); under Xvfb WebKit falls back by itself anyway.
const env = { WEBKIT_DISABLE_DMABUF_RENDERER: "0" };
const world = new World("screenshots");
let ok = false;
try {
  const internal = await world.fixture("internal", ["--bearer", INTERNAL_TOKEN, "--name", "acme-internal"]);
  const linear = await world.fixture("linear", ["--oauth", "--consent", "approve", "--name", "linear-mcp"]);
  const sentry = await world.fixture("sentry", ["--oauth", "--name", "sentry-mcp"]);
  const analytics = await world.fixture("analytics", ["--bearer", "unused", "--name", "analytics"]);
  const staging = await world.fixture("staging", ["--name", "staging"]);

  // The servers a person set up earlier, as they would sit in their config file.
  const app = await world.launch({
    env,
    config: configToml([
      { id: "internal", url: internal, headers: { Authorization: "Bearer ${INTERNAL_TOKEN}", "X-Team": "platform" } },
      { id: "linear", url: linear, oauth: true },
      { id: "sentry", url: sentry, oauth: true },
      { id: "analytics", url: analytics, headers: { "X-Api-Key": "${ANALYTICS_KEY}" } },
      { id: "staging", url: staging, enabled: false },
    ]),
  });
  const shot = async (name) => {
    const file = join(out, `${name}.png`);
    await app.screenshot(file);
    console.log(`saved ${file}`);
  };

  await app.storeSecret("INTERNAL_TOKEN", INTERNAL_TOKEN);
  await app.storeSecret("GITHUB_PAT", "ghp_0000000000000000000000000000");
  await shot("secrets");

  await app.click("nav-servers");
  await app.waitText("server-status-internal", /^Connected/);
  await app.waitText("server-status-analytics", "Error");
  await app.waitText("server-status-linear", "Needs authorization");
  await approveInBrowser(await app.startAuthorization("linear"));
  await app.waitText("server-status-linear", /^Connected/);
  await app.waitText("server-detail-linear", /token expires/);
  await app.waitText("server-status-sentry", "Needs authorization");
  await app.waitAttr("app-summary", "data-state", "errors");
  await shot("servers");

  await app.click("server-edit-internal");
  await app.waitValue("header-value-0", "Bearer ${INTERNAL_TOKEN}");
  await shot("editor-headers");
  await app.click("editor-cancel");
  await app.waitGone("editor");

  await app.click("server-edit-linear");
  await app.waitFor("editor-oauth");
  await app.fill("oauth-scopes", "read write");
  // The OAuth section whole, as the person sees it after scrolling the dialog down.
  await app.browser.execute(() =>
    document.querySelector('[data-testid="editor-oauth"]')?.scrollIntoView({ block: "start" }),
  );
  await shot("editor-oauth");
  await app.click("editor-cancel");
  await app.waitGone("editor");

  await app.startAuthorization("sentry");
  await app.waitText("server-status-sentry", "Waiting for browser…");
  await shot("authorizing");
  await app.click("auth-cancel-sentry");
  await app.waitGone("auth-panel-sentry");

  await app.click("server-tools-internal");
  await app.click("tool-echo");
  await app.fill("tool-args", '{ "text": "Hello from Gatehouse" }');
  await app.click("tool-call");
  await app.waitText("tool-result-text", "Hello from Gatehouse");
  await shot("tools");
  ok = true;
} catch (error) {
  world.fail();
  console.error(error);
} finally {
  await world.close();
}

// A server's question during a tool call, in its own window (the interactive fixture asks for a name).
if (ok) {
  const asking = new World("screenshots-question");
  try {
    const url = await asking.fixture("calendar", ["--interactive", "--name", "calendar-mcp"]);
    const app = await asking.launch({ env, config: configToml([{ id: "calendar", url }]) });
    await app.waitText("server-status-calendar", /^Connected/);
    await app.click("server-tools-calendar");
    await app.click("tool-ask_name");
    await app.fill("tool-args", "{}");
    await app.click("tool-call");
    await app.waitFor("question-dialog");
    await app.fill("question-input-name", "Ada Lovelace");
    const file = join(out, "question.png");
    await app.screenshot(file);
    console.log(`saved ${file}`);
  } catch (error) {
    asking.fail();
    console.error(error);
    ok = false;
  } finally {
    await asking.close();
  }
}

// The first-run window, on its own empty config.
if (ok) {
  const first = new World("screenshots-first-run");
  try {
    const app = await first.launch({ env });
    await app.waitFor("empty-state");
    const file = join(out, "first-run.png");
    await app.screenshot(file);
    console.log(`saved ${file}`);
  } catch (error) {
    first.fail();
    console.error(error);
    ok = false;
  } finally {
    await first.close();
  }
}
process.exit(ok ? 0 : 1);
