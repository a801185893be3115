import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import type { ActivityRecord } from "../lib/bindings/ActivityRecord";
import { callText, filterActivity, outcomeText } from "../lib/stores/activity.svelte";
import { emitEvent, mockBackend, reject, server } from "../test/backend";

function call(extra: Partial<ActivityRecord>): ActivityRecord {
  return {
    time: "2026-12-05T12:00:00.000Z",
    client: "claude-code",
    via: "proxy",
    server: "linear",
    method: "tools/call",
    tool: "search",
    durationMs: 42,
    outcome: { kind: "ok" },
    ...extra,
  };
}

const recorded: ActivityRecord[] = [
  call({ time: "2026-12-05T12:00:01.000Z" }),
  call({ time: "2026-12-05T12:00:02.000Z", client: "cursor", via: "gateway", server: "github", tool: "create_issue" }),
  call({
    time: "2026-12-05T12:00:03.000Z",
    server: "github",
    method: "tools/list",
    tool: undefined,
    outcome: { kind: "error", code: -32001, message: "server not available" },
  }),
];

async function openActivity(records: ActivityRecord[] = recorded) {
  const backend = mockBackend({
    list_servers: () => [
      server("linear", { state: "connected", serverName: "linear", serverVersion: "1", toolCount: 1, protocolVersion: "2025-11-25" }),
      server("github", { state: "connected", serverName: "github", serverVersion: "1", toolCount: 1, protocolVersion: "2025-11-25" }),
      server("quiet", { state: "connected", serverName: "quiet", serverVersion: "1", toolCount: 0, protocolVersion: "2025-11-25" }),
    ],
    list_activity: () => records,
  });
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("server-row-linear");
  await user.click(screen.getByTestId("nav-activity"));
  return { backend, user };
}

function rows() {
  return screen.queryAllByTestId("activity-row").map((row) =>
    within(row)
      .getAllByRole("cell")
      .map((cell) => cell.textContent?.trim()),
  );
}

describe("activity", () => {
  test("shows the calls newest first, with what was called and how it ended", async () => {
    const { backend } = await openActivity();
    await screen.findByTestId("activity-table");
    expect(backend.callsTo("list_activity")).toHaveLength(1);
    const shown = rows();
    expect(shown.map((r) => [r[1], r[2], r[3], r[4], r[5]])).toEqual([
      ["claude-code", "github", "tools/list", "42 ms", "error -32001 (server not available)"],
      ["cursor", "github", "tools/call create_issue", "42 ms", "ok"],
      ["claude-code", "linear", "tools/call search", "42 ms", "ok"],
    ]);
    expect(screen.getAllByTestId("activity-row")[0]).toHaveAttribute("data-outcome", "error");
  });

  test("filters by server and by client, offering configured servers and recorded clients", async () => {
    const { user } = await openActivity();
    await screen.findByTestId("activity-table");
    const servers = screen.getByTestId("activity-server-filter");
    const clients = screen.getByTestId("activity-client-filter");
    expect(within(servers).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "All servers",
      "github",
      "linear",
      "quiet",
    ]);
    expect(within(clients).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "All clients",
      "claude-code",
      "cursor",
    ]);

    await user.selectOptions(servers, "github");
    expect(rows().map((r) => r[3])).toEqual(["tools/list", "tools/call create_issue"]);
    await user.selectOptions(clients, "claude-code");
    expect(rows().map((r) => r[3])).toEqual(["tools/list"]);
    await user.selectOptions(servers, "quiet");
    expect(screen.getByTestId("activity-none-match")).toBeVisible();
    await user.selectOptions(servers, "");
    await user.selectOptions(clients, "");
    expect(rows()).toHaveLength(3);
  });

  test("updates live from activity events, under the filters in force", async () => {
    const { user } = await openActivity();
    await screen.findByTestId("activity-table");
    await user.selectOptions(screen.getByTestId("activity-server-filter"), "linear");
    expect(rows()).toHaveLength(1);

    await emitEvent({
      type: "activity",
      records: [
        call({ time: "2026-12-05T12:00:04.000Z", tool: "fetch", outcome: { kind: "cancelled" } }),
        call({ time: "2026-12-05T12:00:05.000Z", server: "github", client: "zed" }),
      ],
    });
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(rows()[0]![3]).toBe("tools/call fetch");
    expect(rows()[0]![5]).toBe("cancelled");
    // A new client becomes a choice.
    const clients = screen.getByTestId("activity-client-filter");
    expect(within(clients).getByRole("option", { name: "zed" })).toBeInTheDocument();
  });

  test("says when nothing was recorded, and when the record cannot be read", async () => {
    await openActivity([]);
    expect(await screen.findByTestId("activity-empty")).toBeVisible();
    await emitEvent({ type: "activity", records: [call({})] });
    await waitFor(() => expect(rows()).toHaveLength(1));
  });

  test("shows a read failure in words", async () => {
    mockBackend({
      list_activity: reject({ code: "activity_unreadable", message: "cannot read the activity record: denied" }),
    });
    const user = userEvent.setup();
    render(App);
    await user.click(screen.getByTestId("nav-activity"));
    expect(await screen.findByTestId("activity-load-error")).toHaveTextContent("denied");
  });

  test("names from clients are shown as one clean line", async () => {
    await openActivity([call({ client: "evil\nclient\u202E", tool: "t\u0007ool" })]);
    await screen.findByTestId("activity-table");
    const [row] = rows();
    expect(row![1]).toBe("evil client");
    expect(row![3]).toBe("tools/call tool");
    expect(callText(call({ tool: undefined, method: "prompts/get" }))).toBe("prompts/get");
    expect(outcomeText({ kind: "timeout" })).toBe("timeout");
    expect(filterActivity(recorded, { server: "linear", client: "cursor" })).toEqual([]);
  });
});
