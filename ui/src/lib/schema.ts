// Reading a tool's JSON Schema for people: a flat table of its top-level properties, and a
// skeleton arguments object to start editing from.

export type SchemaRow = {
  name: string;
  type: string;
  description: string;
  required: boolean;
};

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function properties(schema: unknown): [string, JsonObject][] {
  if (!isObject(schema) || !isObject(schema.properties)) return [];
  return Object.entries(schema.properties).map(([name, prop]) => [name, isObject(prop) ? prop : {}]);
}

function requiredNames(schema: unknown): Set<string> {
  if (!isObject(schema) || !Array.isArray(schema.required)) return new Set();
  return new Set(schema.required.filter((n): n is string => typeof n === "string"));
}

/** A short type label: `string`, `integer`, `string[]`, `"a" | "b"`, `string | null`. */
export function typeLabel(prop: JsonObject): string {
  if (Array.isArray(prop.enum) && prop.enum.length > 0) {
    return prop.enum.map((v) => JSON.stringify(v)).join(" | ");
  }
  if ("const" in prop) return JSON.stringify(prop.const);
  const type = prop.type;
  if (type === "array") {
    const items = isObject(prop.items) ? typeLabel(prop.items) : "any";
    return items.includes(" ") ? `(${items})[]` : `${items}[]`;
  }
  if (typeof type === "string") return type;
  if (Array.isArray(type)) return type.filter((t) => typeof t === "string").join(" | ");
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = prop[key];
    if (Array.isArray(options)) {
      return options.map((o) => (isObject(o) ? typeLabel(o) : "any")).join(" | ");
    }
  }
  if (isObject(prop.properties)) return "object";
  return "any";
}

export function schemaRows(schema: unknown): SchemaRow[] {
  const required = requiredNames(schema);
  return properties(schema).map(([name, prop]) => ({
    name,
    type: typeLabel(prop),
    description: typeof prop.description === "string" ? prop.description : "",
    required: required.has(name),
  }));
}

function placeholder(prop: JsonObject, depth: number): unknown {
  if ("default" in prop) return prop.default;
  if ("const" in prop) return prop.const;
  if (Array.isArray(prop.enum) && prop.enum.length > 0) return prop.enum[0];
  const type = Array.isArray(prop.type) ? prop.type.find((t) => t !== "null") : prop.type;
  switch (type) {
    case "string":
      return "";
    case "number":
    case "integer":
      return 0;
    case "boolean":
      return false;
    case "array":
      return [];
    case "null":
      return null;
    case "object":
      return depth < 3 ? skeleton(prop, depth + 1) : {};
    default:
      if (isObject(prop.properties)) return depth < 3 ? skeleton(prop, depth + 1) : {};
      return null;
  }
}

/** An arguments object with every property of `schema` set to an empty value of its type. */
export function skeleton(schema: unknown, depth = 0): JsonObject {
  const result: JsonObject = {};
  for (const [name, prop] of properties(schema)) result[name] = placeholder(prop, depth);
  return result;
}

export function skeletonText(schema: unknown): string {
  const value = skeleton(schema);
  return Object.keys(value).length === 0 ? "{}" : JSON.stringify(value, null, 2);
}

export type ParsedArguments = { ok: true; value: JsonObject } | { ok: false; message: string };

/** Parses the arguments textarea; the tool is only called with a JSON object. */
export function parseArguments(text: string): ParsedArguments {
  const source = text.trim() === "" ? "{}" : text;
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, message: `The arguments are not valid JSON: ${detail}` };
  }
  if (!isObject(value)) {
    return { ok: false, message: "The arguments must be a JSON object, like {\"name\": \"value\"}." };
  }
  return { ok: true, value };
}
