//! The demo's authorization server and the bearer check in front of its MCP
//! endpoint. Everything is kept in memory in one [`Auth`]: registered
//! clients, consent requests waiting for the person, codes, and tokens.
//!
//! `/.well-known/oauth-protected-resource[/mcp]` and
//! `/.well-known/oauth-authorization-server` (also as OpenID discovery)
//! describe it; `/register` registers a client (public, loopback redirect
//! URIs only); `/authorize` shows the consent page and
//! `/authorize/decision` sends the browser back; `/token` exchanges a code
//! (PKCE S256 checked) or rotates a refresh token; `/revoke` forgets one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, Request, State};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// How long an access token lives.
const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(3600);
/// How long a consent page or a code stays usable.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// The most clients, consents or grants kept; the oldest go first.
const MAX_ENTRIES: usize = 256;
const SCOPE: &str = "mcp:tools";

/// The authorization server's memory, shared with the MCP gate.
#[derive(Clone)]
pub(crate) struct Auth {
    origin: String,
    store: Arc<Mutex<Store>>,
}

/// The gate in front of `/mcp`.
pub(crate) type Gate = Auth;

#[derive(Default)]
struct Store {
    /// client_id → (name, redirect URIs)
    clients: HashMap<String, (String, Vec<String>)>,
    /// consent request id → the authorization asked for
    consents: HashMap<String, Pending>,
    /// code → the authorization approved
    codes: HashMap<String, Pending>,
    /// access token → its expiry
    access: HashMap<String, Instant>,
    /// refresh token → client_id
    refresh: HashMap<String, String>,
}

#[derive(Clone)]
struct Pending {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    created: Instant,
}

impl Auth {
    pub(crate) fn new(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            store: Arc::default(),
        }
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// An access and a refresh token for `client_id`, as the token
    /// endpoint answers.
    fn issue(&self, client_id: &str) -> Response {
        let access = random_token("demo_at_");
        let refresh = random_token("demo_rt_");
        let mut store = self.store();
        let now = Instant::now();
        store.access.retain(|_, expiry| *expiry > now);
        bounded(&mut store.refresh);
        store.access.insert(access.clone(), now + ACCESS_TOKEN_TTL);
        store.refresh.insert(refresh.clone(), client_id.to_owned());
        Json(json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL.as_secs(),
            "refresh_token": refresh,
            "scope": SCOPE,
        }))
        .into_response()
    }
}

pub(crate) fn routes(auth: Auth) -> Router {
    Router::new()
        .route("/", get(landing))
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(protected_resource),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            get(protected_resource),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(authorization_server),
        )
        .route(
            "/.well-known/openid-configuration",
            get(authorization_server),
        )
        .route("/register", post(register))
        .route("/authorize", get(authorize))
        .route("/authorize/decision", post(decide))
        .route("/token", post(token))
        .route("/revoke", post(revoke))
        .with_state(auth)
}

/// Lets a request to `/mcp` through with a live access token; otherwise
/// 401 with a challenge that points at the resource metadata.
pub(crate) async fn admit(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let valid = presented.as_ref().is_some_and(|token| {
        auth.store()
            .access
            .get(token)
            .is_some_and(|expiry| *expiry > Instant::now())
    });
    if valid {
        return next.run(request).await;
    }
    let metadata = auth.url("/.well-known/oauth-protected-resource/mcp");
    let challenge = match presented {
        None => format!("Bearer resource_metadata=\"{metadata}\""),
        Some(_) => format!(
            "Bearer error=\"invalid_token\", error_description=\"the token is unknown or expired\", resource_metadata=\"{metadata}\""
        ),
    };
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
        "authorization required",
    )
        .into_response()
}

async fn protected_resource(State(auth): State<Auth>) -> Response {
    Json(json!({
        "resource": auth.url("/mcp"),
        "authorization_servers": [auth.origin],
        "scopes_supported": [SCOPE],
        "bearer_methods_supported": ["header"],
        "resource_name": "Gatehouse demo server",
    }))
    .into_response()
}

async fn authorization_server(State(auth): State<Auth>) -> Response {
    Json(json!({
        "issuer": auth.origin,
        "authorization_endpoint": auth.url("/authorize"),
        "token_endpoint": auth.url("/token"),
        "registration_endpoint": auth.url("/register"),
        "revocation_endpoint": auth.url("/revoke"),
        "scopes_supported": [SCOPE],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct Registration {
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
}

async fn register(State(auth): State<Auth>, Json(request): Json<Registration>) -> Response {
    let loopback = |uri: &String| {
        url::Url::parse(uri).is_ok_and(|u| {
            u.scheme() == "http"
                && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        })
    };
    if request.redirect_uris.is_empty() || !request.redirect_uris.iter().all(loopback) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "the demo server sends the browser back to loopback addresses only",
        );
    }
    let client_id = random_token("demo_client_");
    let name = request
        .client_name
        .unwrap_or_else(|| "An MCP client".into())
        .chars()
        .take(80)
        .collect::<String>();
    let mut store = auth.store();
    bounded(&mut store.clients);
    store.clients.insert(
        client_id.clone(),
        (name.clone(), request.redirect_uris.clone()),
    );
    (
        StatusCode::CREATED,
        Json(json!({
            "client_id": client_id,
            "client_name": name,
            "redirect_uris": request.redirect_uris,
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn authorize(State(auth): State<Auth>, Query(query): Query<AuthorizeQuery>) -> Response {
    let client = query
        .client_id
        .as_ref()
        .and_then(|id| auth.store().clients.get(id).cloned());
    let Some((client_name, redirect_uris)) = client else {
        return page(
            StatusCode::BAD_REQUEST,
            "Unknown client",
            "<p>This authorization request names a client the demo server does not know. Start again from Gatehouse.</p>",
        );
    };
    let Some(redirect_uri) = query.redirect_uri.filter(|uri| redirect_uris.contains(uri)) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Wrong return address",
            "<p>This request asks to send you back somewhere the client did not register. Start again from Gatehouse.</p>",
        );
    };
    let pkce = query.code_challenge_method.as_deref() == Some("S256");
    let (Some(code_challenge), true, Some("code")) =
        (query.code_challenge, pkce, query.response_type.as_deref())
    else {
        return back(
            &auth,
            &redirect_uri,
            &[("error", "invalid_request")],
            query.state.as_deref(),
        );
    };
    let id = random_token("demo_consent_");
    let mut store = auth.store();
    bounded(&mut store.consents);
    store.consents.insert(
        id.clone(),
        Pending {
            client_id: query.client_id.unwrap_or_default(),
            redirect_uri,
            state: query.state,
            code_challenge,
            created: Instant::now(),
        },
    );
    let body = format!(
        r#"<p><strong data-testid="consent-client">{client}</strong> wants to use the tools of the <strong>Gatehouse demo server</strong>.</p>
<p class="note">This server runs inside Gatehouse on your computer; nothing leaves it.</p>
<form method="post" action="/authorize/decision">
  <input type="hidden" name="request_id" value="{id}">
  <button type="submit" name="decision" value="deny" data-testid="consent-deny">Deny</button>
  <button type="submit" name="decision" value="approve" data-testid="consent-approve" autofocus>Approve</button>
</form>"#,
        client = escape(&client_name),
    );
    page(StatusCode::OK, "Authorize Gatehouse", &body)
}

#[derive(Deserialize)]
struct Decision {
    request_id: String,
    decision: String,
}

async fn decide(State(auth): State<Auth>, Form(form): Form<Decision>) -> Response {
    let pending = auth.store().consents.remove(&form.request_id);
    let Some(pending) = pending.filter(|p| p.created.elapsed() < PENDING_TTL) else {
        return page(
            StatusCode::BAD_REQUEST,
            "This request has expired",
            "<p>Start the authorization again from Gatehouse.</p>",
        );
    };
    if form.decision != "approve" {
        return back(
            &auth,
            &pending.redirect_uri,
            &[("error", "access_denied")],
            pending.state.as_deref(),
        );
    }
    let code = random_token("demo_code_");
    let mut store = auth.store();
    bounded(&mut store.codes);
    store.codes.insert(code.clone(), pending.clone());
    drop(store);
    back(
        &auth,
        &pending.redirect_uri,
        &[("code", &code)],
        pending.state.as_deref(),
    )
}

async fn token(State(auth): State<Auth>, Form(form): Form<HashMap<String, String>>) -> Response {
    let param = |name: &str| form.get(name).map(String::as_str);
    match param("grant_type") {
        Some("authorization_code") => {
            let pending = param("code").and_then(|code| auth.store().codes.remove(code));
            let Some(pending) = pending.filter(|p| p.created.elapsed() < PENDING_TTL) else {
                return invalid_grant("the code is unknown, used or expired");
            };
            let verifier_matches = param("code_verifier").is_some_and(|verifier| {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
                    == pending.code_challenge
            });
            if param("client_id") != Some(pending.client_id.as_str())
                || param("redirect_uri") != Some(pending.redirect_uri.as_str())
                || !verifier_matches
            {
                return invalid_grant("the code was issued for another client or verifier");
            }
            auth.issue(&pending.client_id)
        }
        Some("refresh_token") => {
            let client = param("refresh_token").and_then(|t| auth.store().refresh.remove(t));
            match client {
                Some(client) if param("client_id").is_none_or(|id| id == client) => {
                    auth.issue(&client)
                }
                _ => invalid_grant("the refresh token is unknown or was replaced"),
            }
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "authorization_code and refresh_token only",
        ),
    }
}

async fn revoke(State(auth): State<Auth>, Form(form): Form<HashMap<String, String>>) -> Response {
    if let Some(token) = form.get("token") {
        let mut store = auth.store();
        store.access.remove(token);
        store.refresh.remove(token);
    }
    StatusCode::OK.into_response()
}

async fn landing() -> Response {
    page(
        StatusCode::OK,
        "Gatehouse demo server",
        "<p>This is the demo MCP server that Gatehouse runs on your computer. Add it from Gatehouse with “Try the demo server”.</p>",
    )
}

/// The browser sent back to the client with `params`, `state` and `iss`.
fn back(auth: &Auth, redirect_uri: &str, params: &[(&str, &str)], state: Option<&str>) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return page(StatusCode::BAD_REQUEST, "Wrong return address", "");
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &auth.origin);
    }
    Redirect::to(url.as_str()).into_response()
}

fn invalid_grant(why: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// A self-contained page: inline CSS, no scripts, nothing loaded from elsewhere.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2933}}
button{{font:inherit;padding:.5rem 1.2rem;margin-right:.5rem;border-radius:6px;border:1px solid #9aa5b1;background:#fff}}
button[value=approve]{{background:#2563eb;border-color:#2563eb;color:#fff}}.note{{color:#52606d;font-size:13px}}</style>
</head><body><main><h1>{title}</h1>{body}</main></body></html>"#,
        title = escape(title),
    );
    (
        status,
        [
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        Html(html),
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Keeps a map under [`MAX_ENTRIES`] by dropping arbitrary old entries: a
/// loopback demo, but nothing a local program sends grows it without end.
fn bounded<V>(map: &mut HashMap<String, V>) {
    while map.len() >= MAX_ENTRIES {
        let Some(key) = map.keys().next().cloned() else {
            return;
        };
        map.remove(&key);
    }
}

fn random_token(prefix: &str) -> String {
    let mut buffer = [0u8; 32];
    rand::fill(&mut buffer[..]);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(buffer))
}
