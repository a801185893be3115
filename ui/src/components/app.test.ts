import { render, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import type { AppState } from "../lib/bindings/AppState";
import type { ServerView } from "../lib/bindings/ServerView";
import { emitEvent, mockBackend, oauthServer, server, summarize } from "../test/backend";

describe("window header", () => {
  test("the summary badge starts as the backend's app_state", async () => {
    mockBackend({
      list_servers: () => [
        server("a", { state: "connected", serverName: "a", serverVersion: "1", toolCount: 2, protocolVersion: "2025-11-25" }),
        oauthServer("b", { state: "needs_authorization", reason: "No stored token" }),
      ],
    });
    render(App);

    const badge = await screen.findByTestId("app-summary");
    await waitFor(() => expect(badge).toHaveAttribute("data-state", "needs_attention"));
    expect(badge).toHaveTextContent("Needs attention");
    expect(badge).toHaveAttribute("title", "1 of 2 connected, 1 needs authorization");
  });

  test("tells the backend once the first server list is painted, with its length", async () => {
    const backend = mockBackend({
      list_servers: () => [server("a", { state: "connecting" }), server("b", { state: "connecting" })],
    });
    render(App);
    await screen.findByTestId("server-row-b");
    await waitFor(() => expect(backend.callsTo("window_painted").map((c) => c.args)).toEqual([{ servers: 2 }]));
  });

  test("shows No servers when nothing is configured", async () => {
    mockBackend();
    render(App);
    const badge = await screen.findByTestId("app-summary");
    expect(badge).toHaveAttribute("data-state", "nothing_configured");
    expect(badge).toHaveTextContent("No servers");
  });

  test("fetches app_state again after status and servers_changed events", async () => {
    let list: ServerView[] = [server("a", { state: "connecting" })];
    const backend = mockBackend({ list_servers: () => list });
    render(App);
    const badge = await screen.findByTestId("app-summary");
    // Not "all connected" while a server is still connecting.
    await waitFor(() => expect(badge).toHaveAttribute("data-state", "connecting"));
    expect(badge).toHaveTextContent("Connecting…");
    const before = backend.callsTo("app_state").length;

    list = [server("a", { state: "error", kind: "unreachable", message: "connection refused" })];
    await emitEvent({ type: "status", server: "a", status: list[0]!.status });
    await waitFor(() => expect(badge).toHaveAttribute("data-state", "errors"));
    expect(badge).toHaveTextContent("Errors");

    list = [
      server("a", { state: "connected", serverName: "a", serverVersion: "1", toolCount: 1, protocolVersion: "2025-11-25" }),
      server("b", { state: "connected", serverName: "b", serverVersion: "1", toolCount: 1, protocolVersion: "2025-11-25" }),
    ];
    await emitEvent({ type: "servers_changed" });
    await waitFor(() => expect(badge).toHaveAttribute("data-state", "all_connected"));
    expect(badge).toHaveTextContent("All connected");
    expect(backend.callsTo("app_state").length).toBeGreaterThanOrEqual(before + 2);
  });

  test("a vault event does not fetch app_state", async () => {
    const backend = mockBackend();
    render(App);
    await screen.findByTestId("app-summary");
    const before = backend.callsTo("app_state").length;
    await emitEvent({ type: "vault_changed" });
    await waitFor(() => expect(backend.callsTo("vault_status").length).toBeGreaterThan(1));
    expect(backend.callsTo("app_state")).toHaveLength(before);
  });
});

describe("config problem", () => {
  test("shows a red banner with the loader's message and what to do", async () => {
    const state: AppState = {
      summary: summarize([]),
      configProblem: '/home/me/.config/gatehouse/config.toml:3: server "a": url: must use https',
    };
    mockBackend({ app_state: () => state });
    render(App);

    const banner = await screen.findByTestId("config-problem");
    expect(banner).toHaveTextContent('server "a": url: must use https');
    expect(banner).toHaveTextContent("Fix the file and restart Gatehouse; it will not be overwritten.");
    expect(banner).toHaveAttribute("role", "alert");
    // Edits would be refused: the first-run offers to add servers are not shown.
    expect(await screen.findByTestId("servers-config-problem")).toBeInTheDocument();
    expect(screen.queryByTestId("empty-state")).toBeNull();
    expect(screen.queryByTestId("add-server")).toBeNull();
  });

  test("is absent when the config loaded", async () => {
    mockBackend();
    render(App);
    await screen.findByTestId("app-summary");
    expect(screen.queryByTestId("config-problem")).toBeNull();
  });
});
