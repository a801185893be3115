//! Claude Code: `~/.claude.json` holds user servers in `mcpServers` and
//! each project's local servers in `projects.<path>.mcpServers`; a
//! project's `.mcp.json` has the same top-level `mcpServers`. Entries are
//! `{"type": "stdio", "command", "args", "env"}` or `{"type": "http" |
//! "sse", "url", "headers"}`.

use serde_json::{Value, json};

use super::{Format, Syntax, bearer_headers, proxy_entry, read_entry};
use crate::clients::connect::GatewayTarget;
use crate::clients::entry::Transport;

pub(crate) static FORMAT: Format = Format {
    syntax: Syntax::Json,
    tables: &[&["mcpServers"], &["projects", "*", "mcpServers"]],
    read,
    gateway_entry,
};

fn read(value: &Value) -> Transport {
    read_entry(value, &[("url", false)], "headers")
}

fn gateway_entry(target: &GatewayTarget) -> Vec<(&'static str, Value)> {
    match target {
        GatewayTarget::Http { url, token, .. } => vec![
            ("type", json!("http")),
            ("url", json!(url)),
            ("headers", bearer_headers(token)),
        ],
        GatewayTarget::Proxy { command, id } => {
            let mut entry = vec![("type", json!("stdio"))];
            entry.extend(proxy_entry(command, id));
            entry
        }
    }
}
