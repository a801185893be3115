// Child processes of an end-to-end test: started here, logged to files, and stopped for sure.
//
// Every process is spawned as the leader of its own process group, so stopping it also stops what
// it started (tauri-driver starts WebKitWebDriver, which starts the app). On top of that the
// descendants are looked up in /proc before the group is signalled, in case one of them moved to
// a group of its own. Nothing is ever stopped by name: only the pids this module started and
// their descendants.

import { spawn } from "node:child_process";
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** Every process started through `start`, until it is stopped. */
const running = new Set();

/** The pids of the descendants of `pid`, children first. */
export function descendants(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // The command name (field 2) may hold spaces and parentheses: parse after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const parent = Number(fields[1]);
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(Number(entry));
  }
  const found = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it is gone for our purposes.
    const state = readFileSync(`/proc/${pid}/stat`, "utf8");
    return state.slice(state.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function signal(pids, groupLeader, sig) {
  try {
    process.kill(-groupLeader, sig);
  } catch {
    // The group is gone.
  }
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  }
}

/**
 * A started process: `child` (Node's ChildProcess), the log file its output goes to, and
 * `stop()`, which ends it and everything it started (SIGTERM, then SIGKILL after `graceMs`), and
 * resolves once all of them are gone.
 */
export class Proc {
  constructor(name, child, logFile) {
    this.name = name;
    this.child = child;
    this.logFile = logFile;
    this.exited = new Promise((resolve) => child.once("exit", (code, sig) => resolve({ code, sig })));
    this.stopped = false;
  }

  get pid() {
    return this.child.pid;
  }

  async stop({ graceMs = 3000 } = {}) {
    if (this.stopped) return;
    this.stopped = true;
    const pid = this.child.pid;
    const pids = [...descendants(pid), pid];
    signal(pids, pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (pids.some(alive) && Date.now() < deadline) await sleep(50);
    if (pids.some(alive)) {
      signal([...descendants(pid), ...pids], pid, "SIGKILL");
      const hard = Date.now() + 5000;
      while (pids.some(alive) && Date.now() < hard) await sleep(50);
    }
    running.delete(this);
  }

  /** Synchronous last resort (process exit): SIGKILL to the process, its group and descendants. */
  killNow() {
    const pid = this.child.pid;
    if (pid === undefined) return;
    signal([...descendants(pid), pid], pid, "SIGKILL");
  }
}

/**
 * Starts `command` with `args` in its own process group; stdout and stderr go to `logFile`
 * (stdout is also handed to `onStdout` line by line, when given).
 */
export function start(name, command, args, { env, logFile, onStdout, cwd, stdin = false } = {}) {
  const child = spawn(command, args, {
    env,
    cwd,
    detached: true,
    stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  const log = createWriteStream(logFile, { flags: "a" });
  let pending = "";
  child.stdout.on("data", (chunk) => {
    log.write(chunk);
    if (!onStdout) return;
    pending += chunk.toString();
    let newline;
    while ((newline = pending.indexOf("\n")) !== -1) {
      onStdout(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  });
  child.stderr.on("data", (chunk) => log.write(chunk));
  child.once("exit", () => log.end());
  const proc = new Proc(name, child, logFile);
  running.add(proc);
  return proc;
}

/** Stops everything still running, most recently started first. */
export async function stopAll() {
  for (const proc of [...running].reverse()) await proc.stop();
}

// If the test process ends abruptly (a timeout, Ctrl+C, an uncaught error), nothing it started
// may outlive it.
function killEverything() {
  for (const proc of running) proc.killNow();
  running.clear();
}
process.once("exit", killEverything);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(sig, () => {
    killEverything();
    process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1));
  });
}
