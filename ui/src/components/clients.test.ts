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
          path: "/home/ada/.config/Claude/claude_desktop_config.json",
          dryRun,
          changes: [{ entry: "linear", table: ["mcpServers"], server: "linear", action: "connect" }],
          diff: '-      "args": ["mcp-remote", "<secret>"]\n+      "args": ["proxy", "linear"]\n',
          backup: dryRun ? null : "/backup",
          written: !dryRun,
          running: true,
        };
      },
      disconnect_client: ({ client }) => {
        connected = false;
        return { client, path: "/x", restoredFrom: "backup", tokenRevoked: false, running: false };
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
});
