import { describe, expect, test } from "vitest";
import { insertReference, secretNameForHeader, splitCredential, valueWithReference } from "./secrets";

describe("secret names for headers", () => {
  test.each([
    ["Authorization", "AUTHORIZATION_TOKEN"],
    ["X-Api-Key", "X_API_KEY"],
    ["x-auth-token", "X_AUTH_TOKEN"],
    ["Cookie", "COOKIE_TOKEN"],
  ])("%s -> %s", (header, name) => {
    expect(secretNameForHeader(header)).toBe(name);
  });

  test("a name already in the vault gets the server's id in front, then a number", () => {
    expect(secretNameForHeader("Authorization", ["AUTHORIZATION_TOKEN"], "linear")).toBe("LINEAR_AUTHORIZATION_TOKEN");
    expect(
      secretNameForHeader("Authorization", ["AUTHORIZATION_TOKEN", "LINEAR_AUTHORIZATION_TOKEN"], "linear"),
    ).toBe("LINEAR_AUTHORIZATION_TOKEN_2");
  });
});

describe("splitting credentials", () => {
  test.each([
    ["Bearer abc123", "Bearer", "abc123"],
    ["bearer abc123", "bearer", "abc123"],
    ["Basic dXNlcjpwYXNz", "Basic", "dXNlcjpwYXNz"],
    ["Token t-1", "Token", "t-1"],
    ["abc123", null, "abc123"],
    ["sk live key", null, "sk live key"],
  ])("%j keeps scheme %j and moves %j", (value, scheme, secret) => {
    expect(splitCredential(value)).toEqual({ scheme, secret });
  });

  test("the header value references the secret and keeps the scheme", () => {
    expect(valueWithReference("Bearer", "LINEAR_TOKEN")).toBe("Bearer ${LINEAR_TOKEN}");
    expect(valueWithReference(null, "API_KEY")).toBe("${API_KEY}");
  });
});

describe("inserting references", () => {
  test("at the caret, or at the end", () => {
    expect(insertReference("Bearer ", "T", null)).toBe("Bearer ${T}");
    expect(insertReference("", "T", 0)).toBe("${T}");
    expect(insertReference("a=;b", "T", 2)).toBe("a=${T};b");
  });

  test("a space goes between a word and the reference", () => {
    expect(insertReference("Bearer", "T", null)).toBe("Bearer ${T}");
  });
});
