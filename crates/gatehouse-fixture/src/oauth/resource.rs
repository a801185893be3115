//! The MCP endpoint as an OAuth protected resource (RFC 6750, RFC 9728):
//! the access check the MCP gate runs on every request, answering 401 with
//! a challenge that points at the resource metadata, and 403
//! `insufficient_scope` when a tool needs a scope the token lacks. A token
//! bound to a DPoP key is let in only with its proof ([`super::dpop`]).

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};

use super::state::AuthServer;
use crate::mcp::{Access, GatedRequest};

/// The gate for `/mcp`: a valid bearer token, and for a tool call the
/// scope that tool needs.
#[expect(
    clippy::result_large_err,
    reason = "a refusal is the HTTP response itself, as the gate's CallCheck takes it"
)]
pub(crate) fn bearer_gate(server: Arc<AuthServer>) -> Access {
    Access::CustomCall(Arc::new(move |request| admit(&server, request)))
}

#[expect(
    clippy::result_large_err,
    reason = "a refusal is the HTTP response itself, as the gate's CallCheck takes it"
)]
fn admit(server: &AuthServer, request: &GatedRequest<'_>) -> Result<(), Response> {
    let Some((scheme, token)) = presented_token(request.headers) else {
        return Err(challenge(server, Challenge::Missing));
    };
    let bound = server.dpop.lock().unwrap().bound.get(token).cloned();
    match (bound, scheme.eq_ignore_ascii_case("dpop")) {
        (Some(jkt), true) => {
            super::dpop::admit_bound(server, request.method, request.headers, token, &jkt)?;
        }
        (Some(_), false) => {
            return Err(challenge(
                server,
                Challenge::InvalidToken("the token is bound to a DPoP key"),
            ));
        }
        (None, true) => {
            return Err(challenge(
                server,
                Challenge::InvalidToken("the token is not bound to a DPoP key"),
            ));
        }
        (None, false) => {}
    }
    let scopes = server
        .presented_token_scopes(token)
        .map_err(|why| challenge(server, Challenge::InvalidToken(why.describe())))?;
    let missing: Vec<&String> = request
        .calls
        .iter()
        .filter_map(|call| call.called_tool())
        .filter_map(|tool| server.options.tool_scopes.get(tool))
        .filter(|needed| !scopes.contains(needed))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut needed = scopes.clone();
    for scope in missing {
        if !needed.contains(scope) {
            needed.push(scope.clone());
        }
    }
    Err(challenge(server, Challenge::InsufficientScope(needed)))
}

/// A Bearer or DPoP token (RFC 6750 §2.1, RFC 9449 §7.1) and its scheme.
fn presented_token(headers: &HeaderMap) -> Option<(&str, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop");
    (known && !token.is_empty()).then_some((scheme, token))
}

enum Challenge {
    /// No token: 401 without an error code (RFC 6750 §3.1).
    Missing,
    InvalidToken(&'static str),
    /// Every scope the call needs, the token's own included.
    InsufficientScope(Vec<String>),
}

fn challenge(server: &AuthServer, challenge: Challenge) -> Response {
    let options = &server.options;
    let mut params: Vec<(&str, String)> = Vec::new();
    let status = match &challenge {
        Challenge::Missing => StatusCode::UNAUTHORIZED,
        Challenge::InvalidToken(why) => {
            params.push(("error", "invalid_token".into()));
            params.push(("error_description", (*why).into()));
            StatusCode::UNAUTHORIZED
        }
        Challenge::InsufficientScope(needed) => {
            params.push(("error", "insufficient_scope".into()));
            params.push(("scope", needed.join(" ")));
            StatusCode::FORBIDDEN
        }
    };
    if options.resource_metadata_in_challenge {
        params.push(("resource_metadata", server.prm_url()));
    }
    if !matches!(challenge, Challenge::InsufficientScope(_))
        && options.scope_in_challenge
        && !options.default_scopes.is_empty()
    {
        params.push(("scope", options.default_scopes.join(" ")));
    }
    let value = params
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", value.replace(['"', '\\'], "")))
        .collect::<Vec<_>>()
        .join(", ");
    let value = if value.is_empty() {
        "Bearer".to_owned()
    } else {
        format!("Bearer {value}")
    };
    let message = match &challenge {
        Challenge::Missing => "authorization required",
        Challenge::InvalidToken(why) => why,
        Challenge::InsufficientScope(_) => "insufficient scope",
    };
    (
        status,
        [(header::WWW_AUTHENTICATE, value)],
        message.to_owned(),
    )
        .into_response()
}
