import { afterEach, describe, expect, test, vi } from "vitest";
import { afterPaint } from "./paint";

describe("afterPaint", () => {
  afterEach(() => vi.unstubAllGlobals());

  test("asks for exactly two frames and resolves after the second", async () => {
    const frames: FrameRequestCallback[] = [];
    vi.stubGlobal("requestAnimationFrame", (callback: FrameRequestCallback) => frames.push(callback));
    let resolved = false;
    const waiting = afterPaint().then(() => (resolved = true));

    expect(frames).toHaveLength(1);
    frames.shift()!(0);
    await Promise.resolve();
    expect(resolved).toBe(false);
    expect(frames).toHaveLength(1);
    frames.shift()!(16);
    await waiting;
    expect(resolved).toBe(true);
    expect(frames).toHaveLength(0);
  });
});
