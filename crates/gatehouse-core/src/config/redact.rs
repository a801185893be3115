//! Error messages from serde quote the value they could not read, and a
//! value typed into the wrong field may be a secret: these helpers keep
//! the message's shape and drop the value.

/// serde messages quote offending values ("invalid type: string \"…\"",
/// "unknown variant `…`"), which could be a secret typed into the wrong
/// field: keep only the shape.
pub(super) fn redact_serde_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let string = rest
            .find("string \"")
            .map(|p| (p, "string \"", '"', "a string"));
        let variant = rest
            .find("unknown variant `")
            .map(|p| (p, "unknown variant `", '`', "an unknown value"));
        let next = match (string, variant) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let Some((pos, opener, closer, replacement)) = next else {
            break;
        };
        out.push_str(&rest[..pos]);
        out.push_str(replacement);
        rest = skip_quoted(&rest[pos + opener.len()..], closer);
    }
    out.push_str(rest);
    out
}

/// What follows a quoted value that ends at an unescaped `closer`.
fn skip_quoted(text: &str, closer: char) -> &str {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            c if c == closer && !escaped => return &text[i + c.len_utf8()..],
            _ => escaped = false,
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::test_support::parse;
    use std::path::Path;

    #[test]
    fn type_errors_never_echo_the_value() {
        let err =
            parse("[[servers]]\nid = \"a\"\nurl = \"https://x\"\ntimeout = \"sk-live-abcdef\"\n")
                .unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("sk-live"), "{text}");
        assert!(text.starts_with("config.toml:4:11: "), "{text}");
    }

    #[test]
    fn values_in_type_errors_are_never_echoed() {
        for (field, value) in [
            ("timeout", r#""sk-live-ab\"cdefSECRETPART""#),
            ("enabled", r#""sk-live-SECRETPART""#),
        ] {
            let text = format!("[[servers]]\nid = \"a\"\nurl = \"https://x\"\n{field} = {value}\n");
            let error = Config::parse(&text, Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(!error.contains("SECRETPART"), "{error}");
        }
        let text = "[[servers]]\nid = \"a\"\nurl = \"https://x\"\n[servers.oauth]\nenabled = true\ntoken_storage = \"sk-live-SECRETPART\"\n";
        let error = Config::parse(text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(!error.contains("SECRETPART"), "{error}");
        assert_eq!(
            redact_serde_message("invalid type: string \"a\\\"b\", expected u64"),
            "invalid type: a string, expected u64"
        );
    }
}
