//! A company identity provider on loopback, for enterprise-managed
//! authorization (SEP-990): it issues ID tokens to test subjects and
//! exchanges them (RFC 8693 token exchange) for identity assertions
//! (ID-JAGs), which an [`OAuthFixture`](crate::OAuthFixture) that trusts it
//! ([`OAuthOptions::trusted_idp`](crate::OAuthOptions::trusted_idp)) redeems
//! with the JWT bearer grant (RFC 7523).
//!
//! `http://127.0.0.1:PORT` serves `/.well-known/openid-configuration` and
//! `/token`. Assertions are JWT-shaped with a random signature; the
//! authorization server recognises the ones this provider issued by the
//! [`Assertions`] registry they share, as a real one would by the
//! provider's signing key.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, http::HeaderMap};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::oauth::{basic_credentials, first_param, form_params, random_token, unix_now};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
const ID_JAG_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";

/// Gatehouse's client at the identity provider, and the client the
/// provider names in its assertions (the MCP client's id at the
/// authorization server: the provider knows it, as SEP-990 requires).
#[derive(Debug, Clone)]
pub struct IdpOptions {
    pub client_id: String,
    /// Presented with HTTP Basic; `None` for a public client.
    pub client_secret: Option<String>,
    pub resource_client_id: String,
}

/// An identity assertion the provider issued.
#[derive(Debug, Clone)]
pub struct IssuedAssertion {
    pub issuer: String,
    pub subject: String,
    /// The authorization server it is for (`aud`).
    pub audience: String,
    pub client_id: String,
    pub resource: String,
    pub scope: Option<String>,
    pub expires_at: u64,
}

/// The assertions an identity provider issued, shared with the
/// authorization server that trusts it; each is redeemed once.
#[derive(Debug, Clone, Default)]
pub struct Assertions(Arc<Mutex<HashMap<String, IssuedAssertion>>>);

impl Assertions {
    /// Takes `assertion` if it was issued and not redeemed yet.
    pub(crate) fn redeem(&self, assertion: &str) -> Option<IssuedAssertion> {
        self.0.lock().unwrap().remove(assertion)
    }
}

/// One token exchange request, as received.
#[derive(Debug, Clone)]
pub struct RecordedExchange {
    /// The ID token presented (`subject_token`).
    pub subject_token: Option<String>,
    /// The client that authenticated with HTTP Basic, if any.
    pub basic_client: Option<String>,
    pub audience: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
    pub status: u16,
    pub error: Option<String>,
}

struct Idp {
    options: IdpOptions,
    issuer: String,
    /// ID token → subject.
    id_tokens: Mutex<HashMap<String, String>>,
    revoked: Mutex<HashSet<String>>,
    assertions: Assertions,
    exchanges: Mutex<Vec<RecordedExchange>>,
}

/// A running identity provider.
pub struct IdpFixture {
    idp: Arc<Idp>,
    task: tokio::task::JoinHandle<()>,
}

impl IdpFixture {
    /// Binds a free port on 127.0.0.1 and serves.
    pub async fn start(options: IdpOptions) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let issuer = format!("http://{}", listener.local_addr()?);
        let idp = Arc::new(Idp {
            options,
            issuer,
            id_tokens: Mutex::new(HashMap::new()),
            revoked: Mutex::new(HashSet::new()),
            assertions: Assertions::default(),
            exchanges: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(metadata))
            .route("/token", post(token))
            .with_state(idp.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { idp, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> String {
        self.idp.issuer.clone()
    }

    /// Signs `subject` in: a new ID token for Gatehouse's client.
    pub fn id_token(&self, subject: &str) -> String {
        let token = jwt(
            json!({"alg": "ES256", "typ": "JWT"}),
            json!({
                "iss": self.idp.issuer, "sub": subject, "aud": self.idp.options.client_id,
                "iat": unix_now(), "exp": unix_now() + 3600, "jti": random_token("id_", 8),
            }),
        );
        self.idp
            .id_tokens
            .lock()
            .unwrap()
            .insert(token.clone(), subject.to_owned());
        token
    }

    /// `subject`'s ID tokens are refused from now on (signed out, expired).
    pub fn revoke(&self, subject: &str) {
        self.idp.revoked.lock().unwrap().insert(subject.to_owned());
    }

    /// The registry to give the authorization server that trusts this
    /// provider.
    pub fn assertions(&self) -> Assertions {
        self.idp.assertions.clone()
    }

    /// Every token exchange request so far, oldest first.
    pub fn exchanges(&self) -> Vec<RecordedExchange> {
        self.idp.exchanges.lock().unwrap().clone()
    }
}

impl Drop for IdpFixture {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A compact JWT with a random signature.
fn jwt(header: Value, claims: Value) -> String {
    let part = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let signature = URL_SAFE_NO_PAD.encode(random_token("", 32));
    format!("{}.{}.{signature}", part(&header), part(&claims))
}

async fn metadata(State(idp): State<Arc<Idp>>) -> Response {
    Json(json!({
        "issuer": idp.issuer,
        "authorization_endpoint": format!("{}/authorize", idp.issuer),
        "token_endpoint": format!("{}/token", idp.issuer),
        "jwks_uri": format!("{}/jwks", idp.issuer),
        "grant_types_supported": [TOKEN_EXCHANGE],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
    }))
    .into_response()
}

/// The client named by `Authorization: Basic`: `Some(None)` when there is
/// no such header, `None` when its credentials are wrong.
fn basic_client(idp: &Idp, headers: &HeaderMap) -> Option<Option<String>> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Some(None);
    };
    let (id, secret) = basic_credentials(value.as_bytes())?;
    (id == idp.options.client_id && Some(&secret) == idp.options.client_secret.as_ref())
        .then_some(Some(id))
}

async fn token(State(idp): State<Arc<Idp>>, headers: HeaderMap, body: Bytes) -> Response {
    let params = form_params(&body);
    let basic = basic_client(&idp, &headers);
    let outcome = exchange(&idp, &params, basic.as_ref());
    idp.exchanges.lock().unwrap().push(RecordedExchange {
        subject_token: first_param(&params, "subject_token").map(str::to_owned),
        basic_client: basic.flatten(),
        audience: first_param(&params, "audience").map(str::to_owned),
        resource: first_param(&params, "resource").map(str::to_owned),
        scope: first_param(&params, "scope").map(str::to_owned),
        status: match &outcome {
            Ok(_) => 200,
            Err((status, _)) => status.as_u16(),
        },
        error: outcome.as_ref().err().map(|(_, code)| (*code).to_owned()),
    });
    match outcome {
        Ok(answer) => Json(answer).into_response(),
        Err((status, code)) => (status, Json(json!({"error": code}))).into_response(),
    }
}

fn exchange(
    idp: &Idp,
    params: &[(String, String)],
    basic: Option<&Option<String>>,
) -> Result<Value, (StatusCode, &'static str)> {
    let refuse = |code| Err((StatusCode::BAD_REQUEST, code));
    // The client: Basic with the right secret, or public by its id.
    match (basic, &idp.options.client_secret) {
        (None, _) => return Err((StatusCode::UNAUTHORIZED, "invalid_client")),
        (Some(None), Some(_)) => return Err((StatusCode::UNAUTHORIZED, "invalid_client")),
        (Some(None), None) if first_param(params, "client_id") != Some(&idp.options.client_id) => {
            return Err((StatusCode::UNAUTHORIZED, "invalid_client"));
        }
        _ => {}
    }
    let param = |name: &str| first_param(params, name);
    if param("grant_type") != Some(TOKEN_EXCHANGE) {
        return refuse("unsupported_grant_type");
    }
    if param("subject_token_type") != Some(ID_TOKEN_TYPE)
        || param("requested_token_type") != Some(ID_JAG_TYPE)
    {
        return refuse("invalid_request");
    }
    let (Some(subject_token), Some(audience), Some(resource)) =
        (param("subject_token"), param("audience"), param("resource"))
    else {
        return refuse("invalid_request");
    };
    let subject = idp.id_tokens.lock().unwrap().get(subject_token).cloned();
    let Some(subject) = subject.filter(|s| !idp.revoked.lock().unwrap().contains(s)) else {
        return refuse("invalid_grant");
    };
    let scope = param("scope").map(str::to_owned);
    let expires_at = unix_now() + 300;
    let mut claims = json!({
        "iss": idp.issuer, "sub": subject, "aud": audience,
        "client_id": idp.options.resource_client_id, "resource": resource,
        "jti": random_token("jag_", 8), "iat": unix_now(), "exp": expires_at,
    });
    if let Some(scope) = &scope {
        claims["scope"] = scope.clone().into();
    }
    let assertion = jwt(json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"}), claims);
    idp.assertions.0.lock().unwrap().insert(
        assertion.clone(),
        IssuedAssertion {
            issuer: idp.issuer.clone(),
            subject,
            audience: audience.to_owned(),
            client_id: idp.options.resource_client_id.clone(),
            resource: resource.to_owned(),
            scope: scope.clone(),
            expires_at,
        },
    );
    let mut answer = json!({
        "access_token": assertion,
        "issued_token_type": ID_JAG_TYPE,
        "token_type": "N_A",
        "expires_in": 300,
    });
    if let Some(scope) = scope {
        answer["scope"] = scope.into();
    }
    Ok(answer)
}
