#!/usr/bin/env node
// Measures the resident memory of the release app's process tree (the app and its WebKit
// processes) with 20 connected servers, idle, window open. Not a test: it prints the figures the
// README reports. Run it in a desktop session after a release build:
//
//   cargo build --release -p gatehouse-app -p gatehouse-fixture   (and npm run ui:build first)
//   tests/e2e/desktop-session.sh node tests/e2e/measure-memory.mjs [APP_BINARY]
//
// The 20 servers share one fixture MCP server on loopback (each its own connection and session).
// The tray, read through the stand-in panel, says when all of them are connected.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot, startFixture } from "./lib/harness.mjs";
import { descendants, start, stopAll } from "./lib/processes.mjs";
import { TrayHost } from "./lib/tray.mjs";

const SERVERS = 20;
const targetDir = resolve(repoRoot, process.env.CARGO_TARGET_DIR || "target");
const app = process.argv[2] ?? join(targetDir, "release", "gatehouse-app");

/** kB of `field` (VmRSS in status, Pss in smaps_rollup) for one process, 0 when gone. */
function kb(pid, file, field) {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/${file}`, "utf8"));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function name(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

const dir = mkdtempSync(join(tmpdir(), "gatehouse-memory-"));
const world = { dir, procs: [] };
try {
  const fixture = await startFixture(dir, "open-fixture", ["--name", "open-fixture"]);
  world.procs.push(fixture.proc);
  const config = Array.from({ length: SERVERS }, (_, i) => `[[servers]]\nid = "s${i + 1}"\nurl = "${fixture.url}"\n`);
  writeFileSync(join(dir, "config.toml"), config.join("\n"));
  const tray = await TrayHost.start(world);
  const proc = start("app", app, [], {
    env: { ...process.env, GATEHOUSE_CONFIG: join(dir, "config.toml"), GATEHOUSE_DATA_DIR: join(dir, "data") },
    logFile: join(dir, "app.log"),
  });
  await tray.waitForState("tray-ok", [`Gatehouse: ${SERVERS} of ${SERVERS} connected`], { timeout: 60000 });
  await sleep(15000); // idle
  const pids = [proc.pid, ...descendants(proc.pid)];
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    const r = kb(pid, "status", "VmRSS");
    const p = kb(pid, "smaps_rollup", "Pss");
    rss += r;
    pss += p;
    console.log(`${name(pid).padEnd(16)} RSS ${(r / 1024).toFixed(1)} MiB  PSS ${(p / 1024).toFixed(1)} MiB`);
  }
  console.log(`total (${pids.length} processes): RSS ${(rss / 1024).toFixed(1)} MiB, PSS ${(pss / 1024).toFixed(1)} MiB`);
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
