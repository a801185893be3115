// Hand-written to match the IPC contract until ts-rs generates this file.

export type VaultStatus =
  | { state: "not_created" }
  | { state: "unlocked"; protection: "keyring" | "passphrase" }
  | { state: "needs_passphrase" }
  | { state: "unavailable"; code: string; message: string };
