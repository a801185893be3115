// What the app costs while nothing happens: the CPU time its process tree (the app and the WebKit
// processes it starts) spends over a stretch of wall-clock time, read from /proc. Used by
// idle-cpu.test.mjs; the figures it prints go into the README.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { descendants } from "./processes.mjs";

/** Clock ticks per second (the unit of utime and stime in /proc/PID/stat). */
const TICKS_PER_S = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** `{ name, ticks }` of a process (user + system CPU time so far), or null when it is gone. */
function usage(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
  // Fields after the command name, from field 3 (state): utime is field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { name, ticks: Number(fields[11]) + Number(fields[12]) };
}

/** The pid of the app, found among the descendants of `ancestor` (tauri-driver) by its name. */
export function appPid(ancestor, name = "gatehouse-app") {
  const pid = descendants(ancestor).find((p) => usage(p)?.name === name);
  if (pid === undefined) throw new Error(`no ${name} process under pid ${ancestor}`);
  return pid;
}

/**
 * Measures the CPU time of `pid` and all its descendants over `seconds` of wall-clock time.
 * Resolves with `{ percent, processes: [{ pid, name, percent }], perSecond }`, percent being of one
 * core and `perSecond` the whole tree's percent in each second (a steady cost, like a repainting
 * animation, shows in every second; a burst after a change only in the first few). A process
 * started during the measurement counts from zero; one that ended is left out.
 */
export async function measureCpu(pid, seconds) {
  const tree = () => [pid, ...descendants(pid)];
  const read = () => {
    const ticks = new Map();
    for (const p of tree()) {
      const u = usage(p);
      if (u) ticks.set(p, u);
    }
    return ticks;
  };
  const before = read();
  const started = process.hrtime.bigint();
  const perSecond = [];
  let previous = 0;
  for (let second = 1; second <= seconds; second++) {
    await sleep(Number(started + BigInt(second) * 1_000_000_000n - process.hrtime.bigint()) / 1e6);
    const now = read();
    const sum = [...now].reduce((acc, [p, u]) => acc + u.ticks - (before.get(p)?.ticks ?? 0), 0);
    perSecond.push((100 * (sum - previous)) / TICKS_PER_S);
    previous = sum;
  }
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  const processes = [...read()].map(([p, u]) => ({
    pid: p,
    name: u.name,
    percent: (100 * (u.ticks - (before.get(p)?.ticks ?? 0))) / TICKS_PER_S / elapsedS,
  }));
  const percent = processes.reduce((sum, p) => sum + p.percent, 0);
  return { percent, processes, perSecond };
}

/** "0.40 % of one core (gatehouse-app 0.10 %, WebKitWebProces 0.30 %, …); per second: 2 0 0 …" */
export function describeCpu({ percent, processes, perSecond }) {
  const parts = processes.map((p) => `${p.name} ${p.percent.toFixed(2)} %`).join(", ");
  const seconds = perSecond.map((p) => p.toFixed(0)).join(" ");
  return `${percent.toFixed(2)} % of one core (${parts}); % in each second: ${seconds}`;
}
