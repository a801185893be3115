//! Discovery documents: protected resource metadata (RFC 9728) and
//! authorization server metadata (RFC 8414, also served as OpenID Connect
//! discovery), including the hostile variants the options ask for.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::state::AuthServer;

/// Padding that takes a document beyond 1 MiB.
const OVERSIZED_PADDING_BYTES: usize = 1024 * 1024 + 4096;

pub(crate) async fn protected_resource(State(server): State<Arc<AuthServer>>) -> Response {
    let options = &server.options;
    let mut document = json!({
        "resource": options.prm_resource_override.clone().unwrap_or_else(|| server.resource()),
        "authorization_servers": server.authorization_servers(),
        "scopes_supported": options.scopes_supported,
        "bearer_methods_supported": ["header"],
        "resource_name": options.display_name,
    });
    if options.oversized_resource_metadata {
        pad(&mut document);
    }
    Json(document).into_response()
}

pub(crate) async fn authorization_server(State(server): State<Arc<AuthServer>>) -> Response {
    let options = &server.options;
    if let Some(target) = &options.metadata_redirect_to {
        return Redirect::to(target).into_response();
    }
    let endpoint = |path: &str, choice: &Option<String>| {
        choice.clone().unwrap_or_else(|| server.endpoint(path))
    };
    let moved = server.moved_endpoints();
    let mut grant_types = vec!["authorization_code"];
    if options.refresh_tokens_issued {
        grant_types.push("refresh_token");
    }
    if options.client_credentials_grant {
        grant_types.push("client_credentials");
    }
    if options.trusted_idp.is_some() {
        grant_types.push(super::token::JWT_BEARER);
    }
    let mut document = json!({
        "issuer": server.advertised_issuer(),
        "authorization_endpoint": endpoint("/authorize", &options.authorization_endpoint_override),
        "token_endpoint": moved.as_ref().map(|(token, _)| token.clone())
            .unwrap_or_else(|| endpoint("/token", &options.token_endpoint_override)),
        "revocation_endpoint": moved.as_ref().map(|(_, revoke)| revoke.clone())
            .unwrap_or_else(|| endpoint("/revoke", &options.revocation_endpoint_override)),
        "scopes_supported": options.scopes_supported,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grant_types,
        "token_endpoint_auth_methods_supported":
            ["none", "client_secret_post", "client_secret_basic"],
        "revocation_endpoint_auth_methods_supported":
            ["none", "client_secret_post", "client_secret_basic"],
        "authorization_response_iss_parameter_supported": true,
    });
    let fields = document.as_object_mut().expect("a JSON object");
    if options.issuer_omitted {
        fields.remove("issuer");
    }
    if options.dcr_supported || options.registration_endpoint_override.is_some() {
        fields.insert(
            "registration_endpoint".into(),
            endpoint("/register", &options.registration_endpoint_override).into(),
        );
    }
    if options.pkce_advertised {
        fields.insert("code_challenge_methods_supported".into(), json!(["S256"]));
    }
    if options.dpop {
        fields.insert("dpop_signing_alg_values_supported".into(), json!(["ES256"]));
    }
    if options.oversized_metadata {
        pad(&mut document);
    }
    Json(document).into_response()
}

fn pad(document: &mut Value) {
    document["x_fixture_padding"] = "a".repeat(OVERSIZED_PADDING_BYTES).into();
}
