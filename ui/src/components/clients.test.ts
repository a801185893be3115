import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import type { DetectedClient } from "../lib/bindings/DetectedClient";
import type { ImportPreview } from "../lib/bindings/ImportPreview";
import { mockBackend } from "../test/backend";

function claudeDesktop(connected: boolean): DetectedClient {
  return {
    client: "claude-desktop",
    displayName: "Claude Desktop",
    path: "/home/ada/.config/Claude/claude_desktop_config.json",
    project: null,
    found: true,
    problem: null,
    running: false,
    connected,
    entries: [
      { name: "linear", kind: connected ? "gatehouse" : "remote", server: connected ? "linear" : null, url: null },
      { name: "filesystem", kind: "local", server: null, url: null },
    ],
  };
}

const cursorMissing: DetectedClient = {
  client: "cursor",
  displayName: "Cursor",
  path: "/home/ada/.cursor/mcp.json",
  project: null,
  found: false,
  problem: null,
  running: null,
  connected: false,
  entries: [],
};

function plan(dryRun: boolean): ImportPreview {
  return {
    dryRun,
    clients: [{ client: "claude-desktop", path: "/x", entries: 2, problem: null }],
    servers: [
      {
        id: "linear",
        url: "https://mcp.linear.app/mcp",
        oauth: false,
        headers: ["Authorization: Bearer ${LINEAR_AUTHORIZATION_TOKEN}"],
        from: [{ client: "claude-desktop", entry: "linear" }],
        notes: [],
      },
    ],
    secrets: [{ name: "LINEAR_AUTHORIZATION_TOKEN", server: "linear", field: "headers.Authorization", found: true }],
    skipped: [{ client: "claude-desktop", entry: "filesystem", reason: "a local program (npx), not a remote server" }],
  };
}

async function openClients() {
  const user = userEvent.setup();
  render(App);
  await user.click(screen.getByTestId("nav-clients"));
  return user;
}

describe("clients", () => {
  test("import shows what will happen first, then imports", async () => {
    const backend = mockBackend({
      list_clients: () => [claudeDesktop(false), cursorMissing],
      import_clients: ({ dryRun }) => plan(dryRun as boolean),
    });
    const user = await openClients();

    await user.click(await screen.findByTestId("import-preview"));
    const server = await screen.findByTestId("import-server-linear");
    expect(server).toHaveTextContent("https://mcp.linear.app/mcp");
    expect(screen.getByTestId("import-secret-LINEAR_AUTHORIZATION_TOKEN")).toHaveTextContent(
      "moves to the vault as ${LINEAR_AUTHORIZATION_TOKEN}",
    );
    expect(screen.getByTestId("import-skipped")).toHaveTextContent("a local program");
    expect(backend.callsTo("import_clients")).toHaveLength(1);
    expect(backend.callsTo("import_clients")[0]!.args).toEqual({ clients: ["claude-desktop"], dryRun: true });

    await user.click(screen.getByTestId("import-confirm"));
    expect(await screen.findByTestId("clients-notice")).toHaveTextContent(
      "Imported 1 server; 1 secret moved to the vault.",
    );
    expect(backend.callsTo("import_clients")[1]!.args).toEqual({ clients: ["claude-desktop"], dryRun: false });
  });

  test("preview shows the diff; connect asks first; disconnect undoes", async () => {
    let connected = false;
    const backend = mockBackend({
      list_clients: () => [claudeDesktop(connected), cursorMissing],
      connect_client: ({ client, dryRun }) => {
        if (!dryRun) connected = true;
        return {
          client,
          files: [
            {
              client,
              path: "/home/ada/.config/Claude/claude_desktop_config.json",
              dryRun,
              changes: [{ entry: "linear", table: ["mcpServers"], server: "linear", action: "connect" }],
              diff: '-      "args": ["mcp-remote", "<secret>"]\n+      "args": ["proxy", "linear"]\n',
              backup: dryRun ? null : "/backup",
              written: !dryRun,
              running: true,
            },
          ],
          problems: [],
        };
      },
      disconnect_client: ({ client }) => {
        connected = false;
        return {
          client,
          files: [{ client, path: "/x", restoredFrom: "backup", tokenRevoked: false, running: false }],
          problems: [],
        };
      },
    });
    const user = await openClients();

    await user.click(await screen.findByTestId("client-preview-claude-desktop"));
    expect(await screen.findByTestId("client-diff-claude-desktop")).toHaveTextContent('"args": ["proxy", "linear"]');

    await user.click(screen.getByTestId("client-connect-claude-desktop"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("Connect Claude Desktop?");
    await user.click(screen.getByTestId("confirm-ok"));
    expect(await screen.findByTestId("clients-notice")).toHaveTextContent(
      "Claude Desktop now goes through Gatehouse. Claude Desktop is running: restart it",
    );
    await waitFor(() =>
      expect(screen.getByTestId("client-entry-claude-desktop-linear")).toHaveAttribute("data-kind", "gatehouse"),
    );
    expect(backend.callsTo("connect_client").map((c) => c.args)).toEqual([
      { client: "claude-desktop", dryRun: true },
      { client: "claude-desktop", dryRun: false },
    ]);

    await user.click(screen.getByTestId("client-disconnect-claude-desktop"));
    expect(await screen.findByTestId("clients-notice")).toHaveTextContent("restored exactly as it was");
    await waitFor(() => expect(screen.queryByTestId("client-connected-claude-desktop")).toBeNull());
  });

  test("a snippet for a client that was not found", async () => {
    const backend = mockBackend({
      list_servers: () => [],
      list_clients: () => [claudeDesktop(false), cursorMissing],
      client_snippet: () => '{\n  "mcpServers": {\n    "linear": { "command": "gatehouse", "args": ["proxy", "linear"] }\n  }\n}',
    });
    backend.on("list_servers", () => [
      {
        id: "linear",
        url: "https://mcp.linear.app/mcp",
        enabled: true,
        authMode: "headers",
        headerNames: [],
        status: { state: "disabled" },
        oauth: null,
      },
    ]);
    const user = await openClients();
    await screen.findByTestId("client-claude-desktop");
    await user.selectOptions(screen.getByTestId("snippet-server"), "linear");
    await user.click(screen.getByTestId("snippet-show"));
    expect(await screen.findByTestId("snippet-text")).toHaveTextContent('"args": ["proxy", "linear"]');
    expect(backend.callsTo("client_snippet")[0]!.args).toEqual({ client: "cursor", server: "linear" });
  });

  test("Claude Code's files are shown each, and connect and disconnect act on all of them", async () => {
    let connected = false;
    const claudeCode = (path: string, project: string | null, entry: string): DetectedClient => ({
      client: "claude-code",
      displayName: "Claude Code",
      path,
      project,
      found: true,
      problem: null,
      running: false,
      connected,
      entries: [{ name: entry, kind: connected ? "gatehouse" : "remote", server: connected ? entry : null, url: null }],
    });
    const outcome = (path: string, dryRun: boolean) => ({
      client: "claude-code" as const,
      path,
      dryRun,
      changes: [],
      diff: `--- ${path}\n+++ ${path}\n`,
      backup: null,
      written: !dryRun,
      running: false,
    });
    const backend = mockBackend({
      list_clients: () => [
        claudeCode("/home/ada/.claude.json", null, "notion"),
        claudeCode("/home/ada/code/app/.mcp.json", "/home/ada/code/app", "linear"),
        {
          ...claudeCode("/home/ada/code/gone/.mcp.json", "/home/ada/code/gone", "x"),
          found: false,
          problem: "the project folder /home/ada/code/gone no longer exists",
          entries: [],
        },
        cursorMissing,
      ],
      connect_client: ({ dryRun }) => {
        if (!dryRun) connected = true;
        return {
          client: "claude-code",
          files: [outcome("/home/ada/.claude.json", dryRun as boolean), outcome("/home/ada/code/app/.mcp.json", dryRun as boolean)],
          problems: [
            { path: "/home/ada/code/broken/.mcp.json", code: "client_config_invalid", message: "/home/ada/code/broken/.mcp.json is not valid claude-code configuration" },
          ],
        };
      },
      import_clients: ({ dryRun }) => ({ ...plan(dryRun as boolean), servers: [], secrets: [], skipped: [] }),
      disconnect_client: ({ client }) => {
        connected = false;
        return {
          client,
          files: [
            { client, path: "/home/ada/.claude.json", restoredFrom: "backup", tokenRevoked: true, running: false },
            { client, path: "/home/ada/code/app/.mcp.json", restoredFrom: "backup", tokenRevoked: true, running: false },
          ],
          problems: [],
        };
      },
    });
    const user = await openClients();

    const card = await screen.findByTestId("client-claude-code");
    expect(screen.getByTestId("client-file-claude-code-0")).toHaveTextContent("/home/ada/.claude.json");
    expect(screen.getByTestId("client-file-claude-code-1")).toHaveTextContent("/home/ada/code/app/.mcp.json");
    expect(screen.getByTestId("client-file-claude-code-2")).toHaveTextContent("no longer exists");
    expect(screen.getByTestId("client-entry-claude-code-linear")).toHaveAttribute("data-kind", "remote");
    expect(card).toHaveTextContent("notion");

    // Import reads each client once, whatever its number of files.
    await user.click(screen.getByTestId("import-preview"));
    await waitFor(() => expect(backend.callsTo("import_clients")).toHaveLength(1));
    expect(backend.callsTo("import_clients")[0]!.args).toEqual({ clients: ["claude-code"], dryRun: true });

    await user.click(screen.getByTestId("client-preview-claude-code"));
    const diffs = await screen.findByTestId("client-diff-claude-code");
    expect(diffs).toHaveTextContent("+++ /home/ada/.claude.json");
    expect(diffs).toHaveTextContent("+++ /home/ada/code/app/.mcp.json");

    await user.click(screen.getByTestId("client-connect-claude-code"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("in each of its files");
    await user.click(screen.getByTestId("confirm-ok"));
    expect(await screen.findByTestId("clients-notice")).toHaveTextContent("Claude Code now goes through Gatehouse (2 files).");
    expect(screen.getByTestId("clients-problems")).toHaveTextContent("broken/.mcp.json is not valid");
    await waitFor(() =>
      expect(screen.getByTestId("client-entry-claude-code-linear")).toHaveAttribute("data-kind", "gatehouse"),
    );
    expect(backend.callsTo("connect_client").map((c) => c.args)).toEqual([
      { client: "claude-code", dryRun: true },
      { client: "claude-code", dryRun: false },
    ]);

    await user.click(screen.getByTestId("client-disconnect-claude-code"));
    expect(await screen.findByTestId("clients-notice")).toHaveTextContent("2 files restored exactly as they were");
    await waitFor(() => expect(screen.queryByTestId("client-connected-claude-code")).toBeNull());
  });
});
