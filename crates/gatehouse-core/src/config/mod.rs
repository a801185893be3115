//! The configuration file: which MCP servers exist and how each one is
//! authenticated.
//!
//! The file is TOML. Loading parses it strictly (unknown fields are errors)
//! and then validates it as a whole, reporting every problem with the file,
//! line, server and field it concerns. The same validation backs the desktop
//! editor, so a field error there reads exactly as it would at load.
//!
//! Edits (add, update, remove) go through [`ConfigFile`], which keeps the
//! person's comments and layout for everything it does not change, and
//! replaces the file atomically under a lock shared with other Gatehouse
//! processes.
//!
//! One concern per file: `types` (what a config says), `tools` (the
//! allow/deny lists of a server's tools), `validate` (the rules), `parse` (text to a located, validated config), `redact` (serde
//! messages without values), `error` and `file` (the on-disk editor).

mod error;
mod file;
mod parse;
mod redact;
mod tools;
mod types;
mod validate;

pub use error::ConfigError;
pub use file::ConfigFile;
pub use tools::{MAX_TOOL_PATTERN_LEN, MAX_TOOL_PATTERNS, ToolFilter};
pub use types::{
    AuthMode, Config, DEFAULT_AUTHORIZATION_TIMEOUT, DEFAULT_GATEWAY_PORT, DEFAULT_TIMEOUT,
    GatewayConfig, KeyAlgorithm, MAX_ID_LEN, OAuthConfig, OAuthGrant, ServerConfig, TokenStorage,
};
pub use validate::{
    ConfigIssue, check_server_url, is_loopback_host, looks_like_literal_secret, normalize_id,
};

#[cfg(test)]
mod test_support {
    use std::path::Path;

    use super::{Config, ConfigError};

    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("config.toml"))
    }

    pub fn issues(text: &str) -> Vec<String> {
        match parse(text) {
            Err(e @ ConfigError::Invalid { .. }) => {
                e.to_string().lines().map(str::to_owned).collect()
            }
            other => panic!("expected validation issues, got {other:?}"),
        }
    }
}
