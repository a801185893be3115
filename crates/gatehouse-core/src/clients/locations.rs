//! Where each client keeps its MCP configuration, per platform, as its
//! documentation says. Every location can be overridden (`--path`), so
//! tests and unusual set-ups never depend on these.
//!
//! - Claude Desktop: `claude_desktop_config.json` in `~/Library/Application
//!   Support/Claude` (macOS), `%APPDATA%\Claude` (Windows), `~/.config/Claude`
//!   (Linux builds).
//! - Claude Code: `~/.claude.json` (user and per-project `mcpServers`);
//!   the `.mcp.json` of each project it lists is found by `discovery.rs`.
//! - Cursor: `~/.cursor/mcp.json`. Windsurf: `~/.codeium/windsurf/mcp_config.json`.
//! - VS Code: the user profile's `mcp.json` in `Code/User` under the
//!   platform's config folder.
//! - Codex: `~/.codex/config.toml` (or `$CODEX_HOME/config.toml`).
//! - Gemini CLI: `~/.gemini/settings.json`.
//! - Zed: `~/.config/zed/settings.json` (Linux and macOS; `$XDG_CONFIG_HOME`
//!   when set), `%APPDATA%\Zed\settings.json` (Windows).

use std::path::PathBuf;

use super::ClientKind;

/// The client's configuration file at its documented location, or `None`
/// when the platform gives no home directory.
pub fn default_location(kind: ClientKind) -> Option<PathBuf> {
    let base = directories::BaseDirs::new()?;
    let home = base.home_dir().to_path_buf();
    // The roaming application data folder on Windows, Application Support
    // on macOS, $XDG_CONFIG_HOME (~/.config) on Linux.
    let config = base.config_dir().to_path_buf();
    Some(match kind {
        ClientKind::ClaudeDesktop => config.join("Claude").join("claude_desktop_config.json"),
        ClientKind::ClaudeCode => home.join(".claude.json"),
        ClientKind::Cursor => home.join(".cursor").join("mcp.json"),
        ClientKind::VsCode => config.join("Code").join("User").join("mcp.json"),
        ClientKind::Windsurf => home
            .join(".codeium")
            .join("windsurf")
            .join("mcp_config.json"),
        ClientKind::Codex => std::env::var_os("CODEX_HOME")
            .filter(|v| !v.is_empty())
            .map_or_else(|| home.join(".codex"), PathBuf::from)
            .join("config.toml"),
        ClientKind::GeminiCli => home.join(".gemini").join("settings.json"),
        ClientKind::Zed => zed_dir(&home, &config).join("settings.json"),
    })
}

/// Zed uses `~/.config/zed` on macOS too, not Application Support.
fn zed_dir(home: &std::path::Path, config: &std::path::Path) -> PathBuf {
    if cfg!(windows) {
        config.join("Zed")
    } else if cfg!(target_os = "macos") {
        home.join(".config").join("zed")
    } else {
        config.join("zed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_has_a_location_in_the_home_or_config_folder() {
        // The config folder follows $XDG_CONFIG_HOME, which need not be
        // inside the home folder.
        let base = directories::BaseDirs::new().unwrap();
        let (home, config) = (base.home_dir(), base.config_dir());
        for kind in ClientKind::ALL {
            let path = default_location(kind).unwrap();
            assert!(
                path.starts_with(home) || path.starts_with(config),
                "{kind}: {}",
                path.display()
            );
        }
        #[cfg(target_os = "linux")]
        assert!(
            default_location(ClientKind::VsCode)
                .unwrap()
                .ends_with("Code/User/mcp.json")
        );
    }
}
