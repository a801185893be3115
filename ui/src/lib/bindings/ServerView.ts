// Hand-written to match the IPC contract until ts-rs generates this file.
import type { AuthMode } from "./AuthMode";
import type { OAuthView } from "./OAuthView";
import type { ServerStatus } from "./ServerStatus";

export type ServerView = {
  id: string;
  url: string;
  enabled: boolean;
  authMode: AuthMode;
  headerNames: Array<string>;
  status: ServerStatus;
  /** Present for OAuth servers. */
  oauth: OAuthView | null;
};
