// Hand-written to match the IPC contract until ts-rs generates this file.
import type { FieldIssue } from "./FieldIssue";

export type Validation = { errors: Array<FieldIssue>; warnings: Array<FieldIssue> };
