import { describe, expect, test } from "vitest";
import { CLIENT_NAME_PATTERN, clientNameProblem } from "./gateway";

describe("gateway client names", () => {
  test("accept what the core accepts and refuse the rest", () => {
    for (const good of ["cursor", "claude-code", "vs.code_1", "0x", "a".repeat(64)]) {
      expect(CLIENT_NAME_PATTERN.test(good), good).toBe(true);
      expect(clientNameProblem(good)).toBeNull();
    }
    // The same refusals as the core's `names_are_validated_and_unique` test.
    for (const bad of ["-x", "a b", "a/b", "ä", "x".repeat(65), ".x", "_x"]) {
      expect(clientNameProblem(bad), bad).toMatch(/letters, digits/);
    }
    expect(clientNameProblem("")).toMatch(/Enter a name/);
    expect(clientNameProblem("cursor", ["cursor"])).toMatch(/already has a token/);
  });
});
