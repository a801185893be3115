#!/usr/bin/env node
// `npm run test:e2e`: the end-to-end tests of the real Gatehouse window.
//
// Checks that everything they need is there (the debug app and fixture binaries, tauri-driver and
// WebKitWebDriver on PATH, an X display, a D-Bus session), then runs tests/e2e/*.test.mjs with
// node's test runner, one file at a time (one app at a time: the app holds a single-instance name
// on the session bus), under an overall time limit. Prints a summary with the failed tests.
//
//   npm run test:e2e                 # every test file
//   npm run test:e2e -- demo oauth   # files whose name contains one of the words
//
// Without a desktop session, run it inside one: tests/e2e/desktop-session.sh npm run test:e2e

import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { missingPrerequisites, repoRoot } from "./lib/harness.mjs";
import { alive, descendants } from "./lib/processes.mjs";

const LIMIT_S = Number(process.env.GATEHOUSE_E2E_TIMEOUT_S || 900);
const PER_FILE_S = Number(process.env.GATEHOUSE_E2E_FILE_TIMEOUT_S || 240);

function onPath(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

const missing = missingPrerequisites();
if (!onPath("tauri-driver")) missing.push("tauri-driver on PATH (cargo install tauri-driver --locked)");
if (!onPath("WebKitWebDriver")) missing.push("WebKitWebDriver on PATH (Debian: apt-get install webkit2gtk-driver)");
if (!process.env.DISPLAY) missing.push("an X display (DISPLAY is not set)");
if (!process.env.DBUS_SESSION_BUS_ADDRESS) missing.push("a D-Bus session with an unlocked keyring (DBUS_SESSION_BUS_ADDRESS is not set)");
if (missing.length > 0) {
  console.error("e2e: cannot run; missing:");
  for (const item of missing) console.error(`  - ${item}`);
  console.error("Run it inside a desktop session: tests/e2e/desktop-session.sh npm run test:e2e");
  process.exit(2);
}

const dir = join(repoRoot, "tests", "e2e");
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith(".test.mjs"))
  .filter((name) => wanted.length === 0 || wanted.some((word) => name.includes(word)))
  .sort()
  .map((name) => join(dir, name));
if (files.length === 0) {
  console.error(`e2e: no test file matches ${wanted.join(" ")}`);
  process.exit(2);
}

const scratch = mkdtempSync(join(tmpdir(), "gatehouse-e2e-run-"));
const tapFile = join(scratch, "results.tap");
const runner = spawn(
  process.execPath,
  [
    "--test",
    "--test-concurrency=1",
    `--test-timeout=${PER_FILE_S * 1000}`,
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { cwd: repoRoot, stdio: ["ignore", "inherit", "inherit"], detached: true },
);

let timedOut = false;
async function stopRunner(reason) {
  console.error(`\ne2e: ${reason}; stopping the tests and everything they started`);
  const everything = () => [...descendants(runner.pid), runner.pid];
  for (const pid of everything()) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // Gone.
    }
  }
  const deadline = Date.now() + 10000;
  while (everything().some(alive) && Date.now() < deadline) await sleep(100);
  for (const pid of everything()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone.
    }
  }
}

const timer = setTimeout(() => {
  timedOut = true;
  void stopRunner(`the whole run took longer than ${LIMIT_S} s`);
}, LIMIT_S * 1000);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, async () => {
    clearTimeout(timer);
    await stopRunner(`received ${sig}`);
    process.exit(130);
  });
}

const code = await new Promise((resolve) => runner.once("exit", (c, s) => resolve(c ?? (s ? 1 : 0))));
clearTimeout(timer);

// The summary, from the TAP report.
let tap = "";
try {
  tap = readFileSync(tapFile, "utf8");
} catch {
  // No report (the runner was killed early).
}
rmSync(scratch, { recursive: true, force: true });
const count = (key) => Number(new RegExp(`^# ${key} (\\d+)$`, "m").exec(tap)?.[1] ?? 0);
const failedNames = [...tap.matchAll(/^\s*not ok \d+ - (.+)$/gm)].map((m) => m[1]);
const passed = count("pass");
const failed = count("fail") + count("cancelled");
console.log("");
console.log(`e2e summary (${files.length} file${files.length === 1 ? "" : "s"}${timedOut ? ", TIMED OUT" : ""}):`);
for (const name of failedNames) console.log(`  failed: ${name}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(timedOut ? 1 : code === 0 && failed === 0 && passed > 0 ? 0 : 1);
