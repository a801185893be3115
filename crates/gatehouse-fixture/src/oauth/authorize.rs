//! The authorization endpoint: validates a request against the client's
//! registration (exact redirect URI, PKCE S256, `resource`), then approves,
//! denies or asks the person on the consent page, and sends the browser back
//! to the client with a code or an error, `state` and `iss` (RFC 9207).

use std::sync::Arc;

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde::Deserialize;

use super::consent_page;
use super::options::{ConsentMode, IssMode, WRONG_ISSUER};
use super::state::{AuthServer, Authorization, RecordedAuthorization, first_param, repeated_param};

pub(crate) async fn authorize(
    State(server): State<Arc<AuthServer>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let record = {
        let mut log = server.log.lock().unwrap();
        log.authorizations.push(RecordedAuthorization {
            params: params.clone(),
            error: None,
        });
        log.authorizations.len() - 1
    };
    let (error, response) = match validate(&server, &params) {
        Err(refusal) => (Some(refusal.code()), refusal.respond(&server)),
        Ok(authorization) => match server.consent_mode() {
            ConsentMode::AutoApprove => (None, approve(&server, authorization)),
            ConsentMode::Deny => (Some("access_denied"), deny(&server, authorization)),
            ConsentMode::Page => {
                let request_id = server
                    .store
                    .lock()
                    .unwrap()
                    .await_consent(authorization.clone(), record);
                (
                    None,
                    consent_page::render(&server, &authorization, &request_id),
                )
            }
        },
    };
    if let Some(error) = error {
        server.log.lock().unwrap().authorizations[record].error = Some(error.to_owned());
    }
    response
}

/// The consent page's form.
#[derive(Debug, Deserialize)]
pub(crate) struct ConsentDecision {
    request_id: String,
    decision: String,
}

pub(crate) async fn decide(
    State(server): State<Arc<AuthServer>>,
    Form(form): Form<ConsentDecision>,
) -> Response {
    let pending = server.store.lock().unwrap().take_consent(&form.request_id);
    let Some((authorization, record)) = pending else {
        return consent_page::error_page(
            StatusCode::BAD_REQUEST,
            "This request is no longer valid",
            "It was already answered or never existed. Start the authorization again from the app.",
        );
    };
    if form.decision == "approve" {
        approve(&server, authorization)
    } else {
        server.log.lock().unwrap().authorizations[record].error = Some("access_denied".into());
        deny(&server, authorization)
    }
}

fn approve(server: &AuthServer, authorization: Authorization) -> Response {
    let redirect_uri = authorization.redirect_uri.clone();
    let state = authorization.state.clone();
    let code = server
        .store
        .lock()
        .unwrap()
        .issue_code(authorization, server.options.authorization_code_ttl);
    redirect_back(server, &redirect_uri, &[("code", &code)], state.as_deref())
}

fn deny(server: &AuthServer, authorization: Authorization) -> Response {
    redirect_back(
        server,
        &authorization.redirect_uri,
        &[
            ("error", "access_denied"),
            ("error_description", "The person denied access"),
        ],
        authorization.state.as_deref(),
    )
}

/// 302 to the client's redirect URI with `fields`, `state` and `iss`.
fn redirect_back(
    server: &AuthServer,
    redirect_uri: &str,
    fields: &[(&str, &str)],
    state: Option<&str>,
) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return consent_page::error_page(
            StatusCode::BAD_REQUEST,
            "The app's redirect address is not valid",
            "The authorization cannot be completed.",
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in fields {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        match server.options.iss_in_redirect {
            IssMode::Correct => {
                query.append_pair("iss", &server.advertised_issuer());
            }
            IssMode::Wrong => {
                query.append_pair("iss", WRONG_ISSUER);
            }
            IssMode::Omit => {}
        }
    }
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, url.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// Why `/authorize` refused a request.
enum Refusal {
    /// The client or redirect URI cannot be trusted: shown to the person,
    /// never redirected (RFC 6749 §4.1.2.1).
    Shown { code: &'static str, why: String },
    /// Sent back to the (validated) redirect URI.
    Redirected {
        redirect_uri: String,
        state: Option<String>,
        code: &'static str,
        why: String,
    },
}

impl Refusal {
    fn code(&self) -> &'static str {
        match self {
            Self::Shown { code, .. } | Self::Redirected { code, .. } => code,
        }
    }

    fn respond(self, server: &AuthServer) -> Response {
        match self {
            Self::Shown { why, .. } => consent_page::error_page(
                StatusCode::BAD_REQUEST,
                "This authorization request is not valid",
                &why,
            ),
            Self::Redirected {
                redirect_uri,
                state,
                code,
                why,
            } => redirect_back(
                server,
                &redirect_uri,
                &[("error", code), ("error_description", &why)],
                state.as_deref(),
            ),
        }
    }
}

fn validate(server: &AuthServer, params: &[(String, String)]) -> Result<Authorization, Refusal> {
    let param = |name: &str| first_param(params, name);
    let shown = |code, why: String| Refusal::Shown { code, why };

    let client_id = param("client_id")
        .ok_or_else(|| shown("invalid_request", "client_id is missing".into()))?;
    let client = server
        .store
        .lock()
        .unwrap()
        .client(client_id)
        .cloned()
        .ok_or_else(|| {
            shown(
                "invalid_client",
                format!("No client is registered as {client_id}"),
            )
        })?;
    let redirect_uri = match param("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|known| known == uri) => uri.to_owned(),
        Some(uri) => {
            return Err(shown(
                "invalid_request",
                format!("{uri} is not a redirect URI registered for this client"),
            ));
        }
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => return Err(shown("invalid_request", "redirect_uri is missing".into())),
        },
    };

    let state = param("state").map(str::to_owned);
    let redirected = |code, why: String| Refusal::Redirected {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        code,
        why,
    };
    if let Some(name) = repeated_param(params) {
        return Err(redirected(
            "invalid_request",
            format!("{name} is given more than once"),
        ));
    }
    match param("response_type") {
        Some("code") => {}
        Some(other) => {
            return Err(redirected(
                "unsupported_response_type",
                format!("response_type {other} is not supported; use code"),
            ));
        }
        None => {
            return Err(redirected(
                "invalid_request",
                "response_type is missing".into(),
            ));
        }
    }
    let code_challenge = param("code_challenge")
        .ok_or_else(|| redirected("invalid_request", "PKCE code_challenge is required".into()))?;
    if param("code_challenge_method") != Some("S256") {
        return Err(redirected(
            "invalid_request",
            "code_challenge_method must be S256".into(),
        ));
    }
    if !is_s256_challenge(code_challenge) {
        return Err(redirected(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 value".into(),
        ));
    }
    let resources: Vec<&str> = params
        .iter()
        .filter(|(name, _)| name == "resource")
        .map(|(_, value)| value.as_str())
        .collect();
    if server.options.require_resource && resources != [server.resource().as_str()] {
        return Err(redirected(
            "invalid_target",
            format!("resource must be {}", server.resource()),
        ));
    }
    Ok(Authorization {
        client_name: client
            .client_name
            .clone()
            .unwrap_or_else(|| client.client_id.clone()),
        client_id: client.client_id,
        redirect_uri: redirect_uri.clone(),
        redirect_uri_sent: param("redirect_uri").is_some(),
        state: state.clone(),
        code_challenge: code_challenge.to_owned(),
        scopes: granted_scopes(server, param("scope")),
        resource: resources.first().map(|r| (*r).to_owned()),
    })
}

/// The requested scopes this server knows, in the order asked; the default
/// scopes when none is asked for or known.
pub(crate) fn granted_scopes(server: &AuthServer, requested: Option<&str>) -> Vec<String> {
    let mut granted: Vec<String> = Vec::new();
    for scope in requested.unwrap_or_default().split(' ') {
        let known = server.options.scopes_supported.iter().any(|s| s == scope);
        if known && !granted.iter().any(|g| g == scope) {
            granted.push(scope.to_owned());
        }
    }
    if granted.is_empty() {
        server.options.default_scopes.clone()
    } else {
        granted
    }
}

/// 43 base64url characters: the encoding of a 32-byte SHA-256 digest.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
