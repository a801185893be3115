// Questions servers ask the person while the app makes a request for them (MCP elicitation): a
// form to fill in or a page to open. They arrive as `ask` events and wait, first come first shown,
// until the person answers (`answer_question`) or the server's request ends (`withdrawn`).

import type { AskEvent } from "../bindings/AskEvent";
import type { PersonAnswer } from "../bindings/PersonAnswer";
import type { Question } from "../bindings/Question";
import * as ipc from "../ipc";
import { describeError } from "../messages";

export class QuestionsStore {
  open = $state<Question[]>([]);
  /** Why the last answer to the shown question was refused (a field that does not fit). */
  problem = $state<string | null>(null);
  busy = $state(false);

  get current(): Question | null {
    return this.open[0] ?? null;
  }

  handle(event: AskEvent): void {
    if (event.type === "ask") {
      const { type: _type, ...question } = event;
      this.open = [...this.open, question];
    } else {
      this.#close(event.id);
    }
  }

  async answer(id: number, answer: PersonAnswer): Promise<void> {
    this.busy = true;
    try {
      await ipc.answerQuestion(id, answer);
      this.#close(id);
    } catch (error) {
      const failure = ipc.toIpcError(error);
      if (failure.code === "unknown_question") this.#close(id);
      else this.problem = describeError(failure);
    } finally {
      this.busy = false;
    }
  }

  #close(id: number): void {
    if (this.current?.id === id) this.problem = null;
    this.open = this.open.filter((q) => q.id !== id);
  }
}
