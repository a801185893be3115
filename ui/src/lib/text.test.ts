import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { oneLine } from "./text";

type Case = { text: string; max: number; shown: string };

// The same table the core's `text::tests::one_line_follows_the_shared_cases` runs.
const cases = JSON.parse(
  readFileSync(
    join(dirname(fileURLToPath(import.meta.url)), "../../../crates/gatehouse-core/src/text_cases.json"),
    "utf8",
  ),
) as { one_line: Case[] };

describe("oneLine, the twin of the core's text::one_line", () => {
  test("the shared table has cases", () => {
    expect(cases.one_line.length).toBeGreaterThanOrEqual(10);
  });
  test.each(cases.one_line)("$text -> $shown", ({ text, max, shown }) => {
    expect(oneLine(text, max)).toBe(shown);
  });
});
