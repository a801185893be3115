//! Which of a server's tools its clients see through Gatehouse: the
//! `[servers.tools]` allow and deny lists of glob patterns (`*` any run of
//! characters, `?` one character, `[abc]` one of a set), the way
//! mcp-remote's `--ignore-tool` and ToolHive's `--tools` narrow a server.
//! The proxy and the gateway apply it to `tools/list` and `tools/call`; the
//! server itself still has every tool.

use serde::{Deserialize, Serialize};

/// Most patterns in one list.
pub const MAX_TOOL_PATTERNS: usize = 100;
/// Longest pattern, in characters.
pub const MAX_TOOL_PATTERN_LEN: usize = 200;

/// The allow and deny lists of one server. Empty lists let everything
/// through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolFilter {
    /// When not empty, only tools matching one of these are offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Tools matching one of these are never offered, even when allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

impl ToolFilter {
    /// Whether the lists say nothing (every tool is offered).
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// Whether the tool `name` is offered to clients. Validation refuses
    /// a pattern that does not parse; should one get here, it fails closed:
    /// an allow pattern matches nothing and a deny pattern everything.
    pub fn offers(&self, name: &str) -> bool {
        let matches = |patterns: &[String], unparsable: bool| {
            patterns.iter().any(|p| match glob::Pattern::new(p) {
                Ok(pattern) => pattern.matches(name),
                Err(_) => unparsable,
            })
        };
        (self.allow.is_empty() || matches(&self.allow, false)) && !matches(&self.deny, true)
    }

    /// What is wrong with one pattern, for the person who wrote it.
    pub fn pattern_problem(pattern: &str) -> Option<String> {
        if pattern.trim().is_empty() {
            return Some("a tool pattern is empty".to_owned());
        }
        if pattern != pattern.trim() {
            return Some(format!(
                "the tool pattern {:?} starts or ends with spaces",
                crate::text::one_line(pattern, MAX_TOOL_PATTERN_LEN)
            ));
        }
        if pattern.chars().count() > MAX_TOOL_PATTERN_LEN {
            return Some(format!(
                "a tool pattern is longer than {MAX_TOOL_PATTERN_LEN} characters"
            ));
        }
        if pattern.chars().any(char::is_control) {
            return Some("a tool pattern has a control character".to_owned());
        }
        glob::Pattern::new(pattern).err().map(|error| {
            format!(
                "the tool pattern {:?} is not a valid glob: {}",
                crate::text::one_line(pattern, MAX_TOOL_PATTERN_LEN),
                error.msg
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(allow: &[&str], deny: &[&str]) -> ToolFilter {
        ToolFilter {
            allow: allow.iter().map(|s| (*s).to_owned()).collect(),
            deny: deny.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn empty_lists_offer_every_tool() {
        assert!(ToolFilter::default().offers("anything"));
        assert!(ToolFilter::default().is_empty());
    }

    #[test]
    fn allow_narrows_and_deny_wins() {
        let f = filter(&["read_*", "search"], &["read_secret*"]);
        assert!(f.offers("read_file"));
        assert!(f.offers("search"));
        assert!(!f.offers("search_all"), "a pattern matches the whole name");
        assert!(!f.offers("write_file"), "not allowed");
        assert!(!f.offers("read_secrets"), "denied although allowed");
    }

    #[test]
    fn deny_alone_removes_only_what_it_names() {
        let f = filter(&[], &["delete_?", "drop[_-]*"]);
        assert!(f.offers("delete_all"));
        assert!(!f.offers("delete_x"));
        assert!(!f.offers("drop-table"));
        assert!(!f.offers("drop_table"));
        assert!(f.offers("dropbox"));
    }

    #[test]
    fn matching_is_case_sensitive_like_tool_names() {
        assert!(!filter(&["Read*"], &[]).offers("read_file"));
    }

    #[test]
    fn bad_patterns_are_named() {
        assert!(ToolFilter::pattern_problem("read_*").is_none());
        assert!(ToolFilter::pattern_problem("").unwrap().contains("empty"));
        assert!(
            ToolFilter::pattern_problem(" x")
                .unwrap()
                .contains("spaces")
        );
        assert!(
            ToolFilter::pattern_problem("[a")
                .unwrap()
                .contains("not a valid glob")
        );
        assert!(
            ToolFilter::pattern_problem("a\u{7}b")
                .unwrap()
                .contains("control")
        );
        let long = "x".repeat(MAX_TOOL_PATTERN_LEN + 1);
        assert!(
            ToolFilter::pattern_problem(&long)
                .unwrap()
                .contains("longer")
        );
    }

    #[test]
    fn an_unparsable_pattern_fails_closed() {
        // Validation refuses it; if one slipped through, it must not widen.
        assert!(!filter(&["[a"], &[]).offers("[a"));
        assert!(!filter(&[], &["[a"]).offers("anything"));
    }
}
