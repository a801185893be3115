//! Claude Desktop: `claude_desktop_config.json`, `{"mcpServers": {name:
//! {"command", "args", "env"}}}`. Its file takes local (stdio) servers
//! only, so Gatehouse connects it with `gatehouse proxy <id>`.

use serde_json::Value;

use super::{Format, Syntax, proxy_entry, read_entry};
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
    proxy_entry(target.proxy_command(), target.id())
}
