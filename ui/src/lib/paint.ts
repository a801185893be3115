// The one place the window asks for animation frames: a single wait, never a loop (the idle test,
// src/idle.test.ts, allows `requestAnimationFrame` here only).

/** Resolves once a frame has been painted after the current DOM: two animation frames from now. */
export function afterPaint(): Promise<void> {
  return new Promise((painted) => requestAnimationFrame(() => requestAnimationFrame(() => painted())));
}
