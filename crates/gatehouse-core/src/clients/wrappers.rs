//! Local commands that only wrap a remote server: `mcp-remote <url>`,
//! `supergateway --sse|--streamableHttp <url>` and `mcp-proxy <url>`,
//! however they are launched (`npx -y`, `bunx`, `pnpm dlx`, `uvx`,
//! `cmd /c npx` on Windows, a full path to the program). Their flags are
//! read into what a Gatehouse server can hold.

use std::collections::BTreeMap;

/// What a wrapper command line says about the remote server it reaches.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RemoteWrapper {
    /// `mcp-remote`, `supergateway` or `mcp-proxy`.
    pub tool: &'static str,
    pub url: String,
    /// `--header "Name: value"` and the like, in order (values may use
    /// `${VAR}` from the entry's `env`).
    pub headers: Vec<(String, String)>,
    /// The legacy SSE transport was asked for.
    pub sse: bool,
    pub callback_port: Option<u16>,
    /// From `--static-oauth-client-info`.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// From `--static-oauth-client-metadata`'s `scope`.
    pub scopes: Vec<String>,
    /// `--no-resource`: do not send RFC 8707 `resource`.
    pub no_resource: bool,
    /// `--auth-timeout` seconds.
    pub authorization_timeout: Option<u64>,
    /// `--ignore-tool` patterns.
    pub deny_tools: Vec<String>,
    /// Flags that have no Gatehouse equivalent, said in words.
    pub notes: Vec<String>,
}

impl std::fmt::Debug for RemoteWrapper {
    /// Header values and the client secret stay out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteWrapper")
            .field("tool", &self.tool)
            .field("url", &self.url)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("sse", &self.sse)
            .field("callback_port", &self.callback_port)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("no_resource", &self.no_resource)
            .field("deny_tools", &self.deny_tools)
            .finish_non_exhaustive()
    }
}

/// The remote server a stdio entry wraps, or `None` when the command is a
/// local server of its own. `env` resolves `--static-oauth-client-info`
/// given as `${VAR}` and mcp-proxy's `API_ACCESS_TOKEN`.
pub fn parse_wrapper(
    command: &str,
    args: &[String],
    env: &BTreeMap<String, String>,
) -> Option<RemoteWrapper> {
    let mut argv: Vec<String> = std::iter::once(command.to_owned())
        .chain(args.iter().cloned())
        .collect();
    let tool =
        loop {
            let program = program_name(argv.first()?);
            match program.as_str() {
                "cmd" => {
                    argv.remove(0);
                    if argv.first().is_some_and(|a| {
                        a.eq_ignore_ascii_case("/c") || a.eq_ignore_ascii_case("/k")
                    }) {
                        argv.remove(0);
                    }
                }
                "npx" | "bunx" | "pnpx" | "uvx" => {
                    argv.remove(0);
                    skip_launcher_flags(&mut argv);
                }
                "pnpm" | "yarn" | "npm" | "bun" | "uv" | "pipx" => {
                    argv.remove(0);
                    // `pnpm dlx`, `npm exec`, `bun x`, `uv tool run`, `pipx run`.
                    while argv.first().is_some_and(|a| {
                        matches!(a.as_str(), "dlx" | "exec" | "x" | "tool" | "run")
                    }) {
                        argv.remove(0);
                    }
                    skip_launcher_flags(&mut argv);
                }
                "node" | "bun-run" => {
                    argv.remove(0);
                    // `node /path/to/mcp-remote/dist/proxy.js <url>`.
                    let script = argv.first()?.replace('\\', "/");
                    if script.contains("mcp-remote") {
                        argv[0] = "mcp-remote".into();
                    } else {
                        return None;
                    }
                }
                "mcp-remote" => break "mcp-remote",
                "supergateway" => break "supergateway",
                "mcp-proxy" => break "mcp-proxy",
                _ => return None,
            }
        };
    let rest = &argv[1..];
    let mut wrapper = match tool {
        "mcp-remote" => mcp_remote(rest),
        "supergateway" => supergateway(rest),
        _ => mcp_proxy(rest, env),
    }?;
    wrapper.tool = tool;
    Some(wrapper)
}

/// `npx -y --package=x` and the like: flags of the launcher itself.
fn skip_launcher_flags(argv: &mut Vec<String>) {
    while let Some(first) = argv.first() {
        if !first.starts_with('-') {
            return;
        }
        let takes_value = matches!(
            first.as_str(),
            "-p" | "--package" | "--from" | "--with" | "--python"
        );
        argv.remove(0);
        if takes_value && !argv.is_empty() {
            argv.remove(0);
        }
    }
}

/// `C:\Program Files\nodejs\npx.cmd` → `npx`; `mcp-remote@0.1.29` →
/// `mcp-remote`; `@scope/pkg@1` → `@scope/pkg`.
fn program_name(arg: &str) -> String {
    let base = arg.rsplit(['/', '\\']).next().unwrap_or(arg);
    let base = if arg.starts_with('@') && arg.contains('/') {
        // A scoped package: keep the scope, drop a version.
        arg
    } else {
        base
    };
    let lower = base.to_ascii_lowercase();
    let without_version = match lower[1..].find('@') {
        Some(at) if !lower.is_empty() => lower[..at + 1].to_owned(),
        _ => lower.clone(),
    };
    without_version
        .trim_end_matches(".exe")
        .trim_end_matches(".cmd")
        .trim_end_matches(".bat")
        .trim_end_matches(".ps1")
        .to_owned()
}

/// `"Name: value"` or `"Name:value"` (mcp-remote's advice on Windows).
fn split_header(text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once(':')?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some((name.to_owned(), value.trim().to_owned()))
}

fn mcp_remote(args: &[String]) -> Option<RemoteWrapper> {
    let mut wrapper = RemoteWrapper::default();
    let mut positional = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if arg.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| iter.next().cloned());
        match flag {
            "--header" => match value().as_deref().and_then(split_header) {
                Some(header) => wrapper.headers.push(header),
                None => wrapper
                    .notes
                    .push("a --header without `Name: value` was left out".into()),
            },
            "--transport" => {
                let transport = value().unwrap_or_default();
                wrapper.sse = transport.starts_with("sse");
            }
            "--callback-port" => wrapper.callback_port = value().and_then(|v| v.parse().ok()),
            "--static-oauth-client-info" => {
                if let Some(info) = value() {
                    client_info(&info, &mut wrapper);
                }
            }
            "--static-oauth-client-metadata" => {
                if let Some(metadata) = value() {
                    match serde_json::from_str::<serde_json::Value>(&metadata) {
                        Ok(json) => {
                            if let Some(scope) = json.get("scope").and_then(|s| s.as_str()) {
                                wrapper.scopes = scope.split_whitespace().map(str::to_owned).collect();
                            }
                        }
                        Err(_) => wrapper.notes.push(
                            "--static-oauth-client-metadata from a file was not read; set its scopes in the server's OAuth settings".into(),
                        ),
                    }
                }
            }
            "--no-resource" => wrapper.no_resource = true,
            "--auth-timeout" => {
                wrapper.authorization_timeout = value().and_then(|v| v.parse().ok())
            }
            "--ignore-tool" => wrapper.deny_tools.extend(value()),
            "--resource" => {
                let _ = value();
                wrapper
                    .notes
                    .push("--resource (session isolation) is not needed: Gatehouse keeps one session per server".into());
            }
            "--host" => {
                let _ = value();
            }
            "--allow-http" | "--debug" | "--silent" | "--enable-proxy" => {}
            other if other.starts_with('-') => wrapper.notes.push(format!(
                "the mcp-remote flag {other} has no Gatehouse equivalent and was left out"
            )),
            _ => positional.push(arg.clone()),
        }
    }
    let mut positional = positional.into_iter();
    wrapper.url = positional.next()?;
    if let Some(port) = positional.next() {
        wrapper.callback_port = wrapper.callback_port.or_else(|| port.parse().ok());
    }
    Some(wrapper)
}

/// `{"client_id": "...", "client_secret": "..."}`, or `@file` (not read:
/// the person is told).
fn client_info(info: &str, wrapper: &mut RemoteWrapper) {
    match serde_json::from_str::<serde_json::Value>(info) {
        Ok(json) => {
            wrapper.client_id = json.get("client_id").and_then(|v| v.as_str()).map(str::to_owned);
            wrapper.client_secret = json
                .get("client_secret")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
        }
        Err(_) => wrapper.notes.push(
            "--static-oauth-client-info from a file was not read; set the client id in the server's OAuth settings".into(),
        ),
    }
}

fn supergateway(args: &[String]) -> Option<RemoteWrapper> {
    let mut wrapper = RemoteWrapper::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--sse" => {
                wrapper.url = iter.next()?.clone();
                wrapper.sse = true;
            }
            "--streamableHttp" => wrapper.url = iter.next()?.clone(),
            "--header" => {
                if let Some(header) = iter.next().and_then(|h| split_header(h)) {
                    wrapper.headers.push(header);
                }
            }
            "--oauth2Bearer" => {
                if let Some(token) = iter.next() {
                    wrapper
                        .headers
                        .push(("Authorization".into(), format!("Bearer {token}")));
                }
            }
            // stdio → SSE mode: a local server, not a wrapper.
            "--stdio" => return None,
            _ => {}
        }
    }
    (!wrapper.url.is_empty()).then_some(wrapper)
}

fn mcp_proxy(args: &[String], env: &BTreeMap<String, String>) -> Option<RemoteWrapper> {
    let mut wrapper = RemoteWrapper {
        sse: true,
        ..RemoteWrapper::default()
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--headers" | "-H" => {
                let (Some(name), Some(value)) = (iter.next(), iter.next()) else {
                    break;
                };
                wrapper.headers.push((name.clone(), value.clone()));
            }
            "--transport" => wrapper.sse = iter.next().is_some_and(|t| t == "sse"),
            other if other.starts_with("--transport=") => {
                wrapper.sse = other.ends_with("=sse");
            }
            other if other.starts_with('-') => {}
            url if wrapper.url.is_empty()
                && (url.starts_with("http://") || url.starts_with("https://")) =>
            {
                wrapper.url = url.to_owned();
            }
            // `mcp-proxy --port 8080 <command>`: serves a local program.
            _ if wrapper.url.is_empty() => return None,
            _ => {}
        }
    }
    if wrapper.url.is_empty() {
        return None;
    }
    if env.contains_key("API_ACCESS_TOKEN") {
        wrapper
            .headers
            .push(("Authorization".into(), "Bearer ${API_ACCESS_TOKEN}".into()));
    }
    Some(wrapper)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn mcp_remote_with_headers_port_and_client_info() {
        let w = parse_wrapper(
            "npx",
            &args(&[
                "-y",
                "mcp-remote@latest",
                "https://mcp.example.com/mcp",
                "3334",
                "--header",
                "Authorization: Bearer sk-abc",
                "--header",
                "X-Team:${TEAM}",
                "--static-oauth-client-info",
                r#"{"client_id":"cid","client_secret":"shh"}"#,
                "--static-oauth-client-metadata",
                r#"{"scope":"read write"}"#,
                "--no-resource",
                "--ignore-tool",
                "delete_*",
            ]),
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(w.tool, "mcp-remote");
        assert_eq!(w.url, "https://mcp.example.com/mcp");
        assert_eq!(w.callback_port, Some(3334));
        assert_eq!(
            w.headers,
            [
                ("Authorization".to_owned(), "Bearer sk-abc".to_owned()),
                ("X-Team".to_owned(), "${TEAM}".to_owned())
            ]
        );
        assert_eq!(w.client_id.as_deref(), Some("cid"));
        assert_eq!(w.client_secret.as_deref(), Some("shh"));
        assert_eq!(w.scopes, ["read", "write"]);
        assert!(w.no_resource);
        assert_eq!(w.deny_tools, ["delete_*"]);
        assert!(!format!("{w:?}").contains("sk-abc"));
    }

    #[test]
    fn launchers_and_windows_paths_are_seen_through() {
        let cases: &[(&str, &[&str])] = &[
            (
                "cmd",
                &["/c", "npx", "-y", "mcp-remote", "https://a.example/mcp"],
            ),
            (
                r"C:\Program Files\nodejs\npx.cmd",
                &["mcp-remote", "https://a.example/mcp"],
            ),
            ("pnpm", &["dlx", "mcp-remote", "https://a.example/mcp"]),
            ("bunx", &["mcp-remote@0.1.29", "https://a.example/mcp"]),
            (
                "node",
                &["/opt/mcp-remote/dist/proxy.js", "https://a.example/mcp"],
            ),
            (
                "mcp-remote",
                &["https://a.example/mcp", "--callback-port", "9000"],
            ),
        ];
        for (command, list) in cases {
            let w = parse_wrapper(command, &args(list), &BTreeMap::new())
                .unwrap_or_else(|| panic!("{command} {list:?}"));
            assert_eq!(w.url, "https://a.example/mcp", "{command}");
        }
    }

    #[test]
    fn supergateway_and_mcp_proxy() {
        let w = parse_wrapper(
            "npx",
            &args(&[
                "-y",
                "supergateway",
                "--sse",
                "https://s.example/sse",
                "--oauth2Bearer",
                "tok123",
            ]),
            &BTreeMap::new(),
        )
        .unwrap();
        assert!(w.sse);
        assert_eq!(w.headers[0].1, "Bearer tok123");
        let w = parse_wrapper(
            "npx",
            &args(&[
                "-y",
                "supergateway",
                "--streamableHttp",
                "https://s.example/mcp",
            ]),
            &BTreeMap::new(),
        )
        .unwrap();
        assert!(!w.sse);
        let env = BTreeMap::from([("API_ACCESS_TOKEN".to_owned(), "t".to_owned())]);
        let w = parse_wrapper(
            "uvx",
            &args(&[
                "mcp-proxy",
                "--transport",
                "streamablehttp",
                "https://p.example/mcp",
            ]),
            &env,
        )
        .unwrap();
        assert_eq!(w.url, "https://p.example/mcp");
        assert!(!w.sse);
        assert_eq!(w.headers[0].1, "Bearer ${API_ACCESS_TOKEN}");
    }

    #[test]
    fn local_servers_are_not_wrappers() {
        for (command, list) in [
            (
                "npx",
                vec!["-y", "@modelcontextprotocol/server-filesystem", "/home"],
            ),
            ("uvx", vec!["mcp-server-git"]),
            (
                "npx",
                vec!["-y", "supergateway", "--stdio", "node server.js"],
            ),
            (
                "docker",
                vec!["run", "-i", "ghcr.io/github/github-mcp-server"],
            ),
        ] {
            assert!(
                parse_wrapper(command, &args(&list), &BTreeMap::new()).is_none(),
                "{command}"
            );
        }
    }
}
