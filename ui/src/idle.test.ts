// The window costs nothing while nothing happens: no animation that never ends (each one repaints
// the window every frame, a whole core under software rendering) and no timer that fires again and
// again. The real measurement is the end-to-end test tests/e2e/idle-cpu.test.mjs; this one names
// the offending line at once.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    if (/\.test\.ts$/.test(name) || path.includes(`${join(root, "test")}`)) return [];
    return /\.(svelte|ts|css)$/.test(name) ? [path] : [];
  });
}

function offending(pattern: RegExp, allowed: string[] = []): string[] {
  return sources(root)
    .filter((file) => !allowed.includes(relative(root, file)))
    .flatMap((file) =>
    readFileSync(file, "utf8")
      .split("\n")
      .flatMap((line, index) => (pattern.test(line) ? [`${relative(root, file)}:${index + 1}: ${line.trim()}`] : [])),
  );
}

describe("the idle window", () => {
  it("has no animation that runs forever", () => {
    expect(offending(/animation(-iteration-count)?\s*:[^;]*\binfinite\b/)).toEqual([]);
  });

  it("has no repeating timers or animation-frame loops", () => {
    // lib/paint.ts waits for exactly two frames, once (its own test checks that).
    expect(offending(/\bsetInterval\s*\(|\brequestAnimationFrame\s*\(/, ["lib/paint.ts"])).toEqual([]);
    expect(offending(/\brequestAnimationFrame\s*\(/)).toEqual([expect.stringMatching(/^lib\/paint\.ts:/)]);
  });

  it("finds the stylesheets it checks", () => {
    // A test that cannot fail is a defect: make sure the scan sees the components.
    expect(sources(root).some((file) => file.endsWith("ServerRow.svelte"))).toBe(true);
    expect(offending(/@keyframes/).length).toBeGreaterThan(0);
  });
});
