// Hand-written to match the IPC contract until ts-rs generates this file.

/** `content` holds MCP content blocks as the server sent them, e.g. `{ type: "text", text: "42" }`. */
export type ToolCallResult = {
  isError: boolean;
  content: Array<unknown>;
  structuredContent: unknown;
};
