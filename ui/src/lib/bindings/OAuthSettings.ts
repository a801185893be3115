// Hand-written to match the IPC contract until ts-rs generates this file.

export type OAuthSettings = {
  scopes: Array<string>;
  /** 0 = any free port. */
  callbackPort: number;
  /** Pre-registered client. */
  clientId: string | null;
  /** Must be a "${NAME}" reference. */
  clientSecret: string | null;
  tokenStorage: "vault" | "memory";
  /** Default true. */
  sendResourceParameter: boolean;
  /** Seconds, null = 300. */
  authorizationTimeout: number | null;
};
