//! VS Code: the user profile's `mcp.json` (JSON with comments), top-level
//! `servers` with `{"type": "http" | "sse", "url", "headers"}` or
//! `{"type": "stdio", "command", "args", "env"}`, and `inputs` whose
//! `${input:id}` a header may use; older settings files nest the same under
//! `mcp.servers`.

use serde_json::{Value, json};

use super::{Format, Syntax, bearer_headers, proxy_entry, read_entry};
use crate::clients::connect::GatewayTarget;
use crate::clients::entry::Transport;

pub(crate) static FORMAT: Format = Format {
    syntax: Syntax::Json,
    tables: &[&["servers"], &["mcp", "servers"]],
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
