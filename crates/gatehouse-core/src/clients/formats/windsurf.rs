//! Windsurf: `~/.codeium/windsurf/mcp_config.json`, `{"mcpServers": {name:
//! {"serverUrl", "headers"} | {"command", "args", "env"}}}` (`url` is read
//! too, as older versions wrote it).

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
    read_entry(value, &[("serverUrl", false), ("url", false)], "headers")
}

fn gateway_entry(target: &GatewayTarget) -> Vec<(&'static str, Value)> {
    match target {
        GatewayTarget::Http { url, token, .. } => {
            vec![
                ("serverUrl", json!(url)),
                ("headers", bearer_headers(token)),
            ]
        }
        GatewayTarget::Proxy { command, id } => proxy_entry(command, id),
    }
}
