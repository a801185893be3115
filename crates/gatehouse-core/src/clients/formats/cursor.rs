//! Cursor: `~/.cursor/mcp.json` (and a project's `.cursor/mcp.json`),
//! `{"mcpServers": {name: {"url", "headers"} | {"command", "args", "env"}}}`.

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
    read_entry(value, &[("url", false)], "headers")
}

fn gateway_entry(target: &GatewayTarget) -> Vec<(&'static str, Value)> {
    match target {
        GatewayTarget::Http { url, token, .. } => {
            vec![("url", json!(url)), ("headers", bearer_headers(token))]
        }
        GatewayTarget::Proxy { command, id } => proxy_entry(command, id),
    }
}
