// Window-only state: which page is shown, which server the Tools page should open on, and the one
// confirmation dialog that destructive actions go through.

export type Page = "servers" | "secrets" | "tools" | "activity" | "clients" | "settings";

export type ConfirmOptions = {
  title: string;
  message: string;
  confirmLabel: string;
  /** Styles the confirm button as destructive. */
  danger?: boolean;
};

type PendingConfirm = ConfirmOptions & { resolve: (ok: boolean) => void };

export class UiStore {
  page = $state<Page>("servers");
  /** The server the Tools page selects when it opens (set by "Tools" links on rows). */
  toolsServer = $state<string | null>(null);
  pendingConfirm = $state<PendingConfirm | null>(null);

  navigate(page: Page): void {
    this.page = page;
  }

  showTools(serverId: string): void {
    this.toolsServer = serverId;
    this.page = "tools";
  }

  /** Asks the person to confirm; resolves true on confirm, false on cancel or Escape. */
  confirm(options: ConfirmOptions): Promise<boolean> {
    this.pendingConfirm?.resolve(false);
    return new Promise((resolve) => {
      this.pendingConfirm = { ...options, resolve };
    });
  }

  answerConfirm(ok: boolean): void {
    const pending = this.pendingConfirm;
    this.pendingConfirm = null;
    pending?.resolve(ok);
  }
}
