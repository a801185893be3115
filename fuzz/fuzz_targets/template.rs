//! `${NAME}` templates in header values: whatever the text, parsing never
//! panics; a parsed template written back (escaping `${` as `$${`) parses
//! to itself; resolving puts each secret exactly where its reference was;
//! and errors point at the real problem without echoing the value.
#![no_main]

use gatehouse_core::fuzzing::{Template, TemplateError, validate_secret_name};
use libfuzzer_sys::fuzz_target;

/// The longest error message, whatever the input's length: a bad name is
/// cut to 40 characters, each escaped to at most `\\u{10ffff}` (11 bytes
/// once quoted), so no error can carry a whole header value.
const MAX_ERROR_LEN: usize = 600;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Template::parse(text) {
        Ok(template) => check_parsed(text, &template),
        Err(error) => check_error(text, &error),
    }
});

fn check_parsed(text: &str, template: &Template) {
    // Every reference is a valid secret name, and the text holds it.
    for name in template.references() {
        assert!(validate_secret_name(name).is_ok(), "{name:?}");
        assert!(
            text.contains(&format!("${{{name}}}")),
            "{name:?} in {text:?}"
        );
    }
    // Written back with escapes, it parses to the same template.
    let written = write_back(template);
    let again = Template::parse(&written)
        .unwrap_or_else(|e| panic!("{written:?} (from {text:?}) does not parse: {e}"));
    assert!(again == *template, "{text:?} -> {written:?} -> {again:?}");
    // Literal text is what the value had outside references, with `$${`
    // read as `${`; so a value without `$` is all literal, unchanged.
    if !text.contains('$') {
        assert!(template.is_literal());
        assert_eq!(template.literal_parts().collect::<String>(), text);
    }
    // Resolving substitutes each reference in place, and nothing else.
    let values: Vec<secrecy::SecretString> = template
        .references()
        .enumerate()
        .map(|(i, _)| format!("\u{1}{i}\u{1}").into())
        .collect();
    let mut next = 0;
    let resolved = template
        .resolve(|_| {
            next += 1;
            values.get(next - 1)
        })
        .expect("every reference has a value");
    let resolved = secrecy::ExposeSecret::expose_secret(&resolved).to_owned();
    let mut index = 0;
    let expected: String = parts(template)
        .into_iter()
        .map(|part| match part {
            Part::Literal(text) => text.to_owned(),
            Part::Reference(_) => {
                index += 1;
                format!("\u{1}{}\u{1}", index - 1)
            }
        })
        .collect();
    assert_eq!(resolved, expected, "{text:?}");
    // A lookup that knows nothing fails on the first reference, if any.
    match template.resolve(|_| None) {
        Ok(value) => {
            assert!(template.is_literal());
            assert_eq!(
                secrecy::ExposeSecret::expose_secret(&value),
                template.literal_parts().collect::<String>()
            );
        }
        Err(missing) => assert_eq!(Some(missing.name.as_str()), template.references().next()),
    }
}

fn check_error(text: &str, error: &TemplateError) {
    let message = error.to_string();
    assert!(message.len() <= MAX_ERROR_LEN, "{} bytes", message.len());
    match error {
        TemplateError::Unterminated { offset } => {
            assert!(
                text.get(*offset..)
                    .is_some_and(|rest| rest.starts_with("${")),
                "offset {offset} of {text:?}"
            );
            assert!(
                !text[offset + 2..].contains('}'),
                "{text:?} has a closing brace"
            );
        }
        TemplateError::InvalidName { .. } => {
            assert!(text.contains("${"), "{text:?}");
        }
        _ => {}
    }
}

enum Part<'t> {
    Literal(&'t str),
    Reference(&'t str),
}

/// The parts in order. `literal_parts` and `references` each keep their
/// own order; the Debug form (`["<3 literal bytes>", "${NAME}"]`, without
/// the text) says how they interleave.
fn parts(template: &Template) -> Vec<Part<'_>> {
    let order = format!("{template:?}");
    let mut literals = template.literal_parts();
    let mut names = template.references();
    let mut parts = Vec::new();
    for entry in order
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(", ")
    {
        if entry.starts_with("${") {
            parts.push(Part::Reference(names.next().expect("a reference")));
        } else if !entry.is_empty() {
            parts.push(Part::Literal(literals.next().expect("a literal")));
        }
    }
    assert!(literals.next().is_none() && names.next().is_none());
    parts
}

/// The template as a person would write it: literal `${` escaped.
fn write_back(template: &Template) -> String {
    parts(template)
        .into_iter()
        .map(|part| match part {
            Part::Literal(text) => text.replace("${", "$${"),
            Part::Reference(name) => format!("${{{name}}}"),
        })
        .collect()
}
