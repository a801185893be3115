//! One MCP server entry in a client's file, whatever the file's format: a
//! local command (stdio) or a remote URL with headers. Values may hold
//! secrets (an API key in a header or an `env`), so `Debug` shows names only.

use std::collections::BTreeMap;
use std::fmt;

/// How a client reaches one server.
#[derive(Clone, PartialEq, Eq)]
pub enum Transport {
    /// The client starts a program and speaks MCP over its stdio.
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
    },
    /// The client connects to a URL itself.
    Remote {
        url: String,
        headers: BTreeMap<String, String>,
        /// The legacy HTTP+SSE transport rather than Streamable HTTP.
        sse: bool,
    },
    /// Neither a command nor a URL (a disabled stub, a shape we do not know).
    Unknown,
}

/// A named entry and where in the file it lives.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientEntry {
    /// The entry's key in its table.
    pub name: String,
    /// The keys leading to the table that holds it, e.g. `["mcpServers"]`
    /// or `["projects", "/home/me/app", "mcpServers"]`.
    pub table: Vec<String>,
    pub transport: Transport,
}

impl ClientEntry {
    /// The URL it reaches, if it is a remote entry.
    pub fn url(&self) -> Option<&str> {
        match &self.transport {
            Transport::Remote { url, .. } => Some(url),
            _ => None,
        }
    }

    /// The table and name, for messages: `mcpServers.linear`.
    pub fn location(&self) -> String {
        let mut parts = self.table.clone();
        parts.push(self.name.clone());
        parts.join(".")
    }
}

impl fmt::Debug for Transport {
    /// Only names and the URL: header values, arguments and `env` values
    /// may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdio { command, args, env } => f
                .debug_struct("Stdio")
                .field("command", command)
                .field("args", &args.len())
                .field("env", &env.keys().collect::<Vec<_>>())
                .finish(),
            Self::Remote { url, headers, sse } => f
                .debug_struct("Remote")
                .field("url", url)
                .field("headers", &headers.keys().collect::<Vec<_>>())
                .field("sse", sse)
                .finish(),
            Self::Unknown => f.write_str("Unknown"),
        }
    }
}

impl fmt::Debug for ClientEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientEntry")
            .field("name", &self.name)
            .field("table", &self.table)
            .field("transport", &self.transport)
            .finish()
    }
}
