// Hand-written to match the IPC contract until ts-rs generates this file.

/** `value` may contain `${NAME}` vault references. */
export type HeaderRow = { name: string; value: string };
