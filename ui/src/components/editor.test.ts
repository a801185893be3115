import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import type { ServerSettings } from "../lib/bindings/ServerSettings";
import type { Validation } from "../lib/bindings/Validation";
import { mockBackend, reject, server, type Args } from "../test/backend";

function settingsOf(args: Args): ServerSettings {
  return args.settings as ServerSettings;
}

const headerServer: ServerSettings = {
  id: "internal",
  url: "https://mcp.internal.example/mcp",
  enabled: true,
  timeout: null,
  authMode: "headers",
  headers: [{ name: "Authorization", value: "Bearer abc123" }],
  oauth: {
    scopes: [],
    callbackPort: 0,
    clientId: null,
    clientSecret: null,
    grant: null,
    clientKey: null,
    clientKeyAlgorithm: null,
    assertionFile: null,
    idpIssuer: null,
    idpClientId: null,
    idpClientSecret: null,
    clientMetadataUrl: null,
    tokenStorage: "vault",
    dpop: true,
    sendResourceParameter: true,
    authorizationTimeout: null,
  },
  allowTools: [],
  denyTools: ["delete_*"],
};

async function openNewEditor() {
  const user = userEvent.setup();
  render(App);
  await user.click(await screen.findByTestId("add-server"));
  return { user, editor: await screen.findByTestId("editor") };
}

describe("server editor", () => {
  test("shows validate_server errors next to their fields as the person types", async () => {
    const backend = mockBackend({
      validate_server: (args): Validation => {
        const s = settingsOf(args);
        const errors = [];
        if (s.url.startsWith("http://")) {
          errors.push({ field: "url", message: "Use https; http is allowed only on loopback." });
        }
        if (s.authMode === "headers" && s.headers.some((h) => h.name === "X-Key" && h.value.includes("${MISSING}"))) {
          errors.push({ field: "headers.X-Key", message: "The vault has no secret named MISSING." });
        }
        return { errors, warnings: [] };
      },
    });
    const { user } = await openNewEditor();

    await user.type(screen.getByTestId("editor-url"), "http://mcp.example.com/mcp");
    expect(await screen.findByTestId("field-error-url")).toHaveTextContent("Use https");
    expect(screen.getByTestId("editor-url")).toHaveAttribute("aria-invalid", "true");

    await user.click(screen.getByTestId("editor-mode-headers"));
    await user.type(screen.getByTestId("header-name-0"), "X-Key");
    await user.type(screen.getByTestId("header-value-0"), "${{MISSING}");
    const headerError = await screen.findByTestId("field-error-headers.X-Key");
    expect(headerError).toHaveTextContent("no secret named MISSING");
    // The header error sits with its row's inputs, not elsewhere in the form.
    expect(headerError.parentElement).toContainElement(screen.getByTestId("header-value-0"));

    await user.clear(screen.getByTestId("editor-url"));
    await user.type(screen.getByTestId("editor-url"), "https://mcp.example.com/mcp");
    await waitFor(() => expect(screen.queryByTestId("field-error-url")).toBeNull());
    expect(backend.callsTo("validate_server").length).toBeGreaterThan(0);
    expect(backend.callsTo("validate_server").at(-1)?.args.replacing).toBeNull();
  });

  test("invalid_config issues from save_server appear at the fields and keep the editor open", async () => {
    const backend = mockBackend({
      save_server: reject({
        code: "invalid_config",
        message: "invalid server configuration",
        issues: [
          { field: "id", message: "A server named internal already exists." },
          { field: "oauth.callback_port", message: "Port 80 is privileged; use 1024-65535 or 0." },
        ],
      }),
    });
    const { user } = await openNewEditor();

    await user.type(screen.getByTestId("editor-url"), "https://mcp.example.com/mcp");
    await user.type(screen.getByTestId("editor-id"), "internal");
    await user.click(screen.getByTestId("editor-mode-oauth"));
    await user.type(screen.getByTestId("oauth-callback-port"), "80");
    await user.click(screen.getByTestId("editor-save"));

    expect(await screen.findByTestId("field-error-id")).toHaveTextContent("already exists");
    expect(screen.getByTestId("field-error-oauth.callback_port")).toHaveTextContent("Port 80 is privileged");
    expect(screen.getByTestId("editor")).toBeVisible();
    const saved = settingsOf(backend.callsTo("save_server")[0]!.args);
    expect(saved).toMatchObject({ id: "internal", url: "https://mcp.example.com/mcp", authMode: "oauth" });
    expect(saved.oauth.callbackPort).toBe(80);
  });

  test("the tool filter is edited as patterns, saved as lists, and its errors shown beside it", async () => {
    const backend = mockBackend({
      get_server: () => headerServer,
      list_servers: () => [server("internal", { state: "connecting" }, { authMode: "headers", headerNames: ["Authorization"] })],
      validate_server: (args): Validation => {
        const s = settingsOf(args);
        const errors = s.allowTools.includes("[oops")
          ? [{ field: "tools.allow", message: 'the tool pattern "[oops" is not a valid glob' }]
          : [];
        return { errors, warnings: [] };
      },
      save_server: () => undefined,
    });
    const user = userEvent.setup();
    render(App);
    await user.click(await screen.findByTestId("server-edit-internal"));
    const deny = await screen.findByTestId("tools-deny");
    await waitFor(() => expect(deny).toHaveValue("delete_*"));

    const allow = screen.getByTestId("tools-allow");
    await user.type(allow, "read_*, [[oops");
    expect(await screen.findByTestId("field-error-tools.allow")).toHaveTextContent("not a valid glob");
    expect(allow).toHaveAttribute("aria-invalid", "true");

    await user.clear(allow);
    await user.type(allow, "read_*, search");
    await user.type(deny, " drop_?");
    await waitFor(() => expect(screen.queryByTestId("field-error-tools.allow")).toBeNull());
    await user.click(screen.getByTestId("editor-save"));
    await waitFor(() => expect(backend.callsTo("save_server")).toHaveLength(1));
    const saved = settingsOf(backend.callsTo("save_server")[0]!.args);
    expect(saved.allowTools).toEqual(["read_*", "search"]);
    expect(saved.denyTools).toEqual(["delete_*", "drop_?"]);
  });

  test("saving a valid server calls save_server and closes the editor; Enter submits", async () => {
    const backend = mockBackend({ save_server: () => undefined });
    const { user } = await openNewEditor();

    await user.type(screen.getByTestId("editor-url"), "https://mcp.linear.app/mcp");
    await user.type(screen.getByTestId("editor-id"), "linear{Enter}");

    await waitFor(() => expect(screen.queryByTestId("editor")).toBeNull());
    expect(backend.callsTo("save_server")).toHaveLength(1);
    expect(backend.callsTo("save_server")[0]!.args).toEqual({
      settings: {
        id: "linear",
        url: "https://mcp.linear.app/mcp",
        enabled: true,
        timeout: null,
        authMode: "none",
        headers: [],
        oauth: {
          scopes: [],
          callbackPort: 0,
          clientId: null,
          clientSecret: null,
          grant: null,
          clientKey: null,
          clientKeyAlgorithm: null,
          assertionFile: null,
          idpIssuer: null,
          idpClientId: null,
          idpClientSecret: null,
          clientMetadataUrl: null,
          tokenStorage: "vault",
          dpop: true,
          sendResourceParameter: true,
          authorizationTimeout: null,
        },
        allowTools: [],
        denyTools: [],
      },
      replacing: null,
    });
  });

  test("validation errors on save block save_server", async () => {
    const backend = mockBackend({
      validate_server: () => ({ errors: [{ field: "url", message: "Enter the server's URL." }], warnings: [] }),
      save_server: () => undefined,
    });
    const { user } = await openNewEditor();

    await user.click(screen.getByTestId("editor-save"));

    expect(await screen.findByTestId("field-error-url")).toHaveTextContent("Enter the server's URL.");
    expect(backend.callsTo("save_server")).toHaveLength(0);
    expect(screen.getByTestId("editor")).toBeVisible();
  });

  test("the auth mode choice shows header rows or OAuth fields, never both", async () => {
    mockBackend();
    const { user } = await openNewEditor();

    expect(screen.getByTestId("editor-mode-none")).toBeChecked();
    expect(screen.queryByTestId("header-name-0")).toBeNull();
    expect(screen.queryByTestId("oauth-scopes")).toBeNull();

    await user.click(screen.getByTestId("editor-mode-headers"));
    expect(screen.getByTestId("editor-mode-headers")).toBeChecked();
    expect(screen.getByTestId("editor-mode-none")).not.toBeChecked();
    expect(screen.getByTestId("header-name-0")).toBeVisible();
    expect(screen.getByTestId("header-add")).toBeVisible();
    expect(screen.queryByTestId("oauth-scopes")).toBeNull();

    await user.click(screen.getByTestId("editor-mode-oauth"));
    expect(screen.getByTestId("editor-mode-headers")).not.toBeChecked();
    expect(screen.queryByTestId("header-name-0")).toBeNull();
    for (const id of ["oauth-scopes", "oauth-callback-port", "oauth-client-id", "oauth-client-secret", "oauth-token-storage"]) {
      expect(screen.getByTestId(id)).toBeVisible();
    }
  });

  test("a header referring to a secret the vault lacks is flagged, but may be saved", async () => {
    const backend = mockBackend({ list_secrets: () => ["KNOWN_TOKEN"], save_server: () => undefined });
    const { user } = await openNewEditor();

    await user.type(screen.getByTestId("editor-url"), "https://mcp.example.com/mcp");
    await user.type(screen.getByTestId("editor-id"), "example");
    await user.click(screen.getByTestId("editor-mode-headers"));
    await user.type(screen.getByTestId("header-name-0"), "Authorization");
    await user.type(screen.getByTestId("header-value-0"), "Bearer ${{KNOWN_TOKEN}");
    expect(screen.queryByTestId("header-missing-secret-0")).toBeNull();

    await user.clear(screen.getByTestId("header-value-0"));
    await user.type(screen.getByTestId("header-value-0"), "Bearer ${{NEW_TOKEN}");
    expect(screen.getByTestId("header-missing-secret-0")).toHaveTextContent("no secret named NEW_TOKEN");

    await user.click(screen.getByTestId("editor-save"));
    await waitFor(() => expect(screen.queryByTestId("editor")).toBeNull());
    expect(settingsOf(backend.callsTo("save_server")[0]!.args).headers).toEqual([
      { name: "Authorization", value: "Bearer ${NEW_TOKEN}" },
    ]);
  });

  test("OAuth fields become the settings sent to the backend", async () => {
    const backend = mockBackend({ save_server: () => undefined });
    const { user } = await openNewEditor();

    await user.type(screen.getByTestId("editor-url"), "https://mcp.example.com/mcp");
    await user.type(screen.getByTestId("editor-id"), "example");
    await user.click(screen.getByTestId("editor-mode-oauth"));
    await user.type(screen.getByTestId("oauth-scopes"), "read, write  admin");
    await user.type(screen.getByTestId("oauth-callback-port"), "33418");
    await user.type(screen.getByTestId("oauth-client-id"), "gatehouse-desktop");
    await user.type(screen.getByTestId("oauth-client-secret"), "${{CLIENT_SECRET}");
    await user.selectOptions(screen.getByTestId("oauth-token-storage"), "memory");
    await user.click(screen.getByTestId("oauth-resource"));
    await user.click(screen.getByTestId("oauth-dpop"));
    await user.type(screen.getByTestId("oauth-authorization-timeout"), "120");
    await user.type(screen.getByTestId("oauth-client-metadata-url"), "https://example.com/client.json");
    await user.click(screen.getByTestId("editor-save"));

    await waitFor(() => expect(screen.queryByTestId("editor")).toBeNull());
    const saved = settingsOf(backend.callsTo("save_server")[0]!.args);
    expect(saved.authMode).toBe("oauth");
    expect(saved.headers).toEqual([]);
    expect(saved.oauth).toEqual({
      scopes: ["read", "write", "admin"],
      callbackPort: 33418,
      clientId: "gatehouse-desktop",
      clientSecret: "${CLIENT_SECRET}",
      grant: null,
      clientKey: null,
      clientKeyAlgorithm: null,
      assertionFile: null,
      idpIssuer: null,
      idpClientId: null,
      idpClientSecret: null,
      clientMetadataUrl: "https://example.com/client.json",
      tokenStorage: "memory",
      dpop: false,
      sendResourceParameter: false,
      authorizationTimeout: 120,
    });
  });

  test("a machine client's grant, key and token file become the settings sent to the backend", async () => {
    const backend = mockBackend({ save_server: () => undefined });
    const { user } = await openNewEditor();

    await user.type(screen.getByTestId("editor-url"), "https://mcp.example.com/mcp");
    await user.type(screen.getByTestId("editor-id"), "robot");
    await user.click(screen.getByTestId("editor-mode-oauth"));
    await user.type(screen.getByTestId("oauth-client-id"), "robot");
    await user.selectOptions(screen.getByTestId("oauth-grant"), "client_credentials");
    await user.type(screen.getByTestId("oauth-client-key"), "${{ROBOT_KEY}");
    await user.selectOptions(screen.getByTestId("oauth-client-key-algorithm"), "RS256");
    await user.click(screen.getByTestId("editor-save"));

    await waitFor(() => expect(screen.queryByTestId("editor")).toBeNull());
    const saved = settingsOf(backend.callsTo("save_server")[0]!.args).oauth;
    expect(saved.grant).toBe("client_credentials");
    expect(saved.clientKey).toBe("${ROBOT_KEY}");
    expect(saved.clientKeyAlgorithm).toBe("RS256");
    expect(saved.clientSecret).toBeNull();
    expect(saved.assertionFile).toBeNull();
  });

  test("a grant's own fields show once it is chosen, and a field with a value always shows", async () => {
    mockBackend({});
    const { user } = await openNewEditor();
    await user.click(screen.getByTestId("editor-mode-oauth"));
    for (const id of ["oauth-client-key", "oauth-assertion-file", "oauth-idp-issuer"]) {
      expect(screen.queryByTestId(id)).toBeNull();
    }
    await user.selectOptions(screen.getByTestId("oauth-grant"), "client_credentials");
    expect(screen.getByTestId("oauth-client-key")).toBeInTheDocument();
    expect(screen.queryByTestId("oauth-assertion-file")).toBeNull();
    await user.type(screen.getByTestId("oauth-client-key"), "${{ROBOT_KEY}");
    await user.selectOptions(screen.getByTestId("oauth-grant"), "jwt_bearer");
    expect(screen.getByTestId("oauth-assertion-file")).toBeInTheDocument();
    expect(screen.getByTestId("oauth-client-key")).toHaveValue("${ROBOT_KEY}");
    expect(screen.queryByTestId("oauth-idp-issuer")).toBeNull();
    await user.selectOptions(screen.getByTestId("oauth-grant"), "enterprise_managed");
    expect(screen.getByTestId("oauth-idp-issuer")).toBeInTheDocument();
    expect(screen.getByText("ID token file")).toBeInTheDocument();
  });

  test("the company's sign-in: its identity provider, client and ID token file become the settings sent to the backend", async () => {
    const backend = mockBackend({ save_server: () => undefined });
    const { user } = await openNewEditor();

    await user.type(screen.getByTestId("editor-url"), "https://mcp.example.com/mcp");
    await user.type(screen.getByTestId("editor-id"), "enterprise");
    await user.click(screen.getByTestId("editor-mode-oauth"));
    await user.type(screen.getByTestId("oauth-client-id"), "gatehouse");
    await user.type(screen.getByTestId("oauth-client-secret"), "${{AS_SECRET}");
    await user.selectOptions(screen.getByTestId("oauth-grant"), "enterprise_managed");
    await user.type(screen.getByTestId("oauth-idp-issuer"), "https://company.okta.com");
    await user.type(screen.getByTestId("oauth-idp-client-id"), "gatehouse-at-idp");
    await user.type(screen.getByTestId("oauth-idp-client-secret"), "${{IDP_SECRET}");
    await user.type(screen.getByTestId("oauth-assertion-file"), "/run/user/1000/id-token");
    await user.click(screen.getByTestId("editor-save"));

    await waitFor(() => expect(screen.queryByTestId("editor")).toBeNull());
    const saved = settingsOf(backend.callsTo("save_server")[0]!.args).oauth;
    expect(saved.grant).toBe("enterprise_managed");
    expect(saved.idpIssuer).toBe("https://company.okta.com");
    expect(saved.idpClientId).toBe("gatehouse-at-idp");
    expect(saved.idpClientSecret).toBe("${IDP_SECRET}");
    expect(saved.assertionFile).toBe("/run/user/1000/id-token");
    expect(saved.clientSecret).toBe("${AS_SECRET}");
  });

  test("editing loads get_server, saves with replacing, and header rows can be added and removed", async () => {
    const backend = mockBackend({
      list_servers: () => [server("internal", { state: "connecting" }, { authMode: "headers", headerNames: ["Authorization"] })],
      get_server: () => structuredClone(headerServer),
      save_server: () => undefined,
    });
    const user = userEvent.setup();
    render(App);

    await user.click(await screen.findByTestId("server-edit-internal"));
    expect(await screen.findByTestId("header-value-0")).toHaveValue("Bearer abc123");
    expect(screen.getByTestId("editor-mode-headers")).toBeChecked();
    expect(screen.getByTestId("editor-url")).toHaveValue("https://mcp.internal.example/mcp");

    await user.click(screen.getByTestId("header-add"));
    await user.type(screen.getByTestId("header-name-1"), "X-Team");
    await user.type(screen.getByTestId("header-value-1"), "platform");
    await user.click(screen.getByTestId("header-remove-0"));
    expect(screen.getByTestId("header-name-0")).toHaveValue("X-Team");
    await user.click(screen.getByTestId("editor-save"));

    await waitFor(() => expect(screen.queryByTestId("editor")).toBeNull());
    const call = backend.callsTo("save_server")[0]!;
    expect(call.args.replacing).toBe("internal");
    expect(settingsOf(call.args).headers).toEqual([{ name: "X-Team", value: "platform" }]);
    expect(backend.callsTo("get_server")[0]!.args).toEqual({ id: "internal" });
  });

  test("Escape closes the editor without saving", async () => {
    const backend = mockBackend({ save_server: () => undefined });
    const { user } = await openNewEditor();

    await user.type(screen.getByTestId("editor-url"), "https://x.example.com/mcp");
    await user.keyboard("{Escape}");

    expect(screen.queryByTestId("editor")).toBeNull();
    expect(backend.callsTo("save_server")).toHaveLength(0);
  });

  test("Escape closes an open secret picker first, then the editor", async () => {
    mockBackend({ list_secrets: () => ["LINEAR_TOKEN"] });
    const { user } = await openNewEditor();

    await user.click(screen.getByTestId("editor-mode-headers"));
    await user.click(screen.getByTestId("header-secret-picker-0"));
    expect(await screen.findByTestId("secret-option-LINEAR_TOKEN")).toHaveFocus();

    await user.keyboard("{Escape}");
    expect(screen.queryByTestId("header-secret-picker-0-menu")).toBeNull();
    expect(screen.getByTestId("editor")).toBeVisible();
    expect(screen.getByTestId("header-secret-picker-0")).toHaveFocus();

    await user.keyboard("{Escape}");
    expect(screen.queryByTestId("editor")).toBeNull();
  });

  test("the secret picker inserts ${NAME} into the header value", async () => {
    mockBackend({ list_secrets: () => ["LINEAR_TOKEN", "OTHER"] });
    const { user } = await openNewEditor();

    await user.click(screen.getByTestId("editor-mode-headers"));
    await user.type(screen.getByTestId("header-name-0"), "Authorization");
    await user.type(screen.getByTestId("header-value-0"), "Bearer ");
    await user.click(screen.getByTestId("header-secret-picker-0"));
    const menu = await screen.findByTestId("header-secret-picker-0-menu");
    expect(within(menu).getByTestId("secret-option-OTHER")).toBeVisible();
    await user.click(within(menu).getByTestId("secret-option-LINEAR_TOKEN"));

    expect(screen.getByTestId("header-value-0")).toHaveValue("Bearer ${LINEAR_TOKEN}");
    expect(screen.queryByTestId("header-secret-picker-0-menu")).toBeNull();
  });

  test("Move to vault stores only the token and rewrites the value to Bearer ${NAME}", async () => {
    let secrets: string[] = [];
    const backend = mockBackend({
      list_secrets: () => secrets,
      set_secret: ({ name }) => {
        secrets = [...secrets, name as string];
      },
      validate_server: (args): Validation => {
        const literal = settingsOf(args).headers.find((h) => h.name === "Authorization" && !h.value.includes("${"));
        return {
          errors: [],
          warnings: literal ? [{ field: "headers.Authorization", message: "looks like a secret typed in directly" }] : [],
        };
      },
    });
    const { user } = await openNewEditor();

    await user.click(screen.getByTestId("editor-mode-headers"));
    await user.type(screen.getByTestId("header-name-0"), "Authorization");
    await user.type(screen.getByTestId("header-value-0"), "Bearer abc123");
    expect(await screen.findByTestId("field-warning-headers.Authorization")).toHaveTextContent(
      "looks like a secret typed in directly",
    );

    await user.click(screen.getByTestId("header-move-to-vault-0"));
    const nameInput = await screen.findByTestId("move-secret-name");
    expect(nameInput).toHaveValue("AUTHORIZATION_TOKEN");
    expect(screen.getByTestId("move-preview")).toHaveTextContent("Bearer ${AUTHORIZATION_TOKEN}");
    await user.click(screen.getByTestId("move-confirm"));

    await waitFor(() => expect(screen.getByTestId("header-value-0")).toHaveValue("Bearer ${AUTHORIZATION_TOKEN}"));
    expect(backend.callsTo("set_secret")).toEqual([
      { cmd: "set_secret", args: { name: "AUTHORIZATION_TOKEN", value: "abc123" } },
    ]);
    expect(screen.queryByTestId("move-to-vault")).toBeNull();
    await waitFor(() => expect(screen.queryByTestId("field-warning-headers.Authorization")).toBeNull());
    // The editor stays open with the rest of the form intact.
    expect(screen.getByTestId("header-name-0")).toHaveValue("Authorization");
  });

  test("Move to vault with a locked vault says so and leaves the value alone", async () => {
    const backend = mockBackend({
      set_secret: reject({ code: "vault_needs_passphrase", message: "vault is locked" }),
      validate_server: () => ({
        errors: [],
        warnings: [{ field: "headers.X-Api-Key", message: "looks like a secret typed in directly" }],
      }),
    });
    const { user } = await openNewEditor();

    await user.click(screen.getByTestId("editor-mode-headers"));
    await user.type(screen.getByTestId("header-name-0"), "X-Api-Key");
    await user.type(screen.getByTestId("header-value-0"), "sk-live-1");
    await user.click(await screen.findByTestId("header-move-to-vault-0"));
    expect(screen.getByTestId("move-secret-name")).toHaveValue("X_API_KEY");
    await user.click(screen.getByTestId("move-confirm"));

    expect(await screen.findByTestId("move-error")).toHaveTextContent("The vault is locked");
    expect(backend.callsTo("set_secret")[0]!.args).toEqual({ name: "X_API_KEY", value: "sk-live-1" });
    expect(screen.getByTestId("header-value-0")).toHaveValue("sk-live-1");
  });
});
