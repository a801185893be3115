import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { expiryText } from "./status";

type Case = { expiresAt: number; now: number; shown: string };

// The same table the core's `api::tests::expiry_text_follows_the_shared_cases` runs.
const cases = JSON.parse(
  readFileSync(
    join(dirname(fileURLToPath(import.meta.url)), "../../../crates/gatehouse-core/src/expiry_cases.json"),
    "utf8",
  ),
) as { expiry: Case[] };

describe("expiryText, the twin of the core's api::expiry_text", () => {
  test("the shared table has cases", () => {
    expect(cases.expiry.length).toBeGreaterThanOrEqual(10);
  });
  test.each(cases.expiry)("expires $expiresAt, now $now -> $shown", ({ expiresAt, now, shown }) => {
    expect(expiryText(expiresAt, now)).toBe(shown);
  });
  test("no expiry, no text", () => {
    expect(expiryText(null)).toBeNull();
  });
});
