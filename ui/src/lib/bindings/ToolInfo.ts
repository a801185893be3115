// Hand-written to match the IPC contract until ts-rs generates this file.

export type ToolInfo = {
  name: string;
  title: string | null;
  description: string | null;
  /** A JSON Schema object as the server sent it. */
  inputSchema: Record<string, unknown>;
};
