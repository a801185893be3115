// Hand-written to match the IPC contract until ts-rs generates this file.

export type AuthorizationStep =
  | { step: "waiting_for_browser"; url: string }
  | { step: "exchanging_code" }
  | { step: "connected" }
  | { step: "failed"; reason: string };
