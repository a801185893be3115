//! The clients Gatehouse knows, by name, and what each one can speak: HTTP
//! with headers (then it connects to the local gateway with a token of its
//! own) or only stdio (then it runs `gatehouse proxy <id>`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An AI client whose MCP configuration Gatehouse reads and rewrites.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    VsCode,
    Windsurf,
    Codex,
    GeminiCli,
    Zed,
}

impl ClientKind {
    /// Every client, in the order they are listed.
    pub const ALL: [ClientKind; 8] = [
        Self::ClaudeDesktop,
        Self::ClaudeCode,
        Self::Cursor,
        Self::VsCode,
        Self::Windsurf,
        Self::Codex,
        Self::GeminiCli,
        Self::Zed,
    ];

    /// The name used on the command line, in backups and as the client's
    /// gateway token name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClaudeDesktop => "claude-desktop",
            Self::ClaudeCode => "claude-code",
            Self::Cursor => "cursor",
            Self::VsCode => "vscode",
            Self::Windsurf => "windsurf",
            Self::Codex => "codex",
            Self::GeminiCli => "gemini-cli",
            Self::Zed => "zed",
        }
    }

    /// How a person calls it.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::ClaudeDesktop => "Claude Desktop",
            Self::ClaudeCode => "Claude Code",
            Self::Cursor => "Cursor",
            Self::VsCode => "VS Code",
            Self::Windsurf => "Windsurf",
            Self::Codex => "Codex",
            Self::GeminiCli => "Gemini CLI",
            Self::Zed => "Zed",
        }
    }

    /// Whether the client speaks Streamable HTTP with headers of its own
    /// choosing. Claude Desktop's config file takes stdio servers only.
    pub fn speaks_http(self) -> bool {
        !matches!(self, Self::ClaudeDesktop)
    }

    /// The process names a running copy of the client has (for the
    /// "restart it" hint).
    pub fn process_names(self) -> &'static [&'static str] {
        match self {
            Self::ClaudeDesktop => &["claude", "Claude", "claude-desktop", "Claude.exe"],
            Self::ClaudeCode => &["claude"],
            Self::Cursor => &["cursor", "Cursor", "Cursor.exe"],
            Self::VsCode => &["code", "Code", "code-insiders", "Code.exe"],
            Self::Windsurf => &["windsurf", "Windsurf", "Windsurf.exe"],
            Self::Codex => &["codex"],
            Self::GeminiCli => &["gemini"],
            Self::Zed => &["zed", "zed-editor", "Zed", "zed.exe"],
        }
    }
}

impl fmt::Display for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A client name that is not one of [`ClientKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown client {0:?}: use one of claude-desktop, claude-code, cursor, vscode, windsurf, codex, gemini-cli, zed"
)]
pub struct UnknownClient(pub String);

impl FromStr for ClientKind {
    type Err = UnknownClient;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        let alias = match wanted.as_str() {
            "claude" => "claude-desktop",
            "code" | "vs-code" => "vscode",
            "gemini" => "gemini-cli",
            other => other,
        };
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == alias)
            .ok_or_else(|| UnknownClient(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for kind in ClientKind::ALL {
            assert_eq!(kind.name().parse::<ClientKind>(), Ok(kind));
        }
        assert_eq!("VS Code".parse::<ClientKind>(), Ok(ClientKind::VsCode));
        assert_eq!("gemini".parse::<ClientKind>(), Ok(ClientKind::GeminiCli));
        assert!("emacs".parse::<ClientKind>().is_err());
    }
}
