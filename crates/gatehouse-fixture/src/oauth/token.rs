//! The token endpoint (RFC 6749 code and refresh grants, PKCE verification,
//! RFC 8707 `resource`) and the revocation endpoint (RFC 7009), with client
//! authentication held to the method each client registered.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, StatusCode, header};
use serde_json::json;

use super::options::{ClientAuthMethod, RegisteredClient};
use super::state::{
    AuthServer, RecordedRevocation, RecordedTokenRequest, RefreshRejection, TokenGrant,
    first_param, repeated_param, s256, token_hash,
};

pub(crate) async fn token(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = form_params(&body);
    let credentials = ClientCredentials::presented(&headers, &params);
    let (proof, refusal) = match super::dpop::token_request_proof(&server, &headers) {
        Ok(proof) => (proof, None),
        Err((code, response)) => (None, Some((code, response))),
    };
    let jkt = proof.map(|p| p.jkt);
    let outcome = match &refusal {
        Some((code, response)) => Err(TokenError {
            status: response.status(),
            code,
            description: String::new(),
            basic_challenge: false,
        }),
        None => exchange(&server, &params, credentials.as_ref(), jkt.as_deref()),
    };
    let record = RecordedTokenRequest {
        received: std::time::Instant::now(),
        grant_type: first_param(&params, "grant_type").map(str::to_owned),
        client_auth: credentials
            .as_ref()
            .ok()
            .and_then(|c| c.as_ref())
            .map(|c| c.method),
        client_id: credentials
            .as_ref()
            .ok()
            .and_then(|c| c.as_ref())
            .map(|c| c.client_id.clone()),
        refresh_token_hash: first_param(&params, "refresh_token").map(token_hash),
        dpop_jkt: jkt.clone(),
        status: match &outcome {
            Ok(_) => 200,
            Err(error) => error.status.as_u16(),
        },
        error: outcome.as_ref().err().map(|e| e.code.to_owned()),
        params,
    };
    server.log.lock().unwrap().token_requests.push(record);
    if let Some((_, response)) = refusal {
        return response;
    }
    match outcome {
        Ok(grant) => {
            if let Some(jkt) = &jkt {
                let mut dpop = server.dpop.lock().unwrap();
                for token in std::iter::once(&grant.access_token).chain(&grant.refresh_token) {
                    dpop.bound.insert(token.clone(), jkt.clone());
                }
            }
            token_response(grant, jkt.is_some())
        }
        Err(error) => error.into_response(),
    }
}

fn exchange(
    server: &AuthServer,
    params: &[(String, String)],
    credentials: Result<&Option<ClientCredentials>, &TokenError>,
    jkt: Option<&str>,
) -> Result<TokenGrant, TokenError> {
    let param = |name: &str| first_param(params, name);
    if let Some(name) = repeated_param(params) {
        return Err(TokenError::request(format!(
            "{name} is given more than once"
        )));
    }
    let grant_type =
        param("grant_type").ok_or_else(|| TokenError::request("grant_type is missing".into()))?;
    if grant_type != "authorization_code"
        && !(grant_type == "refresh_token" && server.options.refresh_tokens_issued)
        && !(grant_type == "client_credentials" && server.options.client_credentials_grant)
        && !(grant_type == JWT_BEARER && server.options.trusted_idp.is_some())
    {
        return Err(TokenError::new(
            "unsupported_grant_type",
            format!("grant_type {grant_type} is not supported"),
        ));
    }
    let client = authenticate(server, credentials.map_err(Clone::clone)?.as_ref())?;
    if grant_type == "authorization_code" {
        exchange_code(server, &client, param)
    } else if grant_type == JWT_BEARER {
        redeem_assertion(server, &client, param)
    } else if grant_type == "client_credentials" {
        if client.client_secret.is_none() {
            return Err(TokenError::new(
                "unauthorized_client",
                "a public client cannot use the client credentials grant".into(),
            ));
        }
        let scopes = super::authorize::granted_scopes(server, param("scope"));
        Ok(server.store.lock().unwrap().grant_to_client(
            &client.client_id,
            scopes,
            param("resource").map(str::to_owned),
            server.access_token_ttl(),
        ))
    } else {
        exchange_refresh_token(server, &client, param, jkt)
    }
}

/// RFC 7523's grant type: here, an identity assertion (ID-JAG) from the
/// trusted identity provider.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Redeems an ID-JAG (SEP-990): issued by the trusted provider for this
/// authorization server, to this (confidential) client, for this resource,
/// not expired and not redeemed before.
fn redeem_assertion<'a>(
    server: &AuthServer,
    client: &RegisteredClient,
    param: impl Fn(&str) -> Option<&'a str>,
) -> Result<TokenGrant, TokenError> {
    if client.client_secret.is_none() {
        return Err(TokenError::client(
            "identity assertions are redeemed by confidential clients".into(),
        ));
    }
    let assertion =
        param("assertion").ok_or_else(|| TokenError::request("assertion is missing".into()))?;
    let trusted = server.options.trusted_idp.as_ref();
    let issued = trusted
        .and_then(|assertions| assertions.redeem(assertion))
        .ok_or_else(|| TokenError::grant("the assertion is unknown or was used".into()))?;
    if issued.expires_at <= super::state::unix_now() {
        return Err(TokenError::grant("the assertion has expired".into()));
    }
    if issued.audience != server.issuer() || issued.client_id != client.client_id {
        return Err(TokenError::grant(
            "the assertion is for another authorization server or client".into(),
        ));
    }
    if issued.resource != server.resource() {
        return Err(TokenError::target(
            "the assertion is for another resource".into(),
        ));
    }
    // What the assertion carries, no more (none: the response names none).
    let scopes = match &issued.scope {
        Some(scope) => scope.split(' ').map(str::to_owned).collect(),
        None => Vec::new(),
    };
    Ok(server.store.lock().unwrap().grant_to_client(
        &client.client_id,
        scopes,
        Some(issued.resource),
        server.access_token_ttl(),
    ))
}

fn exchange_code<'a>(
    server: &AuthServer,
    client: &RegisteredClient,
    param: impl Fn(&str) -> Option<&'a str>,
) -> Result<TokenGrant, TokenError> {
    let code = param("code").ok_or_else(|| TokenError::request("code is missing".into()))?;
    let verifier = param("code_verifier")
        .ok_or_else(|| TokenError::request("PKCE code_verifier is missing".into()))?;
    let mut store = server.store.lock().unwrap();
    let authorization = store
        .spend_code(code, &client.client_id)
        .map_err(|rejection| TokenError::grant(rejection.0))?;
    let redirect_uri = param("redirect_uri");
    let redirect_uri_matches = match redirect_uri {
        Some(uri) => uri == authorization.redirect_uri,
        None => !authorization.redirect_uri_sent,
    };
    if !redirect_uri_matches {
        return Err(TokenError::grant(
            "redirect_uri does not match the authorization request".into(),
        ));
    }
    if !is_code_verifier(verifier) || s256(verifier) != authorization.code_challenge {
        return Err(TokenError::grant(
            "code_verifier does not match the code_challenge".into(),
        ));
    }
    match param("resource") {
        Some(resource) if Some(resource) != authorization.resource.as_deref() => {
            return Err(TokenError::target(format!(
                "resource {resource} is not the one authorized"
            )));
        }
        None if server.options.require_resource => {
            return Err(TokenError::target(format!(
                "resource must be {}",
                server.resource()
            )));
        }
        _ => {}
    }
    Ok(store.grant_from_code(
        code,
        &authorization,
        server.access_token_ttl(),
        server.options.refresh_tokens_issued,
    ))
}

fn exchange_refresh_token<'a>(
    server: &AuthServer,
    client: &RegisteredClient,
    param: impl Fn(&str) -> Option<&'a str>,
    jkt: Option<&str>,
) -> Result<TokenGrant, TokenError> {
    let refresh_token = param("refresh_token")
        .ok_or_else(|| TokenError::request("refresh_token is missing".into()))?;
    // RFC 9449 §5: a bound refresh token needs a proof by its key.
    if let Some(bound) = server.dpop.lock().unwrap().bound.get(refresh_token)
        && Some(bound.as_str()) != jkt
    {
        return Err(TokenError::grant(
            "the refresh token is bound to another DPoP key".into(),
        ));
    }
    if server.refresh_rejected() {
        return Err(TokenError::grant(
            "Refresh is refused by this server".into(),
        ));
    }
    let scopes = param("scope").map(|scope| {
        scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    });
    server
        .store
        .lock()
        .unwrap()
        .refresh(
            refresh_token,
            &client.client_id,
            scopes,
            param("resource"),
            server.access_token_ttl(),
            server.options.rotate_refresh_tokens,
        )
        .map_err(|rejection| match rejection {
            RefreshRejection::Grant(why) => TokenError::grant(why),
            RefreshRejection::Scope(why) => TokenError::new("invalid_scope", why),
            RefreshRejection::Target(why) => TokenError::target(why),
        })
}

fn token_response(grant: TokenGrant, bound: bool) -> Response {
    let ttl = grant.expires_in;
    // Whole seconds, rounded up so a sub-second lifetime is not "0".
    let expires_in = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    let mut body = json!({
        "access_token": grant.access_token,
        "token_type": if bound { "DPoP" } else { "Bearer" },
        "expires_in": expires_in,
    });
    if !grant.scopes.is_empty() {
        body["scope"] = grant.scopes.join(" ").into();
    }
    if let Some(refresh_token) = grant.refresh_token {
        body["refresh_token"] = refresh_token.into();
    }
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

pub(crate) async fn revoke(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = form_params(&body);
    let credentials = match ClientCredentials::presented(&headers, &params) {
        Ok(credentials) => credentials,
        Err(error) => return error.into_response(),
    };
    let client_id = match &credentials {
        Some(presented) => match authenticate(&server, Some(presented)) {
            Ok(client) => Some(client.client_id),
            Err(error) => return error.into_response(),
        },
        None => None,
    };
    let Some(token) = first_param(&params, "token") else {
        return TokenError::request("token is missing".into()).into_response();
    };
    let revoked = server
        .store
        .lock()
        .unwrap()
        .revoke(token, client_id.as_deref());
    server
        .log
        .lock()
        .unwrap()
        .revocations
        .push(RecordedRevocation {
            token_hash: Some(token_hash(token)),
            token_type_hint: first_param(&params, "token_type_hint").map(str::to_owned),
            client_id,
            revoked,
        });
    // RFC 7009 §2.2: unknown tokens are answered 200 as well.
    StatusCode::OK.into_response()
}

/// The client credentials a request presented.
#[derive(Debug)]
struct ClientCredentials {
    method: ClientAuthMethod,
    client_id: String,
    secret: Option<String>,
}

impl ClientCredentials {
    /// Basic header, secret in the body, or a bare `client_id`; `Ok(None)`
    /// when the request does not identify a client.
    fn presented(
        headers: &HeaderMap,
        params: &[(String, String)],
    ) -> Result<Option<Self>, TokenError> {
        let body_id = first_param(params, "client_id");
        let body_secret = first_param(params, "client_secret");
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let (id, secret) = basic_credentials(value.as_bytes()).ok_or_else(|| {
                TokenError::client("The Authorization header is not Basic".into())
            })?;
            if body_secret.is_some() {
                return Err(TokenError::request(
                    "Use one client authentication method, not two".into(),
                ));
            }
            if body_id.is_some_and(|body_id| body_id != id) {
                return Err(TokenError::client(
                    "client_id differs from the Authorization header".into(),
                ));
            }
            return Ok(Some(Self {
                method: ClientAuthMethod::ClientSecretBasic,
                client_id: id,
                secret: Some(secret),
            }));
        }
        Ok(body_id.map(|id| Self {
            method: if body_secret.is_some() {
                ClientAuthMethod::ClientSecretPost
            } else {
                ClientAuthMethod::None
            },
            client_id: id.to_owned(),
            secret: body_secret.map(str::to_owned),
        }))
    }
}

/// The registered client, if `credentials` authenticate it with the
/// method it registered.
fn authenticate(
    server: &AuthServer,
    credentials: Option<&ClientCredentials>,
) -> Result<RegisteredClient, TokenError> {
    let credentials =
        credentials.ok_or_else(|| TokenError::client("The client is not identified".into()))?;
    let client = server
        .store
        .lock()
        .unwrap()
        .client(&credentials.client_id)
        .cloned()
        .ok_or_else(|| {
            TokenError::client(format!("{} is not a known client", credentials.client_id))
        })
        .map_err(|error| error.basic(credentials.method))?;
    if client.auth_method != credentials.method {
        return Err(TokenError::client(format!(
            "This client authenticates with {}, not {}",
            client.auth_method.as_str(),
            credentials.method.as_str()
        ))
        .basic(credentials.method));
    }
    if client.client_secret != credentials.secret {
        return Err(
            TokenError::client("The client secret is wrong".into()).basic(credentials.method)
        );
    }
    Ok(client)
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
pub(crate) fn basic_credentials(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

/// Undoes `application/x-www-form-urlencoded` encoding of one value.
fn form_decode(component: &str) -> String {
    url::form_urlencoded::parse(format!("v={component}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

pub(crate) fn form_params(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// RFC 7636 §4.1: 43–128 unreserved characters.
fn is_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An RFC 6749 §5.2 error response.
#[derive(Debug, Clone)]
struct TokenError {
    status: StatusCode,
    code: &'static str,
    description: String,
    /// Answer `WWW-Authenticate: Basic` (the client tried Basic).
    basic_challenge: bool,
}

impl TokenError {
    fn new(code: &'static str, description: String) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description,
            basic_challenge: false,
        }
    }

    fn request(description: String) -> Self {
        Self::new("invalid_request", description)
    }

    fn grant(description: String) -> Self {
        Self::new("invalid_grant", description)
    }

    fn target(description: String) -> Self {
        Self::new("invalid_target", description)
    }

    fn client(description: String) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            ..Self::new("invalid_client", description)
        }
    }

    fn basic(mut self, method: ClientAuthMethod) -> Self {
        self.basic_challenge = method == ClientAuthMethod::ClientSecretBasic;
        self
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.code, "error_description": self.description }));
        let mut response = (
            self.status,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            body,
        )
            .into_response();
        if self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Basic realm=\"gatehouse-fixture\""),
            );
        }
        response
    }
}
