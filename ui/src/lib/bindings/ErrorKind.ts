// Hand-written to match the IPC contract until ts-rs generates this file.

export type ErrorKind =
  | "missing_secret"
  | "vault"
  | "unreachable"
  | "timeout"
  | "unauthorized"
  | "http"
  | "protocol"
  | "authorization";
