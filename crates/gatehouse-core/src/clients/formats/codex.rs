//! Codex: `~/.codex/config.toml`, `[mcp_servers.<name>]` with `command`,
//! `args`, `env` (stdio) or `url` (Streamable HTTP) with
//! `bearer_token_env_var`, `http_headers` (static values) and
//! `env_http_headers` (values from environment variables).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Format, Syntax, bearer_headers, proxy_entry, read_entry};
use crate::clients::connect::GatewayTarget;
use crate::clients::entry::Transport;

pub(crate) static FORMAT: Format = Format {
    syntax: Syntax::Toml,
    tables: &[&["mcp_servers"]],
    read,
    gateway_entry,
};

fn read(value: &Value) -> Transport {
    let mut transport = read_entry(value, &[("url", false)], "http_headers");
    if let Transport::Remote { headers, .. } = &mut transport {
        add_env_headers(value, headers);
    }
    transport
}

/// `bearer_token_env_var` and `env_http_headers` name environment
/// variables; they become `${VAR}` references the import resolves (or asks
/// the person to store).
fn add_env_headers(value: &Value, headers: &mut BTreeMap<String, String>) {
    if let Some(var) = value.get("bearer_token_env_var").and_then(Value::as_str) {
        headers.insert("Authorization".into(), format!("Bearer ${{{var}}}"));
    }
    if let Some(map) = value.get("env_http_headers").and_then(Value::as_object) {
        for (name, var) in map {
            if let Some(var) = var.as_str() {
                headers.insert(name.clone(), format!("${{{var}}}"));
            }
        }
    }
}

fn gateway_entry(target: &GatewayTarget) -> Vec<(&'static str, Value)> {
    match target {
        GatewayTarget::Http { url, token, .. } => {
            vec![("url", json!(url)), ("http_headers", bearer_headers(token))]
        }
        GatewayTarget::Proxy { command, id } => proxy_entry(command, id),
    }
}
