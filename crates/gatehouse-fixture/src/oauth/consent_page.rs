//! The pages a person sees in their browser: the consent page (Approve /
//! Deny), the error page for requests that cannot be sent back to the app,
//! and a landing page at `/`. Self-contained HTML with inline CSS, no
//! scripts and nothing loaded from elsewhere.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use std::sync::Arc;

use super::state::{AuthServer, Authorization};

/// What a person reads for each scope on the consent page.
fn describe_scope(scope: &str) -> &str {
    match scope {
        "mcp:read" => "See the server's tools, resources and prompts",
        "mcp:write" => "Use tools that change things",
        "offline_access" => "Stay connected when you are away",
        other => other,
    }
}

pub(crate) fn render(
    server: &AuthServer,
    authorization: &Authorization,
    request_id: &str,
) -> Response {
    let client = escape(&authorization.client_name);
    let resource = escape(&server.options.display_name);
    let scopes: String = authorization
        .scopes
        .iter()
        .map(|scope| {
            format!(
                "<li><span class=\"scope-text\">{}</span><code>{}</code></li>",
                escape(describe_scope(scope)),
                escape(scope)
            )
        })
        .collect();
    let return_to = url::Url::parse(&authorization.redirect_uri)
        .ok()
        .and_then(|url| {
            url.host_str().map(|host| match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            })
        })
        .unwrap_or_else(|| authorization.redirect_uri.clone());
    let body = format!(
        r#"<main class="card" data-testid="consent">
  {MARK}
  <h1>Authorization request</h1>
  <p class="lead"><strong data-testid="consent-client">{client}</strong> wants to access the <strong>{resource}</strong>.</p>
  <section>
    <h2>It will be able to</h2>
    <ul class="scopes" data-testid="consent-scopes">{scopes}</ul>
  </section>
  <p class="note">After you decide you will be sent back to <code>{return_to}</code>.</p>
  <form method="post" action="/authorize/decision">
    <input type="hidden" name="request_id" value="{request_id}">
    <div class="actions">
      <button type="submit" name="decision" value="deny" class="secondary" data-testid="consent-deny">Deny</button>
      <button type="submit" name="decision" value="approve" class="primary" data-testid="consent-approve" autofocus>Approve</button>
    </div>
  </form>
</main>"#,
        return_to = escape(&return_to),
        request_id = escape(request_id),
    );
    html(
        StatusCode::OK,
        &format!(
            "Authorize {} — {}",
            authorization.client_name, server.options.display_name
        ),
        &body,
    )
}

pub(crate) fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        r#"<main class="card" data-testid="authorization-error">
  {MARK}
  <h1>{title}</h1>
  <p class="lead">{detail}</p>
</main>"#,
        title = escape(title),
        detail = escape(detail),
    );
    html(status, title, &body)
}

/// `/`: what this server is, for a person who opens it in a browser.
pub(crate) async fn landing(State(server): State<Arc<AuthServer>>) -> Response {
    let body = format!(
        r#"<main class="card">
  {MARK}
  <h1>{name}</h1>
  <p class="lead">An MCP server protected by OAuth 2.1, running on this computer for Gatehouse.</p>
  <p class="note">MCP endpoint: <code>{mcp}</code></p>
  <p class="note">Authorization server: <code>{issuer}</code></p>
</main>"#,
        name = escape(&server.options.display_name),
        mcp = escape(&server.resource()),
        issuer = escape(&server.issuer()),
    );
    html(StatusCode::OK, &server.options.display_name, &body)
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        title = escape(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ],
        page,
    )
        .into_response()
}

/// HTML text and attribute escaping.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The Gatehouse mark: an arch with a gate, drawn inline.
const MARK: &str = r#"<svg class="mark" viewBox="0 0 48 48" aria-hidden="true"><rect x="2" y="2" width="44" height="44" rx="12" fill="currentColor" opacity=".12"/><path d="M14 36V22a10 10 0 0 1 20 0v14" fill="none" stroke="currentColor" stroke-width="3" stroke-linecap="round"/><path d="M19 36v-9M24 36v-11M29 36v-9" stroke="currentColor" stroke-width="3" stroke-linecap="round"/></svg>"#;

const STYLE: &str = r#"
:root { color-scheme: light dark; --bg: #f4f5f7; --card: #ffffff; --text: #1c1f24; --muted: #5c6370;
  --line: #e3e5e8; --accent: #3b5bdb; --accent-text: #ffffff; --chip: #eef1f6; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #16181c; --card: #1f2228; --text: #e8eaed; --muted: #a0a6b0; --line: #30343b;
    --accent: #5c7cfa; --chip: #2a2e36; }
}
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
  padding: 24px; background: var(--bg); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif; }
.card { width: 100%; max-width: 440px; background: var(--card); border: 1px solid var(--line);
  border-radius: 14px; padding: 32px; box-shadow: 0 8px 30px rgba(0,0,0,.08); }
.mark { width: 48px; height: 48px; color: var(--accent); display: block; margin-bottom: 16px; }
h1 { font-size: 20px; margin: 0 0 8px; font-weight: 600; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  margin: 24px 0 8px; font-weight: 600; }
.lead { margin: 0; color: var(--text); }
.note { color: var(--muted); font-size: 13px; margin: 20px 0 0; overflow-wrap: anywhere; }
.note code { white-space: nowrap; }
.scopes { list-style: none; padding: 0; margin: 0; border: 1px solid var(--line); border-radius: 10px; }
.scopes li { display: flex; justify-content: space-between; gap: 12px; align-items: center;
  padding: 10px 14px; }
.scopes li + li { border-top: 1px solid var(--line); }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--chip);
  padding: 2px 6px; border-radius: 6px; }
.actions { display: flex; gap: 12px; justify-content: flex-end; margin-top: 28px; }
button { font: inherit; font-weight: 600; padding: 9px 20px; border-radius: 8px; cursor: pointer;
  border: 1px solid var(--line); }
button.secondary { background: transparent; color: var(--text); }
button.primary { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
"#;
