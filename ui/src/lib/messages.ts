// Plain-words explanations of backend failures.
//
// The backend reports failures as an `IpcError` code plus a technical message, and authorization
// failures as a `failed` step with a `reason`. A person needs to know what happened and what to do
// next, so the codes the contract singles out get a sentence of their own here; anything else
// falls back to the backend's message. The codes are the closed union `ErrorCode`, generated from
// the Rust enum, so a case that is not a code does not type-check.

import type { ErrorCode } from "./bindings/ErrorCode";
import type { IpcError } from "./bindings/IpcError";

const AUTHORIZE_AGAIN = "Click Authorize to try again.";

function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "") return trimmed;
  return /[.!?…)]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/**
 * One sentence (or two) for an error `code`; `detail` is the backend's message, used where the
 * explanation needs the specifics (e.g. which address was refused).
 */
export function explain(code: ErrorCode, detail: string): string {
  switch (code) {
    case "access_denied":
      return `You declined access in the browser. ${AUTHORIZE_AGAIN}`;
    case "authorization_timeout":
      return `The browser did not come back within the time limit. ${AUTHORIZE_AGAIN} If no browser opened, copy the link into one and finish signing in there.`;
    case "unsafe_address":
      return `The server pointed Gatehouse at an address it refuses to contact (${detail.trim() || "a private or non-https address"}). Check the server URL, or ask the server's operator to publish public https addresses.`;
    case "pkce_unsupported":
      return "This server's authorization server does not support PKCE, which Gatehouse requires for security. Ask the server's operator to enable PKCE (S256).";
    case "authorization_cancelled":
      return `Authorization was cancelled. ${AUTHORIZE_AGAIN}`;
    case "vault_needs_passphrase":
      return "The vault is locked. Unlock it on the Secrets page, then try again.";
    case "vault_wrong_passphrase":
      return "That passphrase does not open the vault.";
    case "vault_no_keyring":
      return "No OS keyring is reachable, so the vault has no key yet. Choose a passphrase on the Secrets page.";
    case "not_connected":
      return "This server is not connected right now. Check its status on the Servers page.";
    case "unknown_server":
      return "That server no longer exists. It may have been removed in another window.";
    case "timeout":
      return detail.trim() ? `The server did not answer in time: ${sentence(detail)}` : "The server did not answer in time.";
    case "token_exists":
      return "That client already has a gateway token. Revoke it first to make a new one.";
    case "not_in_gatehouse":
      return "Not running inside Gatehouse.";
    default:
      return sentence(detail) || "Something went wrong.";
  }
}

export function describeError(error: IpcError): string {
  return explain(error.code, error.message);
}

const KNOWN_REASON_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  "access_denied",
  "authorization_timeout",
  "unsafe_address",
  "pkce_unsupported",
  "authorization_cancelled",
]);

function isReasonCode(word: string): word is ErrorCode {
  return KNOWN_REASON_CODES.has(word);
}

/**
 * Explains an authorization `failed` reason. The contract leaves its form open, so this accepts a
 * bare code ("access_denied"), a code with detail ("unsafe_address: 10.0.0.1 is private"), or
 * a free-form message (shown as is).
 */
export function explainAuthorizationReason(reason: string): string {
  const match = /^\s*([a-z][a-z_]*)\s*(?:[:\-–—]\s*([\s\S]*))?$/.exec(reason);
  const code = match?.[1];
  if (code !== undefined && isReasonCode(code)) {
    return explain(code, match?.[2] ?? "");
  }
  // An OAuth error code inside a longer message, e.g. "the server answered error=access_denied".
  if (/\baccess_denied\b/.test(reason)) return explain("access_denied", reason);
  return sentence(reason) || `Authorization failed. ${AUTHORIZE_AGAIN}`;
}
