//! `${NAME}` references to vault secrets inside header values.
//!
//! A header value is a template: literal text with any number of `${NAME}`
//! references, resolved from the vault at connect time. `$${` writes a
//! literal `${`. Parsing happens when the config is loaded, so a malformed
//! reference is a config error; resolution happens at connect time, and a
//! missing name fails the whole value so a literal `${...}` never reaches a
//! server.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// Longest secret name accepted, in bytes.
pub const MAX_SECRET_NAME_LEN: usize = 128;

/// Checks that `name` can name a vault secret: an ASCII letter or `_`
/// followed by letters, digits or `_`, as environment variables are named.
pub fn validate_secret_name(name: &str) -> Result<(), TemplateError> {
    let mut chars = name.chars();
    let valid = match chars.next() {
        Some(first) => {
            (first.is_ascii_alphabetic() || first == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    };
    if !valid || name.len() > MAX_SECRET_NAME_LEN {
        return Err(TemplateError::InvalidName {
            name: printable(name),
        });
    }
    Ok(())
}

/// A parsed header value.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Secret(String),
}

/// A template that could not be parsed. Never carries the value itself,
/// which may hold a literal secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    #[error("`${{` at byte {offset} is not closed by `}}` (write `$${{` for a literal `${{`)")]
    Unterminated { offset: usize },
    #[error(
        "{name:?} is not a valid secret name (use letters, digits and `_`, not starting with a digit)"
    )]
    InvalidName { name: String },
}

/// A reference to a secret the vault does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret {name:?} is not in the vault")]
pub struct MissingSecret {
    pub name: String,
}

impl Template {
    /// Parses `text`, checking every `${NAME}` reference.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(pos) = rest.find('$') {
            literal.push_str(&rest[..pos]);
            let after = &rest[pos..];
            if let Some(after_escape) = after.strip_prefix("$${") {
                literal.push_str("${");
                rest = after_escape;
                offset += pos + 3;
            } else if let Some(body) = after.strip_prefix("${") {
                let Some(end) = body.find('}') else {
                    return Err(TemplateError::Unterminated {
                        offset: offset + pos,
                    });
                };
                let name = &body[..end];
                validate_secret_name(name)?;
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Secret(name.to_owned()));
                rest = &body[end + 1..];
                offset += pos + 2 + end + 1;
            } else {
                literal.push('$');
                rest = &after[1..];
                offset += pos + 1;
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self { parts })
    }

    /// The secret names this template references, in order of appearance.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Secret(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Whether the template references no secrets at all.
    pub fn is_literal(&self) -> bool {
        self.references().next().is_none()
    }

    /// The literal text between references (with escapes already applied).
    pub fn literal_parts(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Literal(text) => Some(text.as_str()),
            Part::Secret(_) => None,
        })
    }

    /// Substitutes every reference through `lookup`. The first name that
    /// `lookup` does not know fails the whole value.
    pub fn resolve<'s>(
        &self,
        mut lookup: impl FnMut(&str) -> Option<&'s SecretString>,
    ) -> Result<SecretString, MissingSecret> {
        let mut out = Zeroizing::new(String::new());
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Secret(name) => match lookup(name) {
                    Some(value) => out.push_str(value.expose_secret()),
                    None => return Err(MissingSecret { name: name.clone() }),
                },
            }
        }
        Ok(SecretString::from(out.as_str()))
    }
}

impl fmt::Debug for Template {
    /// Shows the structure without literal text, which may hold a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for part in &self.parts {
            match part {
                Part::Literal(text) => list.entry(&format_args!("<{} literal bytes>", text.len())),
                Part::Secret(name) => list.entry(&format_args!("${{{name}}}")),
            };
        }
        list.finish()
    }
}

/// A name for error messages: short, single-line, never a whole value.
fn printable(name: &str) -> String {
    let mut shown: String = name
        .chars()
        .take(40)
        .flat_map(char::escape_default)
        .collect();
    if name.chars().count() > 40 {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(text: &str, vault: &[(&str, &str)]) -> Result<String, MissingSecret> {
        let vault: HashMap<String, SecretString> = vault
            .iter()
            .map(|(k, v)| (k.to_string(), SecretString::from(*v)))
            .collect();
        Template::parse(text)
            .unwrap()
            .resolve(|name| vault.get(name))
            .map(|s| s.expose_secret().to_owned())
    }

    #[test]
    fn substitutes_several_references_in_one_value() {
        let vault = [("USER", "ann"), ("PASS", "s3cret")];
        assert_eq!(
            resolve("Basic ${USER}:${PASS}!", &vault).unwrap(),
            "Basic ann:s3cret!"
        );
        assert_eq!(resolve("${USER}${PASS}", &vault).unwrap(), "anns3cret");
    }

    #[test]
    fn dollar_dollar_brace_is_a_literal() {
        assert_eq!(resolve("a $${TOKEN} b", &[]).unwrap(), "a ${TOKEN} b");
        assert_eq!(
            resolve("$${X}${X}", &[("X", "1")]).unwrap(),
            "${X}1",
            "escape and reference side by side"
        );
        assert_eq!(resolve("cost: $5 $$", &[]).unwrap(), "cost: $5 $$");
    }

    #[test]
    fn a_missing_secret_fails_the_whole_value() {
        let err = resolve("Bearer ${TOKEN}", &[("OTHER", "x")]).unwrap_err();
        assert_eq!(err.name, "TOKEN");
        assert_eq!(err.to_string(), "secret \"TOKEN\" is not in the vault");
    }

    #[test]
    fn malformed_references_are_rejected() {
        assert_eq!(
            Template::parse("Bearer ${TOKEN").unwrap_err(),
            TemplateError::Unterminated { offset: 7 }
        );
        assert!(matches!(
            Template::parse("${}"),
            Err(TemplateError::InvalidName { .. })
        ));
        assert!(matches!(
            Template::parse("${9LIVES}"),
            Err(TemplateError::InvalidName { .. })
        ));
        assert!(matches!(
            Template::parse("${a-b}"),
            Err(TemplateError::InvalidName { .. })
        ));
    }

    #[test]
    fn references_are_listed_in_order() {
        let template = Template::parse("${A} and ${B} and $${C}").unwrap();
        assert_eq!(template.references().collect::<Vec<_>>(), ["A", "B"]);
        assert!(Template::parse("plain").unwrap().is_literal());
    }

    #[test]
    fn debug_output_hides_literal_text() {
        let template = Template::parse("Bearer sk-live-123 ${X}").unwrap();
        let shown = format!("{template:?}");
        assert!(!shown.contains("sk-live"), "{shown}");
        assert!(shown.contains("${X}"));
    }

    #[test]
    fn secret_names() {
        for ok in ["TOKEN", "_x", "a1_B2"] {
            validate_secret_name(ok).unwrap();
        }
        for bad in ["", "1A", "A-B", "A B", "Ä", &"A".repeat(129)] {
            assert!(validate_secret_name(bad).is_err(), "{bad:?}");
        }
    }
}
