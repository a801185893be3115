import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import type { ToolInfo } from "../lib/bindings/ToolInfo";
import { APP_INFO, mockBackend, reject, server } from "../test/backend";

const echo: ToolInfo = {
  name: "echo",
  title: "Echo",
  description: "Repeats the text back.",
  inputSchema: {
    type: "object",
    properties: {
      text: { type: "string", description: "What to repeat" },
      times: { type: "integer", description: "How often" },
    },
    required: ["text"],
  },
};

const fail: ToolInfo = {
  name: "fail",
  title: null,
  description: "Always fails.",
  inputSchema: { type: "object", properties: {} },
};

function connectedServers() {
  return [
    server("demo", { state: "connected", serverName: "demo", serverVersion: "1", toolCount: 2, protocolVersion: "2025-11-25" }),
    server("other", { state: "connected", serverName: "other", serverVersion: "1", toolCount: 0, protocolVersion: "2025-11-25" }),
    server("offline", { state: "error", kind: "unreachable", message: "refused" }),
  ];
}

async function openTools() {
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("server-row-demo");
  await user.click(screen.getByTestId("nav-tools"));
  return user;
}

describe("tools", () => {
  test("renders a tool's schema as a table and prefills a skeleton", async () => {
    const backend = mockBackend({
      list_servers: connectedServers,
      list_tools: ({ id }) => (id === "demo" ? [echo, fail] : []),
    });
    await openTools();

    const select = screen.getByTestId("tools-server-select");
    expect(select).toHaveValue("demo");
    expect(within(select).queryByText("offline")).toBeNull();
    expect(await screen.findByTestId("tool-echo")).toBeVisible();
    expect(screen.getByTestId("tool-fail")).toBeVisible();
    expect(screen.getByTestId("tool-description")).toHaveTextContent("Repeats the text back.");

    const textRow = screen.getByTestId("schema-row-text");
    expect(textRow).toHaveTextContent("text");
    expect(textRow).toHaveTextContent("string");
    expect(textRow).toHaveTextContent("Required");
    expect(textRow).toHaveTextContent("What to repeat");
    expect(screen.getByTestId("schema-row-times")).toHaveTextContent("integer");
    expect(screen.getByTestId("schema-row-times")).toHaveTextContent("Optional");
    expect(screen.getByTestId("tool-schema-raw")).toHaveTextContent('"required": [');

    expect(JSON.parse((screen.getByTestId("tool-args") as HTMLTextAreaElement).value)).toEqual({ text: "", times: 0 });
    expect(backend.callsTo("list_tools")[0]!.args).toEqual({ id: "demo" });
  });

  test("calls a tool with the JSON arguments and shows text blocks as text", async () => {
    const backend = mockBackend({
      list_servers: connectedServers,
      list_tools: () => [echo, fail],
      call_tool: ({ tool, arguments: args }) =>
        tool === "echo"
          ? {
              isError: false,
              content: [
                { type: "text", text: `You said: ${(args as { text: string }).text}` },
                { type: "image", mimeType: "image/png", data: "iVBORw0KGgo=" },
              ],
              structuredContent: null,
            }
          : { isError: true, content: [{ type: "text", text: "Something broke on purpose" }], structuredContent: null },
    });
    const user = await openTools();

    const args = await screen.findByTestId("tool-args");
    await fireEvent.input(args, { target: { value: '{"text": "hello"}' } });
    await user.click(screen.getByTestId("tool-call"));

    const result = await screen.findByTestId("tool-result");
    expect(within(result).getByTestId("tool-result-text")).toHaveTextContent("You said: hello");
    expect(within(result).getByTestId("tool-result-json")).toHaveTextContent('"mimeType": "image/png"');
    expect(result).toHaveAttribute("data-error", "false");
    expect(backend.callsTo("call_tool")[0]!.args).toEqual({ id: "demo", tool: "echo", arguments: { text: "hello" } });

    await user.click(screen.getByTestId("tool-fail"));
    expect(screen.getByTestId("tool-args")).toHaveValue("{}");
    await user.click(screen.getByTestId("tool-call"));

    const errorResult = await screen.findByTestId("tool-result");
    expect(errorResult).toHaveAttribute("data-error", "true");
    expect(errorResult).toHaveTextContent("The tool reported an error.");
    expect(errorResult).toHaveTextContent("Something broke on purpose");
  });

  test("invalid JSON arguments are refused before calling", async () => {
    const backend = mockBackend({ list_servers: connectedServers, list_tools: () => [echo], call_tool: () => undefined });
    const user = await openTools();

    const args = await screen.findByTestId("tool-args");
    await fireEvent.input(args, { target: { value: '{"text": ' } });
    await user.click(screen.getByTestId("tool-call"));

    expect(screen.getByTestId("tool-error")).toHaveTextContent("The arguments are not valid JSON");
    expect(screen.getByTestId("tool-args")).toHaveAttribute("aria-invalid", "true");

    await fireEvent.input(args, { target: { value: '["not", "an", "object"]' } });
    await user.click(screen.getByTestId("tool-call"));
    expect(screen.getByTestId("tool-error")).toHaveTextContent("must be a JSON object");

    expect(backend.callsTo("call_tool")).toHaveLength(0);
    expect(screen.queryByTestId("tool-result")).toBeNull();
  });

  test("a call the backend rejects is shown as an error", async () => {
    mockBackend({
      list_servers: connectedServers,
      list_tools: () => [echo],
      call_tool: reject({ code: "not_connected", message: "demo is not connected" }),
    });
    const user = await openTools();

    await user.click(await screen.findByTestId("tool-call"));

    expect(await screen.findByTestId("tool-error")).toHaveTextContent("not connected");
  });

  test("switching servers lists that server's tools", async () => {
    const backend = mockBackend({
      list_servers: connectedServers,
      list_tools: ({ id }) => (id === "demo" ? [echo] : [{ ...fail, name: "other_tool" }]),
    });
    const user = await openTools();
    await screen.findByTestId("tool-echo");

    await user.selectOptions(screen.getByTestId("tools-server-select"), "other");

    expect(await screen.findByTestId("tool-other_tool")).toBeVisible();
    expect(screen.queryByTestId("tool-echo")).toBeNull();
    await waitFor(() => expect(backend.callsTo("list_tools").map((c) => c.args.id)).toEqual(["demo", "other"]));
  });

  test("the Tools button on a connected row opens that server's tools", async () => {
    const user = userEvent.setup();
    mockBackend({ list_servers: connectedServers, list_tools: ({ id }) => (id === "other" ? [echo] : []) });
    render(App);

    await user.click(await screen.findByTestId("server-tools-other"));

    expect(screen.getByTestId("tools-server-select")).toHaveValue("other");
    expect(await screen.findByTestId("tool-echo")).toBeVisible();
  });

  test("with no connected server the page says how tools appear", async () => {
    mockBackend({ list_servers: () => [server("x", { state: "connecting" })] });
    const user = userEvent.setup();
    render(App);
    await screen.findByTestId("server-row-x");
    await user.click(screen.getByTestId("nav-tools"));

    expect(screen.getByTestId("tools-empty")).toHaveTextContent("No server is connected");
  });
});

describe("settings", () => {
  test("Start Gatehouse at login reflects and changes the setting", async () => {
    const backend = mockBackend({
      get_app_settings: () => ({ ...APP_INFO, startAtLogin: false }),
      set_start_at_login: () => undefined,
    });
    const user = userEvent.setup();
    render(App);
    await user.click(screen.getByTestId("nav-settings"));

    const box = screen.getByTestId("setting-autostart");
    await waitFor(() => expect(box).toBeEnabled());
    expect(box).not.toBeChecked();
    await user.click(box);

    await waitFor(() => expect(backend.callsTo("set_start_at_login")[0]?.args).toEqual({ enabled: true }));
    expect(box).toBeChecked();
  });

  test("shows the version and where the files are, with a button to open each folder", async () => {
    const backend = mockBackend({ open_folder: () => undefined });
    const user = userEvent.setup();
    render(App);
    await user.click(screen.getByTestId("nav-settings"));

    expect(await screen.findByTestId("about-version")).toHaveTextContent("0.1.0");
    expect(screen.getByTestId("about-config-file")).toHaveTextContent(APP_INFO.configFile);
    expect(screen.getByTestId("about-data-dir")).toHaveTextContent(APP_INFO.dataDir);
    expect(screen.getByTestId("about-log-dir")).toHaveTextContent(APP_INFO.logDir);
    await user.click(screen.getByTestId("open-folder-config"));
    await user.click(screen.getByTestId("open-folder-data"));
    await user.click(screen.getByTestId("open-folder-logs"));
    expect(backend.callsTo("open_folder").map((c) => c.args)).toEqual([
      { folder: "config" },
      { folder: "data" },
      { folder: "logs" },
    ]);
  });

  test("Copy diagnostics puts the core's report on the clipboard", async () => {
    const report = "Gatehouse diagnostics\nversion: 0.1.0\n";
    mockBackend({ get_diagnostics: () => report });
    const user = userEvent.setup();
    render(App);
    await user.click(screen.getByTestId("nav-settings"));

    await user.click(await screen.findByTestId("copy-diagnostics"));
    expect(await screen.findByTestId("diagnostics-copied")).toHaveTextContent("no secrets");
    expect(await navigator.clipboard.readText()).toBe(report);
  });

  test("a failed change is undone and explained", async () => {
    mockBackend({
      get_app_settings: () => ({ ...APP_INFO, startAtLogin: true }),
      set_start_at_login: reject({ code: "autostart", message: "Could not write the autostart entry" }),
    });
    const user = userEvent.setup();
    render(App);
    await user.click(screen.getByTestId("nav-settings"));

    const box = screen.getByTestId("setting-autostart");
    await waitFor(() => expect(box).toBeChecked());
    await user.click(box);

    expect(await screen.findByTestId("setting-error")).toHaveTextContent("Could not write the autostart entry");
    expect(box).toBeChecked();
  });
});
