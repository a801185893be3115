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

use oauth2::TokenResponse as _;
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
            obtained
                .save(credentials)
                .await
                .map_err(AuthorizationError::from_auth)?;
            return Ok(manager);
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
        .map_err(|error| match super::find_unsafe_address(error.as_ref()) {
            Some(refusal) => AuthorizationError::UnsafeAddress(refusal),
            None => AuthorizationError::Unattended(format!(
                "the token endpoint could not be reached: {}",
                short(&error.to_string())
            )),
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
