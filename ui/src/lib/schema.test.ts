import { describe, expect, test } from "vitest";
import { parseArguments, schemaRows, skeleton, skeletonText } from "./schema";

const schema = {
  type: "object",
  properties: {
    text: { type: "string", description: "What to say" },
    count: { type: "integer" },
    loud: { type: "boolean", default: true },
    mode: { enum: ["a", "b"] },
    tags: { type: "array", items: { type: "string" } },
    nested: { type: "object", properties: { inner: { type: "number" } } },
    maybe: { type: ["string", "null"] },
  },
  required: ["text", "mode"],
};

describe("schema rows", () => {
  test("one row per property with type, required and description", () => {
    expect(schemaRows(schema)).toEqual([
      { name: "text", type: "string", description: "What to say", required: true },
      { name: "count", type: "integer", description: "", required: false },
      { name: "loud", type: "boolean", description: "", required: false },
      { name: "mode", type: '"a" | "b"', description: "", required: true },
      { name: "tags", type: "string[]", description: "", required: false },
      { name: "nested", type: "object", description: "", required: false },
      { name: "maybe", type: "string | null", description: "", required: false },
    ]);
  });

  test("schemas without properties give no rows", () => {
    expect(schemaRows({ type: "object" })).toEqual([]);
    expect(schemaRows(null)).toEqual([]);
  });
});

describe("skeletons", () => {
  test("every property gets an empty value of its type, or its default", () => {
    expect(skeleton(schema)).toEqual({
      text: "",
      count: 0,
      loud: true,
      mode: "a",
      tags: [],
      nested: { inner: 0 },
      maybe: "",
    });
  });

  test("a tool without arguments starts from {}", () => {
    expect(skeletonText({ type: "object" })).toBe("{}");
    expect(JSON.parse(skeletonText({ properties: { text: { type: "string" } } }))).toEqual({ text: "" });
  });
});

describe("parsing arguments", () => {
  test("accepts a JSON object; empty means {}", () => {
    expect(parseArguments('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseArguments("  ")).toEqual({ ok: true, value: {} });
  });

  test("refuses broken JSON and non-objects", () => {
    expect(parseArguments("{")).toMatchObject({ ok: false, message: expect.stringContaining("not valid JSON") });
    expect(parseArguments("[1]")).toMatchObject({ ok: false, message: expect.stringContaining("JSON object") });
    expect(parseArguments("null")).toMatchObject({ ok: false });
  });
});
