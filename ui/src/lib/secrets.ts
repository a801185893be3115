// Helpers for `${NAME}` vault references in header values: naming a new secret after its header,
// and splitting a typed-in credential into the scheme word that stays in the header and the
// secret part that moves to the vault.

/** Scheme words kept in the header value when its credential moves to the vault. */
const SCHEMES = ["Bearer", "Basic", "Token", "Bot", "Digest", "ApiKey", "Api-Key", "DPoP", "MAC"];

/** Names the vault accepts in a `${NAME}` reference. */
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function reference(name: string): string {
  return `\${${name}}`;
}

/** `Authorization` -> `AUTHORIZATION_TOKEN`, `X-Api-Key` -> `X_API_KEY`. */
export function secretNameForHeader(header: string, taken: readonly string[] = [], prefix = ""): string {
  let base = header
    .trim()
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toUpperCase();
  if (base === "") base = "SECRET";
  if (/^[0-9]/.test(base)) base = `H_${base}`;
  if (!/(TOKEN|KEY|SECRET|PASSWORD)$/.test(base)) base = `${base}_TOKEN`;
  const used = new Set(taken.map((name) => name.toUpperCase()));
  if (!used.has(base)) return base;
  const scoped = prefix
    ? `${prefix.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "").toUpperCase()}_${base}`
    : base;
  if (!used.has(scoped)) return scoped;
  for (let n = 2; ; n++) {
    const candidate = `${scoped}_${n}`;
    if (!used.has(candidate)) return candidate;
  }
}

export type SplitCredential = { scheme: string | null; secret: string };

/** `Bearer abc123` -> `{ scheme: "Bearer", secret: "abc123" }`; anything else is all secret. */
export function splitCredential(value: string): SplitCredential {
  const trimmed = value.trim();
  const match = /^(\S+)\s+(\S[\s\S]*)$/.exec(trimmed);
  if (match) {
    const word = match[1]!;
    const scheme = SCHEMES.find((s) => s.toLowerCase() === word.toLowerCase());
    if (scheme) return { scheme: word, secret: match[2]!.trim() };
  }
  return { scheme: null, secret: trimmed };
}

/** The header value after its secret moved to the vault as `name`. */
export function valueWithReference(scheme: string | null, name: string): string {
  return scheme ? `${scheme} ${reference(name)}` : reference(name);
}

/** Inserts `${NAME}` at `caret` (or the end), with a space after a scheme word if needed. */
export function insertReference(value: string, name: string, caret: number | null): string {
  const at = caret === null || caret > value.length ? value.length : Math.max(0, caret);
  const before = value.slice(0, at);
  const after = value.slice(at);
  const gap = before !== "" && !/[\s:=]$/.test(before) && /[A-Za-z0-9]$/.test(before) ? " " : "";
  return `${before}${gap}${reference(name)}${after}`;
}

/** The vault names a value refers to as `${NAME}`, in order, without repeats. */
export function referencedNames(value: string): string[] {
  const names: string[] = [];
  for (const match of value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    if (!names.includes(match[1]!)) names.push(match[1]!);
  }
  return names;
}
