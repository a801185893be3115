//! Text that came from a server, made safe to show a person: on a page, in
//! a terminal, in the window, in the tray. Every front end and every error
//! message that quotes a server cleans it here, so "what may reach a person"
//! is one rule: no control characters that drive a terminal, none of the
//! invisible characters that reorder or hide text, and a bounded length.
//! The window applies the same rule to what it shows directly
//! (`ui/src/lib/text.ts`); both run the cases in `text_cases.json`.

use std::borrow::Cow;

/// Characters that hide or reorder what is shown around them: bidirectional
/// overrides and isolates, zero-width characters, the byte-order mark.
/// A server can use them to make one thing look like another.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// Server text for one line (an error message, a menu item, a page): line
/// breaks and tabs become spaces, other control characters (escape
/// sequences' ESC, NUL, bells) and invisible characters are dropped, and
/// text longer than `max` characters is cut there and ends in `…`.
pub fn one_line(text: &str, max: usize) -> String {
    // Line breaks and tabs separate words; other controls only do harm.
    let dropped = |c: char| is_invisible(c) || (c.is_control() && !c.is_whitespace());
    let mut cleaned = text
        .chars()
        .filter(|&c| !dropped(c))
        .map(|c| if c.is_control() { ' ' } else { c });
    let mut line: String = cleaned.by_ref().take(max).collect();
    if cleaned.next().is_some() {
        line.push('…');
    }
    line
}

/// Server text for a terminal, kept whole: control characters other than
/// newlines and tabs (escape sequences that could move the cursor, retitle
/// the window or hide text) and invisible characters are shown as `\u{..}`
/// instead of obeyed.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| (c.is_control() && c != '\n' && c != '\t') || is_invisible(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_zero_width_characters_are_invisible() {
        for c in ['\u{202E}', '\u{200B}', '\u{2066}', '\u{FEFF}'] {
            assert!(is_invisible(c), "{c:?}");
        }
        for c in ['a', 'é', '→', ' '] {
            assert!(!is_invisible(c), "{c:?}");
        }
    }

    /// The cases `ui/src/lib/text.test.ts` runs against the window's twin.
    #[test]
    fn one_line_follows_the_shared_cases() {
        let cases: serde_json::Value =
            serde_json::from_str(include_str!("text_cases.json")).unwrap();
        let cases = cases["one_line"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let text = case["text"].as_str().unwrap();
            let max = case["max"].as_u64().unwrap() as usize;
            assert_eq!(
                one_line(text, max),
                case["shown"].as_str().unwrap(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn terminal_text_shows_escapes_instead_of_obeying_them() {
        let hostile = "ok\u{1b}]0;pwned\u{7}\u{1b}[2J\tdone\nnext";
        let safe = for_terminal(hostile);
        assert!(
            !safe.contains('\u{1b}') && !safe.contains('\u{7}'),
            "{safe}"
        );
        assert!(safe.contains("\tdone\nnext"), "{safe}");
        assert_eq!(for_terminal("a\u{202E}b"), "a\\u{202e}b");
        assert!(matches!(for_terminal("plain"), Cow::Borrowed("plain")));
    }
}
