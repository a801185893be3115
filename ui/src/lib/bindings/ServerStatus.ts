// Hand-written to match the IPC contract until ts-rs generates this file.
import type { ErrorKind } from "./ErrorKind";

export type ServerStatus =
  | { state: "disabled" }
  | { state: "connecting" }
  | { state: "connected"; serverName: string; serverVersion: string; toolCount: number }
  | { state: "needs_authorization"; reason: string }
  | { state: "authorizing"; url: string | null }
  | { state: "error"; kind: ErrorKind; message: string };
