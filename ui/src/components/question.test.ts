import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, test } from "vitest";
import App from "../App.svelte";
import type { AskEvent } from "../lib/bindings/AskEvent";
import { type Backend, emitAsk, mockBackend, reject } from "../test/backend";

const FORM: AskEvent = {
  type: "ask",
  id: 7,
  server: "calendar",
  message: "Which meeting?\n<b>not markup</b>",
  kind: {
    mode: "form",
    fields: [
      { name: "title", label: "Title", description: "Shown to attendees", kind: "text", choices: [], default: "Standup", required: true },
      { name: "minutes", label: "Minutes", description: null, kind: "integer", choices: [], default: 15, required: false },
      { name: "share", label: "Share", description: null, kind: "number", choices: [], default: null, required: false },
      { name: "remote", label: "Remote", description: null, kind: "boolean", choices: [], default: true, required: false },
      { name: "room", label: "Room", description: null, kind: "choice", choices: ["A", "B"], default: null, required: true },
    ],
  },
};

const PAGE: AskEvent = {
  type: "ask",
  id: 8,
  server: "payments",
  message: "Confirm the payment",
  kind: { mode: "url", url: "https://pay.example.com/confirm?x=1", host: "pay.example.com" },
};

/** Renders the window and waits until it listens (it subscribes before its first list_servers). */
async function openWindow(backend: Backend): Promise<void> {
  render(App);
  await waitFor(() => expect(backend.callsTo("list_servers")).toHaveLength(1));
}

function field(name: string, selector = "input, select"): HTMLInputElement | HTMLSelectElement {
  return screen.getByTestId(`question-field-${name}`).querySelector(selector) as HTMLInputElement;
}

describe("a server's question", () => {
  test("shows a form built from the fields, starting at the defaults, the message as plain text", async () => {
    await openWindow(mockBackend());
    await emitAsk(FORM);

    const dialog = await screen.findByTestId("question-dialog");
    expect(dialog).toHaveTextContent("calendar asks");
    expect(screen.getByTestId("question-message").textContent).toBe("Which meeting?\n<b>not markup</b>");
    expect(dialog.querySelector("b")).toBeNull();
    expect((field("title") as HTMLInputElement).value).toBe("Standup");
    expect((field("minutes") as HTMLInputElement).value).toBe("15");
    expect((field("minutes") as HTMLInputElement).type).toBe("number");
    expect((field("remote") as HTMLInputElement).checked).toBe(true);
    expect(Array.from((field("room") as HTMLSelectElement).options).map((o) => o.value)).toEqual(["", "A", "B"]);
    expect(screen.getByTestId("question-field-title")).toHaveTextContent("Shown to attendees");
  });

  test("sends typed values and closes; a required field left empty is named first", async () => {
    const backend = mockBackend({ answer_question: () => undefined });
    await openWindow(backend);
    await emitAsk(FORM);
    await screen.findByTestId("question-dialog");

    await fireEvent.click(screen.getByTestId("question-accept"));
    expect(screen.getByTestId("question-problem")).toHaveTextContent("Room is required.");
    expect(backend.callsTo("answer_question")).toEqual([]);

    await fireEvent.change(field("room"), { target: { value: "B" } });
    await fireEvent.input(field("share"), { target: { value: "0.5" } });
    await fireEvent.click(field("remote"));
    await fireEvent.click(screen.getByTestId("question-accept"));

    await waitFor(() => expect(screen.queryByTestId("question-dialog")).toBeNull());
    expect(backend.callsTo("answer_question").map((c) => c.args)).toEqual([
      { id: 7, answer: { action: "accept", values: { title: "Standup", minutes: 15, share: 0.5, remote: false, room: "B" } } },
    ]);
  });

  test("a whole number field refuses a fraction", async () => {
    const backend = mockBackend({ answer_question: () => undefined });
    await openWindow(backend);
    await emitAsk(FORM);
    await screen.findByTestId("question-dialog");
    await fireEvent.change(field("room"), { target: { value: "A" } });
    await fireEvent.input(field("minutes"), { target: { value: "1.5" } });
    await fireEvent.click(screen.getByTestId("question-accept"));
    expect(screen.getByTestId("question-problem")).toHaveTextContent("Minutes must be a whole number.");
    expect(backend.callsTo("answer_question")).toEqual([]);
  });

  test("Decline and Escape answer decline and cancel", async () => {
    const backend = mockBackend({ answer_question: () => undefined });
    await openWindow(backend);
    await emitAsk(FORM);
    await fireEvent.click(await screen.findByTestId("question-decline"));
    await waitFor(() => expect(screen.queryByTestId("question-dialog")).toBeNull());

    await emitAsk({ ...FORM, id: 9 });
    await screen.findByTestId("question-dialog");
    await fireEvent.keyDown(window, { key: "Escape" });
    await waitFor(() => expect(screen.queryByTestId("question-dialog")).toBeNull());
    expect(backend.callsTo("answer_question").map((c) => c.args)).toEqual([
      { id: 7, answer: { action: "decline" } },
      { id: 9, answer: { action: "cancel" } },
    ]);
  });

  test("a page to open shows its host and address, and opens only on the person's click", async () => {
    const backend = mockBackend({ answer_question: () => undefined });
    await openWindow(backend);
    await emitAsk(PAGE);
    await screen.findByTestId("question-dialog");
    expect(screen.getByTestId("question-host")).toHaveTextContent("pay.example.com");
    expect(screen.getByTestId("question-url")).toHaveTextContent("https://pay.example.com/confirm?x=1");
    expect(screen.getByTestId("question-accept")).toHaveTextContent("Open pay.example.com");
    expect(document.activeElement).not.toBe(screen.getByTestId("question-accept"));
    expect(backend.callsTo("answer_question")).toEqual([]);

    await fireEvent.click(screen.getByTestId("question-accept"));
    await waitFor(() => expect(screen.queryByTestId("question-dialog")).toBeNull());
    expect(backend.callsTo("answer_question").map((c) => c.args)).toEqual([{ id: 8, answer: { action: "accept" } }]);
  });

  test("questions wait their turn; a withdrawn one closes", async () => {
    await openWindow(mockBackend({ answer_question: () => undefined }));
    await emitAsk(FORM);
    await emitAsk(PAGE);
    const dialog = await screen.findByTestId("question-dialog");
    expect(dialog).toHaveTextContent("calendar asks");

    await emitAsk({ type: "withdrawn", id: 7 });
    await waitFor(() => expect(screen.getByTestId("question-dialog")).toHaveTextContent("payments asks"));
    await emitAsk({ type: "withdrawn", id: 8 });
    await waitFor(() => expect(screen.queryByTestId("question-dialog")).toBeNull());
  });

  test("an answer the backend refuses keeps the dialog open with the reason", async () => {
    await openWindow(mockBackend({ answer_question: reject({ code: "invalid_answer", message: "Room must be one of: A, B." }) }));
    await emitAsk(FORM);
    await screen.findByTestId("question-dialog");
    await fireEvent.change(field("room"), { target: { value: "A" } });
    await fireEvent.click(screen.getByTestId("question-accept"));
    await waitFor(() => expect(screen.getByTestId("question-problem")).toHaveTextContent("Room must be one of: A, B."));
    expect(screen.getByTestId("question-dialog")).toBeInTheDocument();
  });
});
