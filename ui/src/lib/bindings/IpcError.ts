// Hand-written to match the IPC contract until ts-rs generates this file.
import type { FieldIssue } from "./FieldIssue";

/** What every failing command rejects with. The UI switches on `code`. */
export type IpcError = { code: string; message: string; issues?: Array<FieldIssue> };
