import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import type { GatewayOverview } from "../lib/bindings/GatewayOverview";
import type { TokenInfo } from "../lib/bindings/TokenInfo";
import { mockBackend, reject } from "../test/backend";

const TOKEN = "ghgw_Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFiY2RlZg";
const CREATED = 1_764_900_000;

function overview(tokens: TokenInfo[], gateway: Partial<GatewayOverview["gateway"]> = {}): GatewayOverview {
  return {
    gateway: {
      port: 47821,
      listening: true,
      servedHere: true,
      servers: [
        { id: "linear", url: "http://127.0.0.1:47821/servers/linear/mcp", enabled: true },
        { id: "old", url: "http://127.0.0.1:47821/servers/old/mcp", enabled: false },
      ],
      problem: null,
      ...gateway,
    },
    tokens,
  };
}

async function openSettings() {
  const user = userEvent.setup();
  render(App);
  await user.click(screen.getByTestId("nav-settings"));
  return user;
}

describe("gateway settings", () => {
  test("shows where the gateway runs and copies a server's URL", async () => {
    const backend = mockBackend({ gateway_status: () => overview([{ name: "cursor", createdAt: CREATED }]) });
    const user = await openSettings();

    expect(await screen.findByTestId("gateway-state")).toHaveAttribute("data-state", "running");
    expect(screen.getByTestId("gateway-address")).toHaveTextContent("http://127.0.0.1:47821");
    expect(screen.getByTestId("gateway-url-linear")).toHaveTextContent("http://127.0.0.1:47821/servers/linear/mcp");
    expect(screen.getByTestId("gateway-server-old")).toHaveTextContent("switched off");
    const row = screen.getByTestId("gateway-token-cursor");
    expect(row).toHaveTextContent("cursor");
    expect(row).toHaveTextContent(new Date(CREATED * 1000).getFullYear().toString());

    await user.click(screen.getByTestId("gateway-copy-linear"));
    expect(await navigator.clipboard.readText()).toBe("http://127.0.0.1:47821/servers/linear/mcp");
    expect(screen.getByTestId("gateway-copy-linear")).toHaveTextContent("Copied");
    // Read when the page opened; nothing polls.
    expect(backend.callsTo("gateway_status")).toHaveLength(1);
  });

  test("a gateway that could not start says why and what to do", async () => {
    mockBackend({
      gateway_status: () =>
        overview([], {
          servedHere: false,
          listening: true,
          problem: {
            code: "port_in_use",
            message: "port 47821 on 127.0.0.1 is already in use",
            fix: "Another program uses port 47821, most likely another Gatehouse gateway (`gatehouse serve`)…",
          },
        }),
    });
    await openSettings();

    expect(await screen.findByTestId("gateway-state")).toHaveAttribute("data-state", "failed");
    expect(screen.getByTestId("gateway-problem")).toHaveTextContent("Not running in this app: port 47821");
    expect(screen.getByTestId("gateway-fix")).toHaveTextContent("gatehouse serve");
    expect(screen.getByTestId("gateway-tokens-empty")).toBeInTheDocument();
  });

  test("Add client shows the new token once, with a copy button, and lists the client", async () => {
    let tokens: TokenInfo[] = [];
    const backend = mockBackend({
      gateway_status: () => overview(tokens),
      add_gateway_token: ({ client }) => {
        tokens = [{ name: client as string, createdAt: CREATED }];
        return { client, token: TOKEN };
      },
    });
    const user = await openSettings();

    await user.type(await screen.findByTestId("gateway-client-input"), "claude-code");
    await user.click(screen.getByTestId("gateway-add"));

    const fresh = await screen.findByTestId("gateway-new-token");
    expect(fresh).toHaveTextContent("shown only this time");
    expect(screen.getByTestId("gateway-new-token-value")).toHaveTextContent(TOKEN);
    expect(backend.callsTo("add_gateway_token")[0]!.args).toEqual({ client: "claude-code" });
    expect(await screen.findByTestId("gateway-token-claude-code")).toBeInTheDocument();
    expect(screen.getByTestId("gateway-client-input")).toHaveValue("");
    // Refreshed after the action.
    expect(backend.callsTo("gateway_status")).toHaveLength(2);

    await user.click(screen.getByTestId("gateway-new-token-copy"));
    expect(await navigator.clipboard.readText()).toBe(TOKEN);

    await user.click(screen.getByTestId("gateway-new-token-done"));
    expect(screen.queryByTestId("gateway-new-token")).toBeNull();
    expect(document.body).not.toHaveTextContent(TOKEN);
  });

  test("client names are checked as the core checks them, before asking it", async () => {
    const backend = mockBackend({
      gateway_status: () => overview([{ name: "cursor", createdAt: CREATED }]),
      add_gateway_token: reject({ code: "invalid_client_name", message: "client name is not allowed" }),
    });
    const user = await openSettings();

    const input = await screen.findByTestId("gateway-client-input");
    await user.click(screen.getByTestId("gateway-add"));
    expect(screen.getByTestId("gateway-add-error")).toHaveTextContent("Enter a name");
    await user.type(input, "my client");
    await user.click(screen.getByTestId("gateway-add"));
    expect(screen.getByTestId("gateway-add-error")).toHaveTextContent("letters, digits");
    await user.clear(input);
    await user.type(input, "cursor");
    await user.click(screen.getByTestId("gateway-add"));
    expect(screen.getByTestId("gateway-add-error")).toHaveTextContent("cursor already has a token");
    expect(backend.callsTo("add_gateway_token")).toHaveLength(0);

    // What the backend refuses anyway is shown too.
    await user.clear(input);
    await user.type(input, "vs.code");
    await user.click(screen.getByTestId("gateway-add"));
    expect(await screen.findByTestId("gateway-add-error")).toHaveTextContent("client name is not allowed");
    expect(screen.queryByTestId("gateway-new-token")).toBeNull();
  });

  test("Revoke asks first, then removes the client", async () => {
    let tokens: TokenInfo[] = [
      { name: "cursor", createdAt: CREATED },
      { name: "zed", createdAt: CREATED },
    ];
    const backend = mockBackend({
      gateway_status: () => overview(tokens),
      revoke_gateway_token: ({ client }) => {
        tokens = tokens.filter((t) => t.name !== client);
      },
    });
    const user = await openSettings();

    await user.click(await screen.findByTestId("gateway-revoke-cursor"));
    const dialog = screen.getByTestId("confirm-dialog");
    expect(dialog).toHaveTextContent("Revoke cursor's token?");
    await user.click(within(dialog).getByTestId("confirm-cancel"));
    expect(backend.callsTo("revoke_gateway_token")).toHaveLength(0);

    await user.click(screen.getByTestId("gateway-revoke-cursor"));
    await user.click(screen.getByTestId("confirm-ok"));
    await waitFor(() => expect(screen.queryByTestId("gateway-token-cursor")).toBeNull());
    expect(screen.getByTestId("gateway-token-zed")).toBeInTheDocument();
    expect(backend.callsTo("revoke_gateway_token")[0]!.args).toEqual({ client: "cursor" });
  });

  test("a vault that cannot be read is explained", async () => {
    mockBackend({ gateway_status: reject({ code: "vault_needs_passphrase", message: "locked" }) });
    await openSettings();

    expect(await screen.findByTestId("gateway-error")).toHaveTextContent("The vault is locked");
  });
});
