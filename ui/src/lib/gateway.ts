// Rules for the local HTTP gateway's client tokens, as the core applies them
// (crates/gatehouse-core/src/gateway/tokens.rs `check_client_name`), so the Settings form can say
// what is wrong before asking the backend.

/** The longest client name the core accepts (`MAX_CLIENT_NAME_LEN`). */
export const MAX_CLIENT_NAME_LEN = 64;

/** 1 to 64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit. */
export const CLIENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Why `name` is not a valid client name, or null when it is. */
export function clientNameProblem(name: string, taken: readonly string[] = []): string | null {
  if (name === "") return "Enter a name for the client, e.g. cursor or claude-code.";
  if (!CLIENT_NAME_PATTERN.test(name)) {
    return `Use 1 to ${MAX_CLIENT_NAME_LEN} letters, digits, ".", "_" or "-", starting with a letter or digit.`;
  }
  if (taken.includes(name)) return `${name} already has a token. Revoke it first to make a new one.`;
  return null;
}

/** A token's creation time (Unix seconds) as a local date and time. */
export function createdText(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
