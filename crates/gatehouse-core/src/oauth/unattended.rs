//! Tokens without a person: the client credentials grant (a client secret,
//! or a JWT signed with the client's private key — rmcp's
//! `ClientCredentialsConfig`) and the JWT bearer grant of workload identity
//! federation (RFC 7523 §2.1: the workload's identity token, read from the
//! file its platform keeps fresh, is the assertion; rmcp has no such grant,
//! so the token request is made here, through the same policy-checked
//! client as every other OAuth request).
//!
//! Both run on a flow's own manager after discovery, exactly where the
//! browser flow would start: the same issuer checks, the same pinning of a
//! configured client to its authorization server (see `authorizer`).

use oauth2::ClientSecret;
use oauth2::TokenResponse as _;
use rmcp::transport::auth::enterprise::{
    EmaAuthorizationServer, EmaClientAuthentication, EmaError, EmaExchangeRequest, EmaExchangeStage,
};
use rmcp::transport::auth::{
    AuthError, AuthorizationManager, AuthorizationMetadata, ClientCredentialsConfig,
    CredentialStore as _, JwtSigningAlgorithm, OAuthTokenResponse, StoredCredentials,
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::http::SafeOAuthHttp;
use super::store::{PendingCredentials, now};
use super::{AuthorizationError, short};
use crate::config::{KeyAlgorithm, OAuthGrant};

/// What the client presents in an unattended grant.
pub(crate) enum Credential {
    Secret(SecretString),
    Key(SecretString, KeyAlgorithm),
    /// The workload's identity token, as read from its file.
    Assertion(SecretString),
    /// The person's ID token, exchanged at the company identity provider.
    Enterprise(Box<Enterprise>),
}

/// Enterprise-managed authorization's settings, resolved.
pub(crate) struct Enterprise {
    /// The person's ID token from the identity provider (its file's text).
    pub(crate) id_token: SecretString,
    pub(crate) idp_issuer: String,
    pub(crate) idp_client_id: String,
    pub(crate) idp_client_secret: Option<SecretString>,
    /// The client's secret at the authorization server.
    pub(crate) client_secret: Option<SecretString>,
}

/// One unattended token request.
pub(crate) struct Request<'a> {
    pub(crate) grant: OAuthGrant,
    pub(crate) client_id: &'a str,
    pub(crate) credential: Credential,
    pub(crate) scopes: &'a [String],
    /// The MCP server (RFC 8707 `resource`).
    pub(crate) resource: &'a Url,
}

/// Obtains tokens with `request` from the authorization server `manager`
/// was discovered for; they land in `obtained`. The manager comes back
/// configured for the client.
pub(crate) async fn obtain(
    mut manager: AuthorizationManager,
    http: &SafeOAuthHttp,
    metadata: &AuthorizationMetadata,
    obtained: &PendingCredentials,
    request: Request<'_>,
) -> Result<AuthorizationManager, AuthorizationError> {
    let Request {
        grant,
        client_id,
        credential,
        scopes,
        resource,
    } = request;
    let offered = super::discovery::grant_types(metadata);
    if let Some(offered) = &offered
        && !offered.iter().any(|g| g == grant.grant_type())
    {
        return Err(AuthorizationError::GrantUnsupported {
            grant: grant.grant_type().into(),
            offered: offered.join(", "),
        });
    }
    let config = match credential {
        Credential::Secret(secret) => ClientCredentialsConfig::ClientSecret {
            client_id: client_id.to_owned(),
            client_secret: secret.expose_secret().to_owned(),
            scopes: scopes.to_vec(),
            resource: Some(resource.to_string()),
        },
        Credential::Key(pem, algorithm) => ClientCredentialsConfig::PrivateKeyJwt {
            client_id: client_id.to_owned(),
            signing_key: pem.expose_secret().as_bytes().to_vec(),
            signing_algorithm: signing_algorithm(algorithm),
            token_endpoint_audience: None,
            scopes: scopes.to_vec(),
            resource: Some(resource.to_string()),
        },
        Credential::Assertion(assertion) => {
            let credentials =
                jwt_bearer(http, metadata, client_id, &assertion, scopes, resource).await?;
            return keep(obtained, credentials, manager).await;
        }
        Credential::Enterprise(enterprise) => {
            let credentials =
                exchange_id_token(http, metadata, client_id, *enterprise, scopes, resource).await?;
            return keep(obtained, credentials, manager).await;
        }
    };
    manager
        .validate_client_credentials_metadata(&config)
        .and_then(|()| manager.configure_client_credentials(&config))
        .map_err(unattended_error)?;
    let (manager, exchanged) = exchange_client_credentials(manager, config).await?;
    let credentials = exchanged.map_err(unattended_error)?;
    // rmcp saved them in the flow's store already; the grant keeps what
    // was asked for when the server names no scopes.
    if credentials.scopes().is_none() {
        let mut saved = obtained.take().ok_or_else(|| {
            AuthorizationError::Unattended("no tokens came with the answer".into())
        })?;
        saved.granted_scopes = scopes.to_vec();
        obtained
            .save(saved)
            .await
            .map_err(AuthorizationError::from_auth)?;
    }
    Ok(manager)
}

/// Tokens obtained by a request of our own, kept where rmcp's would be.
async fn keep(
    obtained: &PendingCredentials,
    credentials: StoredCredentials,
    manager: AuthorizationManager,
) -> Result<AuthorizationManager, AuthorizationError> {
    obtained
        .save(credentials)
        .await
        .map_err(AuthorizationError::from_auth)?;
    Ok(manager)
}

/// rmcp's `exchange_client_credentials`, whose future is not `Send` (its
/// private-key JWT request keeps a form serializer across an await): run
/// to completion on a blocking thread, on this runtime.
async fn exchange_client_credentials(
    manager: AuthorizationManager,
    config: ClientCredentialsConfig,
) -> Result<(AuthorizationManager, Result<OAuthTokenResponse, AuthError>), AuthorizationError> {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let exchanged = runtime.block_on(manager.exchange_client_credentials(&config));
        (manager, exchanged)
    })
    .await
    .map_err(|e| AuthorizationError::Unattended(e.to_string()))
}

/// The RFC 7523 §2.1 token request: the workload's identity token as the
/// assertion, the client named by `client_id` (it has no secret).
async fn jwt_bearer(
    http: &SafeOAuthHttp,
    metadata: &AuthorizationMetadata,
    client_id: &str,
    assertion: &SecretString,
    scopes: &[String],
    resource: &Url,
) -> Result<StoredCredentials, AuthorizationError> {
    let endpoint = Url::parse(&metadata.token_endpoint).map_err(|e| {
        AuthorizationError::Discovery(format!("the token endpoint is not a URL: {e}"))
    })?;
    let scope = scopes.join(" ");
    let resource = resource.to_string();
    let mut form = vec![
        ("grant_type", OAuthGrant::JwtBearer.grant_type()),
        ("assertion", assertion.expose_secret()),
        ("client_id", client_id),
        ("resource", resource.as_str()),
    ];
    if !scope.is_empty() {
        form.push(("scope", scope.as_str()));
    }
    let response = http
        .post_form(&endpoint, &form, None)
        .await
        .map_err(|error| {
            super::failed_request(error.as_ref(), |cause| {
                AuthorizationError::Unattended(format!(
                    "the token endpoint could not be reached: {cause}"
                ))
            })
        })?;
    if !response.status().is_success() {
        return Err(refusal(response.status().as_u16(), response.body()));
    }
    let token: OAuthTokenResponse = serde_json::from_slice(response.body()).map_err(|e| {
        AuthorizationError::Unattended(format!("the token endpoint's answer is not a token: {e}"))
    })?;
    let granted = token
        .scopes()
        .map(|s| s.iter().map(|s| s.to_string()).collect())
        .unwrap_or_else(|| scopes.to_vec());
    Ok(
        StoredCredentials::new(client_id.to_owned(), Some(token), granted, Some(now()))
            .with_issuer(metadata.issuer.clone()),
    )
}

/// Enterprise-managed authorization (SEP-990): the person's ID token is
/// exchanged at the company identity provider for an identity assertion
/// (ID-JAG, RFC 8693), which the authorization server redeems (RFC 7523).
/// rmcp's `EmaExchangeRequest` makes both requests, over the
/// policy-checked client, and checks what each answer binds (resource,
/// client, audience, scopes).
async fn exchange_id_token(
    http: &SafeOAuthHttp,
    metadata: &AuthorizationMetadata,
    client_id: &str,
    enterprise: Enterprise,
    scopes: &[String],
    resource: &Url,
) -> Result<StoredCredentials, AuthorizationError> {
    let issuer = metadata.issuer.clone().ok_or_else(|| {
        AuthorizationError::Discovery("the authorization server names no issuer".into())
    })?;
    let idp_token_endpoint = idp_token_endpoint(http, &enterprise.idp_issuer).await?;
    let secret = |s: &SecretString| ClientSecret::new(s.expose_secret().to_owned());
    let idp_authentication = match &enterprise.idp_client_secret {
        Some(s) => EmaClientAuthentication::ClientSecretBasic(secret(s)),
        None => EmaClientAuthentication::None,
    };
    let idp = EmaAuthorizationServer::new(
        enterprise.idp_issuer.as_str(),
        idp_token_endpoint,
        enterprise.idp_client_id.as_str(),
    )
    .with_client_authentication(idp_authentication);
    let authentication = match &enterprise.client_secret {
        Some(s) if only_post(metadata) => EmaClientAuthentication::ClientSecretPost(secret(s)),
        Some(s) => EmaClientAuthentication::ClientSecretBasic(secret(s)),
        None => EmaClientAuthentication::None,
    };
    let resource_as =
        EmaAuthorizationServer::new(issuer.as_str(), metadata.token_endpoint.as_str(), client_id)
            .with_client_authentication(authentication);
    let resource = resource.to_string();
    let mut wanted: Vec<String> = Vec::new();
    for scope in scopes {
        if !wanted.contains(scope) {
            wanted.push(scope.clone());
        }
    }
    http.take_last_refusal();
    let token = EmaExchangeRequest::new_with_id_token(
        idp,
        resource_as,
        &resource,
        enterprise.id_token.expose_secret(),
    )
    .with_scopes(wanted.clone())
    .exchange(http, http)
    .await
    .map_err(|error| match http.take_last_refusal() {
        Some(refusal) => AuthorizationError::UnsafeAddress(refusal),
        None => enterprise_error(error),
    })?;
    let granted: Vec<String> = if token.scopes.is_empty() {
        wanted
    } else {
        let mut granted: Vec<String> = token.scopes.iter().cloned().collect();
        granted.sort();
        granted
    };
    let mut answer = serde_json::json!({
        "access_token": token.access_token.secret(),
        "token_type": "Bearer",
    });
    if let Some(lifetime) = token.expires_in {
        answer["expires_in"] = lifetime.as_secs().into();
    }
    if !granted.is_empty() {
        answer["scope"] = granted.join(" ").into();
    }
    let token: OAuthTokenResponse = serde_json::from_value(answer)
        .map_err(|e| AuthorizationError::Unattended(format!("the access token: {e}")))?;
    Ok(
        StoredCredentials::new(client_id.to_owned(), Some(token), granted, Some(now()))
            .with_issuer(Some(issuer)),
    )
}

/// Whether the authorization server takes a client secret only in the
/// request body.
fn only_post(metadata: &AuthorizationMetadata) -> bool {
    let methods = metadata
        .additional_fields
        .get("token_endpoint_auth_methods_supported")
        .and_then(|v| v.as_array());
    methods.is_some_and(|methods| {
        let has = |name: &str| methods.iter().any(|m| m.as_str() == Some(name));
        has("client_secret_post") && !has("client_secret_basic")
    })
}

/// The identity provider's token endpoint, from its metadata (OpenID
/// Connect Discovery, else RFC 8414), which must name the configured
/// issuer exactly.
async fn idp_token_endpoint(
    http: &SafeOAuthHttp,
    issuer: &str,
) -> Result<String, AuthorizationError> {
    let base = Url::parse(issuer).map_err(|e| {
        AuthorizationError::Discovery(format!("the identity provider's issuer is not a URL: {e}"))
    })?;
    let path = base.path().trim_end_matches('/');
    let mut oidc = base.clone();
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    let mut oauth = base.clone();
    oauth.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    for url in [oidc, oauth] {
        let response = http.get(&url).await.map_err(|error| {
            super::failed_request(error.as_ref(), |cause| {
                AuthorizationError::Discovery(format!(
                    "the identity provider could not be reached: {cause}"
                ))
            })
        })?;
        if response.status() != 200 {
            continue;
        }
        let Ok(document) = serde_json::from_slice::<serde_json::Value>(response.body()) else {
            continue;
        };
        if document["issuer"].as_str() != Some(issuer) {
            return Err(AuthorizationError::IssuerMismatch(format!(
                "the identity provider's metadata at {} names the issuer {:?}, not {issuer:?}",
                super::http::redacted(&url),
                short(document["issuer"].as_str().unwrap_or("(none)"))
            )));
        }
        let endpoint = document["token_endpoint"].as_str().ok_or_else(|| {
            AuthorizationError::Discovery(
                "the identity provider's metadata names no token endpoint".into(),
            )
        })?;
        // The ID token and the client's secret go no less protected than
        // the issuer is reached.
        let scheme = Url::parse(endpoint).map(|url| url.scheme().to_owned());
        if scheme.as_deref() != Ok(base.scheme()) {
            return Err(AuthorizationError::Enterprise(format!(
                "the identity provider's token endpoint {:?} is not an {} URL like its issuer",
                short(endpoint),
                base.scheme()
            )));
        }
        return Ok(endpoint.to_owned());
    }
    Err(AuthorizationError::Discovery(format!(
        "the identity provider {issuer} publishes no metadata"
    )))
}

/// rmcp's enterprise-managed errors (sanitized: no answer bodies), by
/// what they mean for the grant: a refusal ends it (named by the server
/// that refused), an outage or a late redemption is tried again, an answer
/// or a request rmcp will not accept ends it too (retrying would only send
/// the ID token again).
fn enterprise_error(error: EmaError) -> AuthorizationError {
    let from_idp = |stage: &EmaExchangeStage| matches!(stage, EmaExchangeStage::IdentityProvider);
    let server = |stage: &EmaExchangeStage| {
        if from_idp(stage) {
            "the identity provider"
        } else {
            "the authorization server"
        }
    };
    let refused = |stage: &EmaExchangeStage, error: &str, description: String| {
        let (error, description) = (error.to_owned(), Some(description));
        if from_idp(stage) {
            AuthorizationError::IdentityProviderRefused { error, description }
        } else {
            AuthorizationError::Refused { error, description }
        }
    };
    match &error {
        EmaError::InvalidGrant(stage) if from_idp(stage) => refused(
            stage,
            "invalid_grant",
            "sign in to the identity provider again".into(),
        ),
        EmaError::InvalidGrant(stage) => refused(
            stage,
            "invalid_grant",
            "the identity assertion was refused".into(),
        ),
        EmaError::InsufficientUserAuthentication(stage) => refused(
            stage,
            "insufficient_user_authentication",
            "a stronger sign-in is needed".into(),
        ),
        EmaError::OAuthRejected {
            stage,
            status,
            code,
        } if *status >= 500
            || *status == 429
            || matches!(*code, "temporarily_unavailable" | "server_error") =>
        {
            AuthorizationError::Unattended(format!(
                "{} is unavailable (HTTP {status})",
                server(stage)
            ))
        }
        EmaError::OAuthRejected {
            stage,
            status,
            code,
        } => refused(stage, code, format!("HTTP {status}")),
        EmaError::RequestFailed(stage) => {
            AuthorizationError::Unattended(format!("{} could not be reached", server(stage)))
        }
        EmaError::InvalidRequest(message) if message.contains("expired before redemption") => {
            AuthorizationError::Unattended(
                "the identity assertion expired before it was redeemed".into(),
            )
        }
        _ => AuthorizationError::Enterprise(error.to_string()),
    }
}

/// An OAuth error answer (RFC 6749 §5.2), said as the server said it.
fn refusal(status: u16, body: &[u8]) -> AuthorizationError {
    #[derive(serde::Deserialize)]
    struct ErrorAnswer {
        error: String,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(answer) => AuthorizationError::Refused {
            error: short(&answer.error),
            description: answer.error_description.as_deref().map(short),
        },
        Err(_) => {
            AuthorizationError::Unattended(format!("the token endpoint answered HTTP {status}"))
        }
    }
}

/// rmcp's client credentials errors: an OAuth error answer is a refusal.
fn unattended_error(error: AuthError) -> AuthorizationError {
    match error {
        AuthError::ClientCredentialsError(detail) | AuthError::JwtSigningError(detail) => {
            match oauth_error_code(&detail) {
                Some(code) => AuthorizationError::Refused {
                    error: code.into(),
                    description: Some(short(&detail)),
                },
                None => AuthorizationError::Unattended(short(&detail)),
            }
        }
        other => AuthorizationError::from_auth(other),
    }
}

/// The RFC 6749 §5.2 error code rmcp's message names, if any.
fn oauth_error_code(detail: &str) -> Option<&'static str> {
    [
        "invalid_client",
        "invalid_grant",
        "invalid_scope",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_request",
    ]
    .into_iter()
    .find(|code| detail.contains(code))
}

fn signing_algorithm(algorithm: KeyAlgorithm) -> JwtSigningAlgorithm {
    match algorithm {
        KeyAlgorithm::ES256 => JwtSigningAlgorithm::ES256,
        KeyAlgorithm::ES384 => JwtSigningAlgorithm::ES384,
        KeyAlgorithm::RS256 => JwtSigningAlgorithm::RS256,
        KeyAlgorithm::RS384 => JwtSigningAlgorithm::RS384,
        KeyAlgorithm::RS512 => JwtSigningAlgorithm::RS512,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oauth_error_answer_is_a_refusal_without_the_body() {
        let answer = br#"{"error":"invalid_grant","error_description":"JWT assertion is expired"}"#;
        assert_eq!(
            refusal(400, answer),
            AuthorizationError::Refused {
                error: "invalid_grant".into(),
                description: Some("JWT assertion is expired".into()),
            }
        );
        let page = b"<html>eyJhbGciOi.secret</html>";
        let text = refusal(502, page).to_string();
        assert!(text.contains("HTTP 502"), "{text}");
        assert!(!text.contains("eyJ"), "{text}");
    }

    #[test]
    fn enterprise_errors_end_the_grant_or_are_retried_by_what_they_mean() {
        use EmaExchangeStage::{IdentityProvider, ResourceAuthorizationServer};
        let retried = |e: &AuthorizationError| matches!(e, AuthorizationError::Unattended(_));
        // The provider refuses the ID token: the person signs in again.
        let expired = enterprise_error(EmaError::InvalidGrant(IdentityProvider));
        assert!(
            matches!(&expired, AuthorizationError::IdentityProviderRefused { error, .. } if error == "invalid_grant"),
            "{expired:?}"
        );
        assert!(
            expired
                .to_string()
                .contains("sign in to the identity provider again")
        );
        let assertion = enterprise_error(EmaError::InvalidGrant(ResourceAuthorizationServer));
        assert!(
            matches!(assertion, AuthorizationError::Refused { .. }),
            "{assertion:?}"
        );
        // Outages are tried again, whoever has them.
        for (status, code) in [
            (503, "OAuth token request rejected"),
            (400, "temporarily_unavailable"),
            (500, "server_error"),
            (429, "OAuth token request rejected"),
        ] {
            let error = enterprise_error(EmaError::OAuthRejected {
                stage: IdentityProvider,
                status,
                code,
            });
            assert!(retried(&error), "{status} {code}: {error:?}");
        }
        assert!(retried(&enterprise_error(EmaError::RequestFailed(
            ResourceAuthorizationServer
        ))));
        assert!(retried(&enterprise_error(EmaError::InvalidRequest(
            "ID-JAG expired before redemption"
        ))));
        // A client the server does not know, an answer rmcp will not take:
        // final, so the ID token is not sent again and again.
        let client = enterprise_error(EmaError::OAuthRejected {
            stage: ResourceAuthorizationServer,
            status: 401,
            code: "invalid_client",
        });
        assert!(
            matches!(client, AuthorizationError::Refused { .. }),
            "{client:?}"
        );
        let bindings = enterprise_error(EmaError::InvalidResponse {
            stage: IdentityProvider,
            message: "ID-JAG type, issuer, audience, client, subject, or JWT ID mismatch",
        });
        assert!(
            matches!(bindings, AuthorizationError::Enterprise(_)),
            "{bindings:?}"
        );
    }

    #[test]
    fn rmcp_errors_naming_an_oauth_error_are_refusals() {
        let error = unattended_error(AuthError::ClientCredentialsError(
            "Token exchange failed: Server returned error response: invalid_client: bad secret"
                .into(),
        ));
        assert!(
            matches!(&error, AuthorizationError::Refused { error, .. } if error == "invalid_client"),
            "{error:?}"
        );
    }
}
