import { render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import { emitEvent, mockBackend, oauthServer, reject } from "../test/backend";

const CONSENT_URL = "https://auth.linear.example/authorize?client_id=abc&code_challenge=xyz&state=s1";

function linearNeedingConsent() {
  return [oauthServer("linear", { state: "needs_authorization", reason: "Sign in to use Linear" })];
}

describe("click-to-authorize", () => {
  test("Authorize shows the consent URL with copy, open again and cancel, then turns connected", async () => {
    const user = userEvent.setup();
    let list = linearNeedingConsent();
    const backend = mockBackend({
      list_servers: () => list,
      authorize: () => ({ url: CONSENT_URL }),
      open_url: () => undefined,
    });
    render(App);

    await user.click(await screen.findByTestId("server-authorize-linear"));
    await emitEvent({ type: "status", server: "linear", status: { state: "authorizing", url: null } });
    await emitEvent({ type: "authorization", server: "linear", step: { step: "waiting_for_browser", url: CONSENT_URL } });

    expect(screen.getByTestId("server-status-linear")).toHaveTextContent("Waiting for browser…");
    expect(screen.getByTestId("auth-url-linear")).toHaveTextContent(CONSENT_URL);
    expect(screen.queryByTestId("server-authorize-linear")).toBeNull();
    expect(backend.callsTo("authorize")[0]!.args).toEqual({ id: "linear" });

    await user.click(screen.getByTestId("auth-copy-linear"));
    expect(await navigator.clipboard.readText()).toBe(CONSENT_URL);
    expect(screen.getByTestId("auth-copy-linear")).toHaveTextContent("Copied");

    await user.click(screen.getByTestId("auth-open-linear"));
    expect(backend.callsTo("open_url")[0]!.args).toEqual({ url: CONSENT_URL });

    await emitEvent({ type: "authorization", server: "linear", step: { step: "exchanging_code" } });
    expect(screen.getByTestId("server-status-linear")).toHaveTextContent("Finishing sign-in…");
    await emitEvent({ type: "authorization", server: "linear", step: { step: "connected" } });
    list = [
      oauthServer(
        "linear",
        { state: "connected", serverName: "Linear", serverVersion: "2.0", toolCount: 12, protocolVersion: "2025-11-25" },
        { oauth: { expiresAt: Math.floor(Date.now() / 1000) + 3600, scopes: ["read"], issuer: "https://auth.linear.example" } },
      ),
    ];
    const listsBefore = backend.callsTo("list_servers").length;
    await emitEvent({ type: "status", server: "linear", status: list[0]!.status });

    expect(screen.getByTestId("server-status-linear")).toHaveTextContent("Connected · 12 tools");
    expect(screen.queryByTestId("auth-url-linear")).toBeNull();
    // The new grant's facts come with the list, read again once the server connected.
    await waitFor(() =>
      expect(screen.getByTestId("server-detail-linear")).toHaveTextContent("signed in with auth.linear.example"),
    );
    expect(screen.getByTestId("server-detail-linear")).toHaveTextContent("token expires in 60 min");
    expect(backend.callsTo("list_servers")).toHaveLength(listsBefore + 1);
  });

  test("the URL from authorize is shown even before any event arrives", async () => {
    const user = userEvent.setup();
    mockBackend({ list_servers: linearNeedingConsent, authorize: () => ({ url: CONSENT_URL }) });
    render(App);

    await user.click(await screen.findByTestId("server-authorize-linear"));

    expect(await screen.findByTestId("auth-url-linear")).toHaveTextContent(CONSENT_URL);
    expect(screen.getByTestId("server-status-linear")).toHaveTextContent("Waiting for browser…");
  });

  test("Cancel calls cancel_authorization and brings the Authorize button back", async () => {
    const user = userEvent.setup();
    const backend = mockBackend({
      list_servers: linearNeedingConsent,
      authorize: () => ({ url: CONSENT_URL }),
      cancel_authorization: () => undefined,
    });
    render(App);

    await user.click(await screen.findByTestId("server-authorize-linear"));
    await emitEvent({ type: "status", server: "linear", status: { state: "authorizing", url: CONSENT_URL } });
    await user.click(screen.getByTestId("auth-cancel-linear"));
    await emitEvent({ type: "authorization", server: "linear", step: { step: "failed", reason: "authorization_cancelled" } });
    await emitEvent({ type: "status", server: "linear", status: { state: "needs_authorization", reason: "Sign in to use Linear" } });

    expect(backend.callsTo("cancel_authorization")[0]!.args).toEqual({ id: "linear" });
    expect(screen.getByTestId("server-status-linear")).toHaveTextContent("Needs authorization");
    expect(screen.getByTestId("server-authorize-linear")).toBeVisible();
    expect(screen.queryByTestId("auth-url-linear")).toBeNull();
    // The person cancelled themselves: no failure message.
    expect(screen.queryByTestId("server-error-linear")).toBeNull();
  });

  test.each([
    ["access_denied", "You declined access in the browser. Click Authorize to try again."],
    ["authorization_timeout", "The browser did not come back within the time limit."],
    [
      "unsafe_address: token endpoint resolves to 169.254.169.254",
      "The server pointed Gatehouse at an address it refuses to contact (token endpoint resolves to 169.254.169.254)",
    ],
    [
      "pkce_unsupported",
      "This server's authorization server does not support PKCE, which Gatehouse requires for security.",
    ],
    ["The token endpoint answered 500", "The token endpoint answered 500."],
  ])("a failed step %j is explained in plain words", async (reason, message) => {
    const user = userEvent.setup();
    mockBackend({ list_servers: linearNeedingConsent, authorize: () => ({ url: CONSENT_URL }) });
    render(App);

    await user.click(await screen.findByTestId("server-authorize-linear"));
    await emitEvent({ type: "authorization", server: "linear", step: { step: "waiting_for_browser", url: CONSENT_URL } });
    await emitEvent({ type: "authorization", server: "linear", step: { step: "failed", reason } });

    expect(screen.getByTestId("server-error-linear")).toHaveTextContent(message);
    expect(screen.queryByTestId("auth-url-linear")).toBeNull();
    expect(screen.getByTestId("server-authorize-linear")).toBeVisible();
  });

  test("authorize rejecting with an IpcError code is explained on the row", async () => {
    const user = userEvent.setup();
    mockBackend({
      list_servers: linearNeedingConsent,
      authorize: reject({ code: "pkce_unsupported", message: "code_challenge_methods_supported lacks S256" }),
    });
    render(App);

    await user.click(await screen.findByTestId("server-authorize-linear"));

    expect(await screen.findByTestId("server-error-linear")).toHaveTextContent(
      "does not support PKCE, which Gatehouse requires for security",
    );
    expect(screen.getByTestId("server-authorize-linear")).toBeVisible();
  });

  test("an error status of kind authorization offers Authorize again", async () => {
    mockBackend({
      list_servers: () => [
        oauthServer("linear", { state: "error", kind: "authorization", message: "access_denied" }),
      ],
    });
    render(App);

    expect(await screen.findByTestId("server-authorize-linear")).toBeVisible();
    expect(screen.getByTestId("server-error-linear")).toHaveTextContent("You declined access in the browser.");
  });

  test("reauthorization_needed draws attention to the Authorize button", async () => {
    mockBackend({
      list_servers: () => [
        oauthServer("linear", { state: "connected", serverName: "Linear", serverVersion: "2", toolCount: 3, protocolVersion: "2025-11-25" }),
      ],
    });
    render(App);
    await screen.findByTestId("server-row-linear");

    await emitEvent({ type: "reauthorization_needed", server: "linear" });
    await emitEvent({
      type: "status",
      server: "linear",
      status: { state: "needs_authorization", reason: "The refresh token was rejected" },
    });

    await waitFor(() =>
      expect(screen.getByTestId("server-authorize-linear")).toHaveAttribute("data-attention", "true"),
    );
    expect(screen.getByTestId("server-row-linear")).toHaveTextContent("The refresh token was rejected");
  });

  test("a client waiting for a server that needs authorization is named beside Authorize", async () => {
    mockBackend({
      list_servers: () => [oauthServer("linear", { state: "needs_authorization", reason: "not authorized yet" })],
    });
    render(App);
    await screen.findByTestId("server-row-linear");
    expect(screen.queryByTestId("server-hint-linear")).toBeNull();

    await emitEvent({ type: "authorization_wanted", server: "linear", client: "Claude Desktop" });

    await waitFor(() =>
      expect(screen.getByTestId("server-authorize-linear")).toHaveAttribute("data-attention", "true"),
    );
    expect(screen.getByTestId("server-hint-linear")).toHaveTextContent("Claude Desktop is waiting for linear");

    // Once connected, the prompt goes.
    await emitEvent({
      type: "status",
      server: "linear",
      status: { state: "connected", serverName: "Linear", serverVersion: "2", toolCount: 3, protocolVersion: "2025-11-25" },
    });
    await waitFor(() => expect(screen.queryByTestId("server-hint-linear")).toBeNull());
  });
});
