// Hand-written to match the IPC contract until ts-rs generates this file.
import type { AuthMode } from "./AuthMode";
import type { HeaderRow } from "./HeaderRow";
import type { OAuthSettings } from "./OAuthSettings";

/** The editor's model of one server (what save_server takes and get_server returns). */
export type ServerSettings = {
  id: string;
  url: string;
  enabled: boolean;
  /** Seconds, null = default (30). */
  timeout: number | null;
  /** Exclusive: headers only used when "headers", oauth only when "oauth". */
  authMode: AuthMode;
  headers: Array<HeaderRow>;
  /** Always present; used when authMode == "oauth". */
  oauth: OAuthSettings;
};
