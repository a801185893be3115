//! Dynamic Client Registration (RFC 7591): `/register` turns a client's
//! metadata into a client id, and a secret for confidential clients.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde_json::{Value, json};

use super::options::{ClientAuthMethod, RegisteredClient};
use super::state::{AuthServer, RecordedRegistration, random_token};

pub(crate) async fn register(State(server): State<Arc<AuthServer>>, body: Bytes) -> Response {
    let received: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(target) = &server.options.registration_redirect_to {
        server
            .log
            .lock()
            .unwrap()
            .registrations
            .push(RecordedRegistration {
                body: received,
                client: None,
                error: None,
                redirected_to: Some(target.clone()),
            });
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, target.as_str())],
        )
            .into_response();
    }
    let outcome = if server.options.dcr_supported {
        client_from_metadata(&received).map(|client| match server.options.registered_auth_method {
            Some(method) => RegisteredClient {
                client_secret: (method != ClientAuthMethod::None)
                    .then(|| random_token("secret_", 32)),
                auth_method: method,
                ..client
            },
            None => client,
        })
    } else {
        Err(Refusal::NotSupported)
    };
    let record = RecordedRegistration {
        body: received.clone(),
        client: outcome.as_ref().ok().cloned(),
        error: outcome.as_ref().err().map(|r| r.code().to_owned()),
        redirected_to: None,
    };
    server.log.lock().unwrap().registrations.push(record);
    match outcome {
        Ok(client) => {
            server.store.lock().unwrap().add_client(client.clone());
            (
                StatusCode::CREATED,
                [(header::CACHE_CONTROL, "no-store")],
                Json(registration_response(&received, &client)),
            )
                .into_response()
        }
        Err(refusal) => refusal.into_response(),
    }
}

fn client_from_metadata(metadata: &Value) -> Result<RegisteredClient, Refusal> {
    if !metadata.is_object() {
        return Err(Refusal::Metadata("The body must be a JSON object".into()));
    }
    let redirect_uris: Vec<String> = match &metadata["redirect_uris"] {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| Refusal::RedirectUri("redirect_uris must be strings".into()))?,
        _ => {
            return Err(Refusal::RedirectUri(
                "redirect_uris is required and must not be empty".into(),
            ));
        }
    };
    if let Some(bad) = redirect_uris
        .iter()
        .find(|uri| !acceptable_redirect_uri(uri))
    {
        return Err(Refusal::RedirectUri(format!(
            "{bad} is neither an http loopback URL nor an https URL"
        )));
    }
    let auth_method = match &metadata["token_endpoint_auth_method"] {
        Value::Null => ClientAuthMethod::None,
        Value::String(name) => ClientAuthMethod::parse(name).ok_or_else(|| {
            Refusal::Metadata(format!(
                "token_endpoint_auth_method {name} is not supported"
            ))
        })?,
        _ => {
            return Err(Refusal::Metadata(
                "token_endpoint_auth_method must be a string".into(),
            ));
        }
    };
    let client_secret =
        (auth_method != ClientAuthMethod::None).then(|| random_token("secret_", 32));
    Ok(RegisteredClient {
        client_id: random_token("client_", 16),
        client_secret,
        client_name: metadata["client_name"].as_str().map(str::to_owned),
        redirect_uris,
        auth_method,
    })
}

/// `https`, or `http` on a loopback host (RFC 8252 §7.3); no fragment.
fn acceptable_redirect_uri(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    if url.fragment().is_some() {
        return false;
    }
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

/// The client's metadata as received, with what the server decided.
fn registration_response(received: &Value, client: &RegisteredClient) -> Value {
    let mut response = received.clone();
    let issued_at = super::state::unix_now();
    response["client_id"] = client.client_id.clone().into();
    response["client_id_issued_at"] = issued_at.into();
    response["redirect_uris"] = json!(client.redirect_uris);
    response["token_endpoint_auth_method"] = client.auth_method.as_str().into();
    if response["grant_types"].is_null() {
        response["grant_types"] = json!(["authorization_code", "refresh_token"]);
    }
    if response["response_types"].is_null() {
        response["response_types"] = json!(["code"]);
    }
    if let Some(secret) = &client.client_secret {
        response["client_secret"] = secret.clone().into();
        response["client_secret_expires_at"] = 0.into();
    }
    response
}

enum Refusal {
    NotSupported,
    RedirectUri(String),
    Metadata(String),
}

impl Refusal {
    fn code(&self) -> &'static str {
        match self {
            Self::NotSupported => "not_found",
            Self::RedirectUri(_) => "invalid_redirect_uri",
            Self::Metadata(_) => "invalid_client_metadata",
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, description) = match &self {
            Self::NotSupported => (
                StatusCode::NOT_FOUND,
                "Dynamic client registration is not supported",
            ),
            Self::RedirectUri(why) | Self::Metadata(why) => (StatusCode::BAD_REQUEST, why.as_str()),
        };
        let body = json!({ "error": self.code(), "error_description": description });
        (status, Json(body)).into_response()
    }
}
