//! Loading: TOML text to a validated [`Config`], every problem located at
//! the line and column of the file it concerns.

use std::path::Path;

use super::redact::redact_serde_message;
use super::{Config, ConfigError, ConfigIssue};

impl Config {
    /// Parses TOML text; `path` is used only to locate errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml_edit::de::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((1, 1));
            ConfigError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: redact_serde_message(e.message()),
            }
        })?;
        let issues = config.validate();
        if !issues.is_empty() {
            let doc = toml_edit::Document::parse(text).ok();
            let locations = issues
                .iter()
                .map(|issue| {
                    doc.as_ref()
                        .and_then(|d| locate_issue(d, issue))
                        .map(|offset| line_column(text, offset))
                })
                .collect();
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                issues,
                locations,
            });
        }
        Ok(config)
    }
}

/// Byte offset of the key an issue is about (or of its server's table).
fn locate_issue<S>(doc: &toml_edit::Document<S>, issue: &ConfigIssue) -> Option<usize> {
    let index = issue.index?;
    let servers = doc.as_table().get("servers")?;
    let server: &dyn toml_edit::TableLike = match servers {
        toml_edit::Item::ArrayOfTables(aot) => aot.get(index)?,
        toml_edit::Item::Value(toml_edit::Value::Array(array)) => {
            array.get(index)?.as_inline_table()?
        }
        _ => return None,
    };
    let table_start = || match servers {
        toml_edit::Item::ArrayOfTables(aot) => aot.get(index).and_then(|t| t.span()),
        _ => None,
    };
    let mut path = issue.field.splitn(2, '.');
    let first = path.next()?;
    let rest = path.next();
    let (key, item) = server.get_key_value(first)?;
    if let Some(rest) = rest
        && let Some(table) = item.as_table_like()
        && let Some((inner_key, _)) = table.get_key_value(rest)
        && let Some(span) = inner_key.span()
    {
        return Some(span.start);
    }
    key.span().or_else(table_start).map(|s| s.start)
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::parse;
    use crate::config::{AuthMode, DEFAULT_AUTHORIZATION_TIMEOUT, TokenStorage};
    use std::time::Duration;

    #[test]
    fn parses_the_design_example() {
        let config = parse(
            r#"
[[servers]]
id = "internal"
url = "https://mcp.internal.example/mcp"
headers = { Authorization = "Bearer ${INTERNAL_TOKEN}" }

[[servers]]
id = "linear"
url = "https://mcp.linear.app/mcp"
timeout = 10
[servers.oauth]
enabled = true
token_storage = "memory"
callback_port = 0
scopes = ["read", "write"]
client_id = "abc"
client_secret = "${LINEAR_SECRET}"
"#,
        )
        .unwrap();
        assert_eq!(config.servers.len(), 2);
        assert_eq!(config.servers[0].auth_mode(), AuthMode::Headers);
        let linear = &config.servers[1];
        assert_eq!(linear.auth_mode(), AuthMode::OAuth);
        assert_eq!(linear.timeout(), Duration::from_secs(10));
        let oauth = linear.oauth_settings().unwrap();
        assert_eq!(oauth.token_storage, TokenStorage::Memory);
        assert!(oauth.send_resource_parameter);
        assert_eq!(oauth.authorization_timeout(), DEFAULT_AUTHORIZATION_TIMEOUT);
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let err = parse("[[servers]]\nid = \"a\"\nurl = https://x\n").unwrap_err();
        let ConfigError::Syntax { line, column, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (3, 7), "{err}");
        assert!(err.to_string().starts_with("config.toml:3:7: "), "{err}");
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_location() {
        let err = parse("[[servers]]\nid = \"a\"\nurl = \"https://x\"\nheader = {}\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("config.toml:4:1: "), "{text}");
        assert!(text.contains("unknown field `header`"), "{text}");
        let err =
            parse("[[servers]]\nid = \"a\"\nurl = \"https://x\"\n[servers.oauth]\nport = 1\n")
                .unwrap_err();
        assert!(err.to_string().contains("unknown field `port`"), "{err}");
        let err = parse("colour = 1\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn the_gateway_port_is_stable_and_never_zero() {
        use crate::config::DEFAULT_GATEWAY_PORT;
        assert_eq!(parse("").unwrap().gateway.port(), DEFAULT_GATEWAY_PORT);
        assert_eq!(
            parse("[gateway]\nport = 48000\n").unwrap().gateway.port(),
            48000
        );
        for bad in [
            "[gateway]\nport = 0\n",
            "[gateway]\nport = 70000\n",
            "[gateway]\nhost = \"0.0.0.0\"\n",
        ] {
            assert!(
                matches!(parse(bad), Err(ConfigError::Syntax { .. })),
                "{bad}"
            );
        }
    }
}
