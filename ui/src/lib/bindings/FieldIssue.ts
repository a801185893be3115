// Hand-written to match the IPC contract until ts-rs generates this file.

/**
 * `field` paths: "id", "url", "timeout", "headers.<HeaderName>", "oauth.enabled", "oauth.scopes",
 * "oauth.callback_port", "oauth.client_id", "oauth.client_secret", "oauth.client_metadata_url",
 * "oauth.authorization_timeout".
 */
export type FieldIssue = { field: string; message: string };
