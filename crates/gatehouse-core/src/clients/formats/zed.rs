//! Zed: `settings.json` (JSON with comments), `context_servers` with
//! `{"url", "headers"}` for remote servers and `{"command", "args", "env"}`
//! (or the older `{"command": {"path", "args", "env"}}`) for local ones,
//! among all of the editor's other settings.

use serde_json::{Value, json};

use super::{Format, Syntax, bearer_headers, proxy_entry, read_entry};
use crate::clients::connect::GatewayTarget;
use crate::clients::entry::Transport;

pub(crate) static FORMAT: Format = Format {
    syntax: Syntax::Json,
    tables: &[&["context_servers"]],
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
