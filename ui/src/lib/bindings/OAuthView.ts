// Hand-written to match the IPC contract until ts-rs generates this file.

export type OAuthView = {
  /** Unix seconds. */
  expiresAt: number | null;
  scopes: Array<string>;
  issuer: string | null;
};
