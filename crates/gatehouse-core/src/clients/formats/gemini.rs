//! Gemini CLI: `~/.gemini/settings.json`, `{"mcpServers": {name:
//! {"httpUrl", "headers"} (Streamable HTTP) | {"url", "headers"} (SSE) |
//! {"command", "args", "env"}}}`, beside the CLI's other settings.

use serde_json::{Value, json};

use super::{Format, Syntax, bearer_headers, proxy_entry, read_entry};
use crate::clients::connect::GatewayTarget;
use crate::clients::entry::Transport;

pub(crate) static FORMAT: Format = Format {
    syntax: Syntax::Json,
    tables: &[&["mcpServers"]],
    read,
    gateway_entry,
};

fn read(value: &Value) -> Transport {
    read_entry(value, &[("httpUrl", false), ("url", true)], "headers")
}

fn gateway_entry(target: &GatewayTarget) -> Vec<(&'static str, Value)> {
    match target {
        GatewayTarget::Http { url, token, .. } => {
            vec![("httpUrl", json!(url)), ("headers", bearer_headers(token))]
        }
        GatewayTarget::Proxy { command, id } => proxy_entry(command, id),
    }
}
