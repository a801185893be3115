//! Text that came from a server, made safe to show a person: on a page, in
//! a terminal, in the window.

/// Characters that hide or reorder what is shown around them: bidirectional
/// overrides and isolates, zero-width characters, the byte-order mark.
/// A server can use them to make one thing look like another.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
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
}
