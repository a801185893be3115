//! Token revocation (RFC 7009) on sign-out. rmcp has none; this posts to
//! the authorization server's `revocation_endpoint` through the same
//! policy-checked client as every other OAuth request.

use oauth2::TokenResponse as _;
use rmcp::transport::auth::AuthorizationMetadata;
use url::Url;

use super::discovery::revocation_endpoint;
use super::http::SafeOAuthHttp;
use super::store::GrantRecord;

/// Revokes the grant's refresh token, then its access token. Returns
/// `Ok(false)` when the server offers no revocation endpoint.
pub(crate) async fn revoke(
    http: &SafeOAuthHttp,
    metadata: &AuthorizationMetadata,
    grant: &GrantRecord,
) -> Result<bool, String> {
    let Some(endpoint) = revocation_endpoint(metadata) else {
        return Ok(false);
    };
    let url = Url::parse(&endpoint).map_err(|e| e.to_string())?;
    let Some(token) = grant.credentials.token_response.as_ref() else {
        return Ok(true);
    };
    let client = &grant.client;
    // RFC 7009 §2.1: the client authenticates as at the token endpoint.
    let use_basic = match client.registered_secret_method() {
        Some(method) => method == "client_secret_basic",
        None => {
            client.client_secret.is_some() && {
                let methods = metadata
                    .additional_fields
                    .get("revocation_endpoint_auth_methods_supported")
                    .or_else(|| {
                        metadata
                            .additional_fields
                            .get("token_endpoint_auth_methods_supported")
                    })
                    .and_then(|v| v.as_array());
                match methods {
                    None => true,
                    Some(methods) => methods
                        .iter()
                        .any(|m| m.as_str() == Some("client_secret_basic")),
                }
            }
        }
    };
    let mut tokens = Vec::new();
    if let Some(refresh) = token.refresh_token() {
        tokens.push((refresh.secret().as_str(), "refresh_token"));
    }
    tokens.push((token.access_token().secret().as_str(), "access_token"));
    for (value, hint) in tokens {
        let mut form = vec![("token", value), ("token_type_hint", hint)];
        let basic = if use_basic {
            client
                .client_secret
                .as_deref()
                .map(|secret| (client.client_id.as_str(), secret))
        } else {
            form.push(("client_id", client.client_id.as_str()));
            if let Some(secret) = client.client_secret.as_deref() {
                form.push(("client_secret", secret));
            }
            None
        };
        let response = http
            .post_form(&url, &form, basic)
            .await
            .map_err(|e| e.to_string())?;
        // RFC 7009 §2.2: 200 for success, including unknown tokens.
        if response.status() != 200 {
            return Err(format!(
                "the revocation endpoint answered HTTP {}",
                response.status().as_u16()
            ));
        }
    }
    Ok(true)
}
