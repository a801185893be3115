// Hand-written to match the IPC contract until ts-rs generates this file.

export type AuthMode = "none" | "headers" | "oauth";
