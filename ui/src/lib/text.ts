// Text that came from a server, cleaned before the window shows it: the TypeScript twin of the
// core's `text::one_line` (crates/gatehouse-core/src/text.rs). Both run the cases in
// crates/gatehouse-core/src/text_cases.json, so the two rules cannot drift apart. Messages the
// backend sends are already cleaned there; this is for what a server says that reaches the window
// directly (tool names and descriptions).

/** Bidirectional overrides and isolates, zero-width characters, the byte-order mark. */
const INVISIBLE = /[\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/u;
/** Unicode `Cc` (what Rust's `char::is_control` means). */
const CONTROL = /\p{Cc}/u;
/** The control characters Rust counts as whitespace: tab, line breaks, and the NEL. */
const WHITESPACE_CONTROL = /[\t\n\v\f\r\u0085]/u;

/**
 * Server text for one line: line breaks and tabs become spaces, other control characters and
 * invisible ones are dropped, and text longer than `max` characters is cut there and ends in `…`.
 */
export function oneLine(text: string, max: number): string {
  const kept: string[] = [];
  for (const c of text) {
    if (INVISIBLE.test(c)) continue;
    if (CONTROL.test(c)) {
      if (!WHITESPACE_CONTROL.test(c)) continue;
      kept.push(" ");
    } else {
      kept.push(c);
    }
  }
  return kept.length > max ? `${kept.slice(0, max).join("")}…` : kept.join("");
}
