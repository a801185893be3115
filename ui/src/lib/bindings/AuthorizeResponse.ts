// Hand-written to match the IPC contract until ts-rs generates this file.

/** What `authorize` resolves with: the URL the system browser was sent to. */
export type AuthorizeResponse = { url: string };
