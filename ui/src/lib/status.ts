// How a server's status reads in the window: the label next to its status dot, the dot's tone
// (always paired with the label, never colour alone), and which actions make sense.

import type { ErrorKind } from "./bindings/ErrorKind";
import type { ServerStatus } from "./bindings/ServerStatus";
import type { ServerView } from "./bindings/ServerView";
import { explainAuthorizationReason } from "./messages";
import type { AuthProgress } from "./stores/servers.svelte";

export type Tone = "ok" | "warn" | "busy" | "error" | "idle";

export type StatusDisplay = { label: string; tone: Tone; detail: string | null };

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

const ERROR_KIND_LABELS: Record<ErrorKind, string> = {
  missing_secret: "A secret is missing",
  vault: "The vault is not available",
  unreachable: "The server cannot be reached",
  timeout: "The server did not answer in time",
  unauthorized: "The server refused the credentials",
  http: "The server answered with an HTTP error",
  protocol: "The server does not speak MCP as expected",
  authorization: "Authorization failed",
};

export function errorKindLabel(kind: ErrorKind): string {
  return ERROR_KIND_LABELS[kind] ?? "Error";
}

const AUTH_STEP_LABELS: Record<AuthProgress["step"], string> = {
  starting: "Opening browser…",
  waiting: "Waiting for browser…",
  exchanging: "Finishing sign-in…",
};

/** True while the row should show the authorization panel. */
export function isAuthorizing(status: ServerStatus, progress: AuthProgress | undefined): boolean {
  return status.state === "authorizing" || progress !== undefined;
}

export function statusDisplay(status: ServerStatus, progress: AuthProgress | undefined): StatusDisplay {
  if (isAuthorizing(status, progress)) {
    return { label: AUTH_STEP_LABELS[progress?.step ?? "waiting"], tone: "busy", detail: null };
  }
  switch (status.state) {
    case "disabled":
      return { label: "Disabled", tone: "idle", detail: null };
    case "connecting":
      return { label: "Connecting…", tone: "busy", detail: null };
    case "connected":
      return {
        label: `Connected · ${plural(status.toolCount, "tool", "tools")}`,
        tone: "ok",
        detail:
          [
            [status.serverName, status.serverVersion].filter((s) => s).join(" "),
            status.protocolVersion ? `MCP ${status.protocolVersion}` : "",
          ]
            .filter((s) => s)
            .join(" · ") || null,
      };
    case "needs_authorization":
      return { label: "Needs authorization", tone: "warn", detail: capitalized(status.reason) || null };
    case "authorizing":
      return { label: AUTH_STEP_LABELS.waiting, tone: "busy", detail: null };
    case "error":
      return { label: "Error", tone: "error", detail: errorKindLabel(status.kind) };
  }
}

/** The plain-words error to show on a row for an `error` status. */
export function statusErrorMessage(status: ServerStatus): string | null {
  if (status.state !== "error") return null;
  if (status.kind === "authorization") return explainAuthorizationReason(status.message);
  if (status.kind === "missing_secret") return missingSecretMessage(status.message);
  return status.message;
}

/**
 * The engine words a missing secret for the command line (`secret "X" is not in the vault; store
 * it with \`gatehouse secrets set X\``); in the window the way to fix it is the Secrets page.
 */
function missingSecretMessage(message: string): string {
  const names = [...message.matchAll(/secret "([^"]+)"/g)].map((m) => m[1]!);
  if (names.length === 0) return message;
  const list = names.join(", ");
  return names.length === 1
    ? `The vault has no secret named ${list}. Store it on the Secrets page, or change the header that uses it.`
    : `The vault has no secrets named ${list}. Store them on the Secrets page, or change the headers that use them.`;
}

export function canAuthorize(server: ServerView, progress: AuthProgress | undefined): boolean {
  if (!server.enabled || isAuthorizing(server.status, progress)) return false;
  const status = server.status;
  if (status.state === "needs_authorization") return true;
  if (status.state === "error") {
    return status.kind === "authorization" || (status.kind === "unauthorized" && server.authMode === "oauth");
  }
  return false;
}

/**
 * "token expires in 42 min" and the like, for an OAuth access token's expiry (unix seconds). The
 * twin of the core's `api::expiry_text`, which the CLI prints: both run the cases in
 * crates/gatehouse-core/src/expiry_cases.json (see status.test.ts).
 */
export function expiryText(expiresAt: number | null, now: number = Date.now() / 1000): string | null {
  if (expiresAt === null) return null;
  const seconds = expiresAt - now;
  if (seconds <= 0) return "token expired";
  if (seconds < 90) return "token expires in under a minute";
  if (seconds < 90 * 60) return `token expires in ${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `token expires in ${Math.round(seconds / 3600)} h`;
  return `token expires in ${Math.round(seconds / 86400)} days`;
}

export function hostOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
