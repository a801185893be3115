import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import type { IpcError } from "../lib/bindings/IpcError";
import type { VaultStatus } from "../lib/bindings/VaultStatus";
import { emitEvent, mockBackend, reject } from "../test/backend";

async function openSecrets() {
  const user = userEvent.setup();
  render(App);
  await user.click(screen.getByTestId("nav-secrets"));
  return user;
}

describe("secrets", () => {
  test("lists names only; a saved value is never shown and its field clears", async () => {
    let names = ["GITHUB_TOKEN"];
    const backend = mockBackend({
      list_secrets: () => names,
      set_secret: ({ name }) => {
        names = [...names, name as string];
      },
    });
    const user = await openSecrets();

    const row = await screen.findByTestId("secret-row-GITHUB_TOKEN");
    expect(row).toHaveTextContent("GITHUB_TOKEN");

    const valueInput = screen.getByTestId("secret-value-input");
    expect(valueInput).toHaveAttribute("type", "password");
    await user.type(screen.getByTestId("secret-name-input"), "LINEAR_TOKEN");
    await user.type(valueInput, "lin_api_s3cr3t");
    await user.click(screen.getByTestId("secret-save"));

    expect(await screen.findByTestId("secret-row-LINEAR_TOKEN")).toBeInTheDocument();
    expect(backend.callsTo("set_secret")[0]!.args).toEqual({ name: "LINEAR_TOKEN", value: "lin_api_s3cr3t" });
    expect(screen.getByTestId("secret-value-input")).toHaveValue("");
    expect(screen.getByTestId("secret-name-input")).toHaveValue("");
    expect(document.body).not.toHaveTextContent("lin_api_s3cr3t");
    for (const input of document.querySelectorAll("input")) expect(input.value).not.toBe("lin_api_s3cr3t");
  });

  test("Replace fills the name and sends the new value; the value is cleared afterwards", async () => {
    const backend = mockBackend({ list_secrets: () => ["GITHUB_TOKEN"], set_secret: () => undefined });
    const user = await openSecrets();

    await user.click(await screen.findByTestId("secret-replace-GITHUB_TOKEN"));
    expect(screen.getByTestId("secret-name-input")).toHaveValue("GITHUB_TOKEN");
    expect(screen.getByTestId("secret-value-input")).toHaveFocus();
    await user.keyboard("ghp_new{Enter}");

    await waitFor(() =>
      expect(backend.callsTo("set_secret")[0]?.args).toEqual({ name: "GITHUB_TOKEN", value: "ghp_new" }),
    );
    expect(screen.getByTestId("secret-value-input")).toHaveValue("");
    expect(document.body).not.toHaveTextContent("ghp_new");
  });

  test("delete asks first, then removes the row", async () => {
    let names = ["GITHUB_TOKEN", "OTHER"];
    const backend = mockBackend({
      list_secrets: () => names,
      delete_secret: ({ name }) => {
        names = names.filter((n) => n !== name);
      },
    });
    const user = await openSecrets();

    await user.click(await screen.findByTestId("secret-delete-GITHUB_TOKEN"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("Delete GITHUB_TOKEN?");
    await user.click(screen.getByTestId("confirm-ok"));

    await waitFor(() => expect(screen.queryByTestId("secret-row-GITHUB_TOKEN")).toBeNull());
    expect(screen.getByTestId("secret-row-OTHER")).toBeInTheDocument();
    expect(backend.callsTo("delete_secret")[0]!.args).toEqual({ name: "GITHUB_TOKEN" });
  });

  test("a locked vault shows the passphrase form and unlock_vault opens it", async () => {
    let status: VaultStatus = { state: "needs_passphrase" };
    const backend = mockBackend({
      vault_status: () => status,
      list_secrets: () => ["GITHUB_TOKEN"],
      unlock_vault: ({ passphrase }) => {
        if (passphrase !== "correct horse") throw { code: "vault_wrong_passphrase", message: "decryption failed" } satisfies IpcError;
        status = { state: "unlocked", protection: "passphrase" };
      },
    });
    const user = await openSecrets();

    expect(await screen.findByTestId("vault-status")).toHaveTextContent("The vault is locked");
    expect(screen.queryByTestId("secret-row-GITHUB_TOKEN")).toBeNull();

    await user.type(screen.getByTestId("vault-passphrase"), "wrong guess");
    await user.click(screen.getByTestId("vault-unlock"));
    expect(await screen.findByTestId("vault-error")).toHaveTextContent("That passphrase does not open the vault");

    await user.type(screen.getByTestId("vault-passphrase"), "correct horse{Enter}");

    expect(await screen.findByTestId("secret-row-GITHUB_TOKEN")).toBeInTheDocument();
    expect(screen.getByTestId("vault-status")).toHaveTextContent("Unlocked with your passphrase");
    expect(screen.queryByTestId("vault-passphrase")).toBeNull();
    expect(backend.callsTo("unlock_vault").map((c) => c.args)).toEqual([
      { passphrase: "wrong guess" },
      { passphrase: "correct horse" },
    ]);
  });

  test("a first save that finds no keyring offers to choose a passphrase, then saves", async () => {
    let status: VaultStatus = { state: "not_created" };
    let passphrase: string | null = null;
    const backend = mockBackend({
      vault_status: () => status,
      list_secrets: () => (passphrase ? ["FIRST"] : []),
      set_secret: () => {
        if (!passphrase) throw { code: "vault_no_keyring", message: "no Secret Service provider is reachable" } satisfies IpcError;
        status = { state: "unlocked", protection: "passphrase" };
      },
      unlock_vault: (args) => {
        passphrase = args.passphrase as string;
      },
    });
    const user = await openSecrets();
    expect(await screen.findByTestId("vault-status")).toHaveTextContent("The vault is empty");
    expect(screen.queryByTestId("vault-passphrase")).toBeNull();

    await user.type(screen.getByTestId("secret-name-input"), "FIRST");
    await user.type(screen.getByTestId("secret-value-input"), "v1");
    await user.click(screen.getByTestId("secret-save"));

    expect(await screen.findByTestId("secret-error")).toHaveTextContent("No OS keyring is reachable");
    expect(screen.getByTestId("vault-status")).toHaveTextContent("Choose a passphrase instead");
    await user.type(screen.getByTestId("vault-passphrase"), "long enough one");
    await user.type(screen.getByTestId("vault-passphrase-repeat"), "long enough one");
    await user.click(screen.getByTestId("vault-unlock"));
    await waitFor(() => expect(screen.queryByTestId("vault-passphrase")).toBeNull());
    expect(backend.callsTo("unlock_vault")[0]!.args).toEqual({ passphrase: "long enough one" });

    await user.type(screen.getByTestId("secret-value-input"), "v1");
    await user.click(screen.getByTestId("secret-save"));
    expect(await screen.findByTestId("secret-row-FIRST")).toBeInTheDocument();
    expect(screen.getByTestId("vault-status")).toHaveTextContent("Unlocked with your passphrase");
  });

  test("without a keyring the person chooses a passphrase (twice, at least 8 characters)", async () => {
    let status: VaultStatus = {
      state: "unavailable",
      code: "vault_no_keyring",
      message: "no Secret Service provider is reachable",
    };
    const backend = mockBackend({
      vault_status: () => status,
      unlock_vault: () => {
        status = { state: "unlocked", protection: "passphrase" };
      },
    });
    const user = await openSecrets();

    expect(await screen.findByTestId("vault-status")).toHaveTextContent("No OS keyring is reachable");

    await user.type(screen.getByTestId("vault-passphrase"), "short");
    await user.type(screen.getByTestId("vault-passphrase-repeat"), "short");
    await user.click(screen.getByTestId("vault-unlock"));
    expect(screen.getByTestId("vault-error")).toHaveTextContent("at least 8 characters");

    await user.clear(screen.getByTestId("vault-passphrase"));
    await user.clear(screen.getByTestId("vault-passphrase-repeat"));
    await user.type(screen.getByTestId("vault-passphrase"), "long enough one");
    await user.type(screen.getByTestId("vault-passphrase-repeat"), "long enough two");
    await user.click(screen.getByTestId("vault-unlock"));
    expect(screen.getByTestId("vault-error")).toHaveTextContent("do not match");
    expect(backend.callsTo("unlock_vault")).toHaveLength(0);

    await user.clear(screen.getByTestId("vault-passphrase-repeat"));
    await user.type(screen.getByTestId("vault-passphrase-repeat"), "long enough one");
    await user.click(screen.getByTestId("vault-unlock"));

    await waitFor(() => expect(screen.getByTestId("vault-status")).toHaveTextContent("Unlocked"));
    expect(backend.callsTo("unlock_vault")[0]!.args).toEqual({ passphrase: "long enough one" });
  });

  test("other unavailable states show the backend's message", async () => {
    mockBackend({
      vault_status: (): VaultStatus => ({ state: "unavailable", code: "vault_corrupted", message: "The vault file is damaged; restore it from a backup." }),
    });
    await openSecrets();

    expect(await screen.findByTestId("vault-status")).toHaveTextContent("The vault file is damaged; restore it from a backup.");
    expect(screen.queryByTestId("vault-passphrase")).toBeNull();
    expect(screen.queryByTestId("secret-save")).toBeNull();
  });

  test("vault_changed refreshes the list", async () => {
    let names = ["ONE"];
    mockBackend({ list_secrets: () => names });
    await openSecrets();
    await screen.findByTestId("secret-row-ONE");

    names = ["ONE", "TWO"];
    await emitEvent({ type: "vault_changed" });

    expect(await screen.findByTestId("secret-row-TWO")).toBeInTheDocument();
  });

  test("a failed save says why and still clears the value", async () => {
    mockBackend({ set_secret: reject({ code: "vault_needs_passphrase", message: "locked" }) });
    const user = await openSecrets();

    await user.type(await screen.findByTestId("secret-name-input"), "TOKEN");
    await user.type(screen.getByTestId("secret-value-input"), "value-1");
    await user.click(screen.getByTestId("secret-save"));

    expect(await screen.findByTestId("secret-error")).toHaveTextContent("The vault is locked");
    expect(screen.getByTestId("secret-value-input")).toHaveValue("");
    expect(within(document.body).queryByText("value-1")).toBeNull();
  });
});
