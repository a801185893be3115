// The server editor's form: what the person typed, which messages show where, and saving.
//
// The backend owns the rules: `validate_server` runs as the person edits (debounced, see
// `scheduleValidation`) and again on save, and its issues are shown at the fields they name. This
// file holds only the window's share: text as typed, turned into the contract's `ServerSettings`
// by `settings()`; numbers that are not numbers; which issues a person has earned the right to see
// (not before they touched the field, unless they tried to save); and which field an issue sits
// beside. The components in this folder draw it; none of them holds form state of its own.

import { untrack } from "svelte";
import type { AuthMode } from "../../lib/bindings/AuthMode";
import type { FieldIssue } from "../../lib/bindings/FieldIssue";
import type { KeyAlgorithm } from "../../lib/bindings/KeyAlgorithm";
import type { OAuthGrant } from "../../lib/bindings/OAuthGrant";
import type { OAuthSettings } from "../../lib/bindings/OAuthSettings";
import type { ServerSettings } from "../../lib/bindings/ServerSettings";
import type { Validation } from "../../lib/bindings/Validation";
import * as ipc from "../../lib/ipc";
import { describeError } from "../../lib/messages";
import { insertReference, referencedNames } from "../../lib/secrets";

export const VALIDATE_DELAY_MS = 250;

export type HeaderRow = { key: number; name: string; value: string };

/** What the form needs to know about the vault: whether it can be read, and its secret names. */
export type KnownSecrets = { readonly usable: boolean; readonly names: readonly string[] };

/** How a save ended: closed the editor, left issues at fields, failed as a whole, or never ran. */
export type SaveOutcome = "saved" | "invalid" | "failed" | "busy";

const WHOLE_NUMBER = "Enter a whole number, or leave empty for the default.";

/** Fields the OAuth section shows its issues beside. */
const OAUTH_FIELDS = [
  "oauth.scopes",
  "oauth.callback_port",
  "oauth.client_id",
  "oauth.client_secret",
  "oauth.client_metadata_url",
  "oauth.token_storage",
  "oauth.send_resource_parameter",
  "oauth.dpop",
  "oauth.authorization_timeout",
];

/** Fields the form always shows its issues beside. */
const ALWAYS_PLACED = ["id", "url", "timeout", "enabled", "oauth.enabled", "headers", "tools.allow", "tools.deny"];

/** Whole numbers only; "" means "use the default". */
export function parseWhole(text: string): { value: number | null; ok: boolean } {
  const trimmed = text.trim();
  if (trimmed === "") return { value: null, ok: true };
  if (!/^\d+$/.test(trimmed)) return { value: null, ok: false };
  return { value: Number(trimmed), ok: true };
}

/** Scopes (or tool patterns) as typed: separated by spaces or commas. */
export function splitScopes(text: string): string[] {
  return text.split(/[\s,]+/).filter((s) => s !== "");
}

/** The id of a field's error message, for `aria-describedby` (screen readers read it out). */
export function errorId(field: string): string {
  return `editor-error-${field.replace(/[^a-z0-9_-]/gi, "-")}`;
}

function dedupe(issues: FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.field}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function byField(issues: FieldIssue[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const issue of issues) map.set(issue.field, [...(map.get(issue.field) ?? []), issue.message]);
  return map;
}

export class ServerForm {
  /** The id of the server being edited, or null when adding one. */
  readonly replacing: string | null;
  readonly #vault: KnownSecrets;

  ready = $state(false);
  loadError = $state<string | null>(null);

  id = $state("");
  url = $state("");
  enabled = $state(true);
  timeout = $state("");
  authMode = $state<AuthMode>("none");
  rows = $state<HeaderRow[]>([]);
  scopes = $state("");
  callbackPort = $state("");
  clientId = $state("");
  clientSecret = $state("");
  /** `""`: the authorization server's metadata decides. */
  grant = $state<OAuthGrant | "">("");
  clientKey = $state("");
  clientKeyAlgorithm = $state<KeyAlgorithm | "">("");
  assertionFile = $state("");
  idpIssuer = $state("");
  idpClientId = $state("");
  idpClientSecret = $state("");
  clientMetadataUrl = $state("");

  // The fields of one grant show when that grant is chosen, or when they hold a value (so
  // nothing set is ever hidden).
  get showsClientKey(): boolean {
    return this.grant === "client_credentials" || this.clientKey.trim() !== "" || this.clientKeyAlgorithm !== "";
  }

  get showsTokenFile(): boolean {
    return this.grant === "jwt_bearer" || this.grant === "enterprise_managed" || this.assertionFile.trim() !== "";
  }

  get showsIdentityProvider(): boolean {
    return (
      this.grant === "enterprise_managed" ||
      [this.idpIssuer, this.idpClientId, this.idpClientSecret].some((value) => value.trim() !== "")
    );
  }
  tokenStorage = $state<OAuthSettings["tokenStorage"]>("vault");
  sendResource = $state(true);
  dpop = $state(true);
  authTimeout = $state("");
  allowTools = $state("");
  denyTools = $state("");

  validation = $state<Validation | null>(null);
  saveIssues = $state<FieldIssue[]>([]);
  touched = $state<Record<string, boolean>>({});
  saveAttempted = $state(false);
  saving = $state(false);
  formError = $state<string | null>(null);

  #nextKey = 0;
  #validationRun = 0;

  constructor(replacing: string | null, vault: KnownSecrets) {
    this.replacing = replacing;
    this.#vault = vault;
  }

  get isNew(): boolean {
    return this.replacing === null;
  }

  #row(name = "", value = ""): HeaderRow {
    return { key: this.#nextKey++, name, value };
  }

  /** Puts saved settings into the form, as text to edit. */
  fill(settings: ServerSettings) {
    this.id = settings.id;
    this.url = settings.url;
    this.enabled = settings.enabled;
    this.timeout = settings.timeout === null ? "" : String(settings.timeout);
    this.authMode = settings.authMode;
    this.rows = settings.headers.map((h) => this.#row(h.name, h.value));
    if (this.authMode === "headers" && this.rows.length === 0) this.rows = [this.#row()];
    const oauth = settings.oauth;
    this.scopes = oauth.scopes.join(" ");
    this.callbackPort = oauth.callbackPort === 0 ? "" : String(oauth.callbackPort);
    this.clientId = oauth.clientId ?? "";
    this.clientSecret = oauth.clientSecret ?? "";
    this.grant = oauth.grant ?? "";
    this.clientKey = oauth.clientKey ?? "";
    this.clientKeyAlgorithm = oauth.clientKeyAlgorithm ?? "";
    this.assertionFile = oauth.assertionFile ?? "";
    this.idpIssuer = oauth.idpIssuer ?? "";
    this.idpClientId = oauth.idpClientId ?? "";
    this.idpClientSecret = oauth.idpClientSecret ?? "";
    this.clientMetadataUrl = oauth.clientMetadataUrl ?? "";
    this.tokenStorage = oauth.tokenStorage;
    this.sendResource = oauth.sendResourceParameter;
    this.dpop = oauth.dpop;
    this.authTimeout = oauth.authorizationTimeout === null ? "" : String(oauth.authorizationTimeout);
    this.allowTools = settings.allowTools.join(" ");
    this.denyTools = settings.denyTools.join(" ");
  }

  /** Loads the server being edited (`get_server`); true when there was one and it loaded. */
  async load(): Promise<boolean> {
    if (this.replacing === null) {
      this.ready = true;
      return false;
    }
    try {
      this.fill(await ipc.getServer(this.replacing));
      this.ready = true;
      return true;
    } catch (error) {
      this.loadError = describeError(ipc.toIpcError(error));
      return false;
    }
  }

  /** The form as the contract's `ServerSettings`. */
  settings(): ServerSettings {
    return {
      id: this.id.trim(),
      url: this.url.trim(),
      enabled: this.enabled,
      timeout: parseWhole(this.timeout).value,
      authMode: this.authMode,
      headers:
        this.authMode === "headers"
          ? this.rows
              .filter((r) => r.name.trim() !== "" || r.value.trim() !== "")
              .map((r) => ({ name: r.name.trim(), value: r.value.trim() }))
          : [],
      oauth: {
        scopes: splitScopes(this.scopes),
        callbackPort: parseWhole(this.callbackPort).value ?? 0,
        clientId: this.clientId.trim() || null,
        clientSecret: this.clientSecret.trim() || null,
        grant: this.grant || null,
        clientKey: this.clientKey.trim() || null,
        clientKeyAlgorithm: this.clientKeyAlgorithm || null,
        assertionFile: this.assertionFile.trim() || null,
        idpIssuer: this.idpIssuer.trim() || null,
        idpClientId: this.idpClientId.trim() || null,
        idpClientSecret: this.idpClientSecret.trim() || null,
        clientMetadataUrl: this.clientMetadataUrl.trim() || null,
        tokenStorage: this.tokenStorage,
        dpop: this.dpop,
        sendResourceParameter: this.sendResource,
        authorizationTimeout: parseWhole(this.authTimeout).value,
      },
      allowTools: splitScopes(this.allowTools),
      denyTools: splitScopes(this.denyTools),
    };
  }

  /** Errors the window can tell without asking the backend (numbers that are not numbers). */
  readonly localErrors = $derived.by(() => {
    const issues: FieldIssue[] = [];
    if (!parseWhole(this.timeout).ok) issues.push({ field: "timeout", message: WHOLE_NUMBER });
    if (this.authMode === "oauth") {
      if (!parseWhole(this.callbackPort).ok) issues.push({ field: "oauth.callback_port", message: WHOLE_NUMBER });
      if (!parseWhole(this.authTimeout).ok) {
        issues.push({ field: "oauth.authorization_timeout", message: WHOLE_NUMBER });
      }
    }
    return issues;
  });

  /**
   * Asks the backend to validate what is typed, after a pause; a stale answer is dropped. Call it
   * from an `$effect` (it reads every field, so it runs again on each edit) and return what it
   * returns, which cancels the pending request.
   */
  scheduleValidation(): (() => void) | undefined {
    if (!this.ready) return;
    const settings = this.settings();
    const run = ++this.#validationRun;
    untrack(() => {
      if (this.saveIssues.length > 0) this.saveIssues = [];
    });
    const timer = setTimeout(() => {
      ipc
        .validateServer(settings, this.replacing)
        .then((result) => {
          if (run === this.#validationRun) this.validation = result;
        })
        .catch(() => {
          // Validation is advisory while editing; saving reports failures.
        });
    }, VALIDATE_DELAY_MS);
    return () => clearTimeout(timer);
  }

  touch(field: string) {
    if (!this.touched[field]) this.touched[field] = true;
  }

  /** A new server's messages wait until the person touched the field or tried to save. */
  #isVisible(field: string): boolean {
    if (!this.isNew || this.saveAttempted) return true;
    if (field.startsWith("headers")) return this.touched.headers === true;
    return this.touched[field] === true || this.touched[field.split(".")[0] ?? field] === true;
  }

  readonly errors = $derived(
    dedupe([...this.localErrors, ...(this.validation?.errors ?? []), ...this.saveIssues]).filter((i) =>
      this.#isVisible(i.field),
    ),
  );
  readonly warnings = $derived((this.validation?.warnings ?? []).filter((i) => this.#isVisible(i.field)));
  readonly errorMap = $derived(byField(this.errors));
  readonly warningMap = $derived(byField(this.warnings));

  /** The header row an issue path like "headers.Authorization" refers to (first match). */
  rowIndexFor(field: string): number {
    if (!field.startsWith("headers.")) return -1;
    const name = field.slice("headers.".length).toLowerCase();
    return this.rows.findIndex((r) => r.name.trim().toLowerCase() === name);
  }

  /** The issues of one header row, by field. */
  headerFields(index: number, map: Map<string, string[]>): [string, string[]][] {
    return [...map.entries()].filter(([field]) => this.rowIndexFor(field) === index);
  }

  /** Fields shown next to an input; everything else is listed above the buttons. */
  #placed(field: string): boolean {
    if (ALWAYS_PLACED.includes(field)) return true;
    if (this.authMode === "headers" && this.rowIndexFor(field) !== -1) return true;
    if (this.authMode === "oauth" && OAUTH_FIELDS.includes(field)) return true;
    return false;
  }

  readonly leftoverErrors = $derived([...this.errorMap.entries()].filter(([field]) => !this.#placed(field)));
  readonly leftoverWarnings = $derived([...this.warningMap.entries()].filter(([field]) => !this.#placed(field)));

  invalid(field: string): boolean {
    return this.errorMap.has(field);
  }

  describedBy(field: string): string | undefined {
    return this.errorMap.has(field) ? errorId(field) : undefined;
  }

  /**
   * Vault names a header value refers to that the vault does not hold (yet). Saving is allowed —
   * the secret may be stored next — but the server will not connect until it is.
   */
  missingSecrets(value: string): string[] {
    if (!this.#vault.usable) return [];
    return referencedNames(value).filter((name) => !this.#vault.names.includes(name));
  }

  setMode(mode: AuthMode) {
    this.authMode = mode;
    this.touch("oauth.enabled");
    if (mode === "headers" && this.rows.length === 0) this.rows = [this.#row()];
  }

  addRow() {
    this.rows = [...this.rows, this.#row()];
    this.touch("headers");
  }

  removeRow(index: number) {
    this.rows = this.rows.filter((_, i) => i !== index);
    this.touch("headers");
  }

  /**
   * Puts a `${name}` reference into a header value at `caret` (the end when null); returns where
   * the caret belongs afterwards, just past the reference, or null when there is no such row.
   */
  insertSecret(index: number, name: string, caret: number | null): number | null {
    const target = this.rows[index];
    if (!target) return null;
    const before = target.value;
    target.value = insertReference(before, name, caret);
    this.touch("headers");
    return target.value.length - (before.length - (caret ?? before.length));
  }

  /** A header's value after its credential moved to the vault. */
  moved(index: number, value: string) {
    const target = this.rows[index];
    if (target) target.value = value;
    this.touch("headers");
  }

  /** Validates once more, then saves (`save_server`); issues land at their fields. */
  async save(): Promise<SaveOutcome> {
    if (this.saving || !this.ready) return "busy";
    this.saveAttempted = true;
    this.formError = null;
    if (this.localErrors.length > 0) return "invalid";
    const settings = this.settings();
    this.saving = true;
    try {
      try {
        const result = await ipc.validateServer(settings, this.replacing);
        this.#validationRun++;
        this.validation = result;
        if (result.errors.length > 0) return "invalid";
      } catch {
        // Fall through: save_server validates too, and reports what is wrong.
      }
      await ipc.saveServer(settings, this.replacing);
      return "saved";
    } catch (failure) {
      const error = ipc.toIpcError(failure);
      if (error.code === "invalid_config" && error.issues && error.issues.length > 0) {
        this.saveIssues = error.issues;
        return "invalid";
      }
      this.formError = describeError(error);
      return "failed";
    } finally {
      this.saving = false;
    }
  }
}
