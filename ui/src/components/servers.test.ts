import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import type { ServerView } from "../lib/bindings/ServerView";
import { emitEvent, mockBackend, oauthServer, reject, server } from "../test/backend";

const fiveServers: ServerView[] = [
  server("internal", { state: "connected", serverName: "internal-mcp", serverVersion: "1.2.0", toolCount: 3, protocolVersion: "2025-11-25" }),
  server("slow", { state: "connecting" }),
  oauthServer("linear", { state: "needs_authorization", reason: "No stored token" }),
  oauthServer("github", { state: "authorizing", url: "https://github.example.com/authorize?x=1" }),
  server("broken", { state: "error", kind: "unreachable", message: "connection refused (127.0.0.1:9)" }),
];

describe("server list", () => {
  test("shows every server's status from list_servers", async () => {
    mockBackend({ list_servers: () => fiveServers });
    render(App);

    expect(await screen.findByTestId("server-status-internal")).toHaveTextContent("Connected · 3 tools");
    // The server's name and version, and the MCP revision the session speaks.
    expect(screen.getByTestId("server-detail-internal")).toHaveTextContent("internal-mcp 1.2.0 · MCP 2025-11-25");
    expect(screen.getByTestId("server-status-slow")).toHaveTextContent("Connecting…");
    expect(screen.getByTestId("server-status-linear")).toHaveTextContent("Needs authorization");
    expect(screen.getByTestId("server-row-linear")).toHaveTextContent("No stored token");
    expect(screen.getByTestId("server-status-github")).toHaveTextContent("Waiting for browser…");
    expect(screen.getByTestId("auth-url-github")).toHaveTextContent("https://github.example.com/authorize?x=1");
    expect(screen.getByTestId("server-status-broken")).toHaveTextContent("Error");
    expect(screen.getByTestId("server-error-broken")).toHaveTextContent("connection refused (127.0.0.1:9)");
    // Only servers that need consent offer Authorize.
    expect(screen.getByTestId("server-authorize-linear")).toBeVisible();
    expect(screen.queryByTestId("server-authorize-internal")).toBeNull();
    expect(screen.queryByTestId("empty-state")).toBeNull();
  });

  test("a status event updates one row without fetching the list again", async () => {
    const backend = mockBackend({ list_servers: () => fiveServers });
    render(App);
    await screen.findByTestId("server-row-slow");
    expect(backend.callsTo("list_servers")).toHaveLength(1);

    await emitEvent({
      type: "status",
      server: "slow",
      status: { state: "connected", serverName: "slow-mcp", serverVersion: "0.1", toolCount: 1, protocolVersion: "2025-11-25" },
    });

    expect(screen.getByTestId("server-status-slow")).toHaveTextContent("Connected · 1 tool");
    expect(screen.getByTestId("server-status-internal")).toHaveTextContent("Connected · 3 tools");
    expect(screen.getByTestId("server-status-linear")).toHaveTextContent("Needs authorization");
    expect(backend.callsTo("list_servers")).toHaveLength(1);
  });

  test("servers_changed fetches the list again", async () => {
    let list: ServerView[] = [server("one", { state: "connecting" })];
    const backend = mockBackend({ list_servers: () => list });
    render(App);
    await screen.findByTestId("server-row-one");

    list = [...list, server("two", { state: "connecting" })];
    await emitEvent({ type: "servers_changed" });

    expect(await screen.findByTestId("server-row-two")).toBeInTheDocument();
    expect(backend.callsTo("list_servers")).toHaveLength(2);
  });

  test("an error status shows its message on the row", async () => {
    mockBackend({ list_servers: () => [server("api", { state: "connecting" })] });
    render(App);
    await screen.findByTestId("server-row-api");

    await emitEvent({
      type: "status",
      server: "api",
      status: { state: "error", kind: "missing_secret", message: "api: header Authorization uses ${API_TOKEN}, which the vault lacks" },
    });

    expect(screen.getByTestId("server-status-api")).toHaveTextContent("Error");
    expect(screen.getByTestId("server-error-api")).toHaveTextContent("which the vault lacks");
    expect(within(screen.getByTestId("server-row-api")).getByRole("button", { name: "Open Secrets" })).toBeVisible();
  });

  test("a missing secret is explained for the window, not the command line", async () => {
    mockBackend({
      list_servers: () => [
        server("api", {
          state: "error",
          kind: "missing_secret",
          message: 'secret "API_TOKEN" is not in the vault; store it with `gatehouse secrets set API_TOKEN`',
        }),
      ],
    });
    render(App);

    const problem = await screen.findByTestId("server-error-api");
    expect(problem).toHaveTextContent("The vault has no secret named API_TOKEN. Store it on the Secrets page");
    expect(problem).not.toHaveTextContent("gatehouse secrets set");
    expect(screen.getByTestId("server-detail-api")).toHaveTextContent("A secret is missing");
  });

  test("remove asks for confirmation and only then calls remove_server", async () => {
    const user = userEvent.setup();
    let list = [server("internal", { state: "connecting" }), server("other", { state: "connecting" })];
    const backend = mockBackend({
      list_servers: () => list,
      remove_server: ({ id }) => {
        list = list.filter((s) => s.id !== id);
      },
    });
    render(App);

    await user.click(await screen.findByTestId("server-remove-internal"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("Remove internal?");
    await user.click(screen.getByTestId("confirm-cancel"));
    expect(screen.queryByTestId("confirm-dialog")).toBeNull();
    expect(backend.callsTo("remove_server")).toHaveLength(0);
    expect(screen.getByTestId("server-row-internal")).toBeInTheDocument();

    await user.click(screen.getByTestId("server-remove-internal"));
    await user.click(screen.getByTestId("confirm-ok"));

    await waitFor(() => expect(screen.queryByTestId("server-row-internal")).toBeNull());
    expect(backend.callsTo("remove_server")).toEqual([{ cmd: "remove_server", args: { id: "internal" } }]);
    expect(screen.getByTestId("server-row-other")).toBeInTheDocument();
  });

  test("Escape closes the confirmation without removing", async () => {
    const user = userEvent.setup();
    const backend = mockBackend({ list_servers: () => [server("internal", { state: "connecting" })] });
    render(App);

    await user.click(await screen.findByTestId("server-remove-internal"));
    expect(screen.getByTestId("confirm-dialog")).toBeVisible();
    await user.keyboard("{Escape}");

    expect(screen.queryByTestId("confirm-dialog")).toBeNull();
    expect(backend.callsTo("remove_server")).toHaveLength(0);
  });

  test("the toggle disables and enables a server", async () => {
    const user = userEvent.setup();
    let enabled = true;
    const backend = mockBackend({
      list_servers: () => [
        server("internal", enabled ? { state: "connecting" } : { state: "disabled" }),
      ],
      set_server_enabled: (args) => {
        enabled = args.enabled as boolean;
      },
    });
    render(App);

    const toggle = await screen.findByTestId("server-toggle-internal");
    expect(toggle).toHaveAttribute("aria-checked", "true");
    await user.click(toggle);

    await waitFor(() => expect(screen.getByTestId("server-status-internal")).toHaveTextContent("Disabled"));
    expect(screen.getByTestId("server-toggle-internal")).toHaveAttribute("aria-checked", "false");
    expect(backend.callsTo("set_server_enabled")[0]?.args).toEqual({ id: "internal", enabled: false });
  });

  test("sign out asks first, then calls sign_out", async () => {
    const user = userEvent.setup();
    const backend = mockBackend({
      list_servers: () => [
        oauthServer("linear", { state: "connected", serverName: "Linear", serverVersion: "1", toolCount: 20, protocolVersion: "2025-11-25" }),
      ],
      sign_out: () => undefined,
    });
    render(App);

    await user.click(await screen.findByTestId("server-signout-linear"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("Sign out of linear?");
    await user.click(screen.getByTestId("confirm-ok"));

    await waitFor(() => expect(backend.callsTo("sign_out")).toEqual([{ cmd: "sign_out", args: { id: "linear" } }]));
  });
});

describe("first run", () => {
  test("with no servers the empty state explains Gatehouse and offers two ways in", async () => {
    mockBackend({ list_servers: () => [] });
    render(App);

    const empty = await screen.findByTestId("empty-state");
    expect(empty).toHaveTextContent("remote MCP servers");
    expect(within(empty).getByTestId("add-server")).toBeVisible();
    expect(within(empty).getByTestId("try-demo")).toBeVisible();
  });

  test("Try the demo server adds the demo and highlights its Authorize button", async () => {
    const user = userEvent.setup();
    let list: ServerView[] = [];
    const demo = oauthServer("demo", { state: "needs_authorization", reason: "Sign in to use the demo server" }, {
      url: "http://127.0.0.1:38123/mcp",
    });
    const backend = mockBackend({
      list_servers: () => list,
      start_demo_server: () => {
        list = [demo];
        return demo;
      },
    });
    render(App);

    await user.click(await screen.findByTestId("try-demo"));

    const authorize = await screen.findByTestId("server-authorize-demo");
    expect(authorize).toHaveAttribute("data-attention", "true");
    expect(screen.getByTestId("server-status-demo")).toHaveTextContent("Needs authorization");
    expect(screen.getByTestId("server-hint-demo")).toHaveTextContent("click Authorize");
    expect(screen.queryByTestId("empty-state")).toBeNull();
    expect(backend.callsTo("start_demo_server")).toHaveLength(1);
  });

  test("a demo that cannot start says why", async () => {
    const user = userEvent.setup();
    mockBackend({
      list_servers: () => [],
      start_demo_server: reject({ code: "demo_failed", message: "Port 38123 is in use" }),
    });
    render(App);

    await user.click(await screen.findByTestId("try-demo"));

    expect(await screen.findByTestId("demo-error")).toHaveTextContent("Port 38123 is in use.");
    expect(screen.getByTestId("empty-state")).toBeInTheDocument();
  });
});

describe("outside the app", () => {
  test("says it is not running inside Gatehouse instead of failing", async () => {
    // No mockBackend: there is no Tauri bridge, as in `vite dev` in a browser.
    render(App);

    expect(screen.getByTestId("not-in-gatehouse")).toHaveTextContent("Not running inside Gatehouse");
    expect(screen.queryByTestId("empty-state")).toBeNull();
  });
});

describe("navigation", () => {
  test("the Servers page is the default and the nav switches pages", async () => {
    const user = userEvent.setup();
    mockBackend();
    render(App);

    expect(screen.getByTestId("nav-servers")).toHaveAttribute("aria-current", "page");
    expect(screen.getByRole("heading", { name: "Servers" })).toBeVisible();

    await user.click(screen.getByTestId("nav-secrets"));
    expect(screen.getByRole("heading", { name: "Secrets" })).toBeVisible();
    await user.click(screen.getByTestId("nav-tools"));
    expect(screen.getByRole("heading", { name: "Tools" })).toBeVisible();
    await user.click(screen.getByTestId("nav-settings"));
    expect(screen.getByRole("heading", { name: "Settings" })).toBeVisible();
    expect(screen.getByTestId("nav-settings")).toHaveAttribute("aria-current", "page");
  });
});
