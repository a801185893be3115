//! Finding out how to authorize with a server, on top of rmcp's discovery
//! (RFC 9728 protected resource metadata, then RFC 8414 / OpenID Connect
//! authorization server metadata, in the spec's order).
//!
//! Gatehouse adds what the specification requires and rmcp leaves to the
//! caller: every endpoint must pass the SSRF policy before anything is sent
//! to it or a browser is pointed at it, and an authorization server that does
//! not advertise PKCE S256 is refused. For servers of the 2025-03-26
//! revision, which publish no protected resource metadata, the authorization
//! server metadata at the server's own origin is accepted when its issuer is
//! on that same origin (rmcp would demand an exact issuer match that such
//! servers do not meet), and the default endpoints are used when there is no
//! metadata at all.

use rmcp::transport::auth::{AuthError, AuthorizationManager, AuthorizationMetadata};
use url::Url;

use super::AuthorizationError;
use super::http::{Exchange, SafeOAuthHttp};
use crate::ssrf::SsrfPolicy;

/// What discovery found.
#[derive(Debug, Clone)]
pub(crate) struct Discovery {
    pub(crate) metadata: AuthorizationMetadata,
}

impl Discovery {
    pub(crate) fn supports_client_metadata_documents(&self) -> bool {
        self.metadata
            .additional_fields
            .get("client_id_metadata_document_supported")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }
}

pub(crate) fn revocation_endpoint(metadata: &AuthorizationMetadata) -> Option<String> {
    metadata
        .additional_fields
        .get("revocation_endpoint")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// The grant types the authorization server says it supports, if it says.
pub(crate) fn grant_types(metadata: &AuthorizationMetadata) -> Option<Vec<String>> {
    let listed = metadata.additional_fields.get("grant_types_supported")?;
    Some(
        listed
            .as_array()?
            .iter()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect(),
    )
}

/// Discovers the authorization server of the MCP server at `server_url`,
/// starting from a 401 challenge when there is one.
pub(crate) async fn discover(
    manager: &AuthorizationManager,
    http: &SafeOAuthHttp,
    server_url: &Url,
    challenge: Option<&str>,
) -> Result<Discovery, AuthorizationError> {
    http.clear_log();
    let policy = http.learn_policy().await;
    let (metadata, legacy_fallback) = match manager.resolve_metadata_from_challenge(challenge).await
    {
        Ok(resolution) => {
            let fallback = !resolution.source.is_discovered();
            (resolution.metadata, fallback)
        }
        Err(AuthError::AuthorizationServerMismatch { .. })
            if !found_resource_metadata(&http.log()) =>
        {
            (legacy_origin_metadata(http, server_url).await?, false)
        }
        Err(error) => return Err(AuthorizationError::from_auth(error)),
    };
    if !legacy_fallback {
        issuer_is_where_it_was_found(&metadata, &http.log())?;
    }
    check(&metadata, policy, legacy_fallback)?;
    Ok(Discovery { metadata })
}

/// RFC 8414 §3.3: the metadata names its issuer, and that issuer is the
/// authorization server whose metadata it is. rmcp compares the issuer with
/// one derived from the document's URL, but a protected resource metadata
/// document may name a metadata URL from which no issuer can be derived
/// (`https://b.example/x/.well-known/anything`), and then rmcp checks
/// nothing: any server could claim any issuer — another one's, whose
/// grant, registrations and pre-registered client Gatehouse keys by that
/// name — or none (which Gatehouse would read as the MCP server's own
/// origin). So discovered metadata must name an issuer, on the origin its
/// document was served from (the last document discovery read).
fn issuer_is_where_it_was_found(
    metadata: &AuthorizationMetadata,
    log: &[Exchange],
) -> Result<(), AuthorizationError> {
    let Some(issuer) = metadata.issuer.as_deref() else {
        return Err(AuthorizationError::IssuerMismatch(
            "the authorization server metadata names no issuer".into(),
        ));
    };
    let issuer_origin = Url::parse(issuer).ok().map(|u| u.origin());
    let document = log.iter().rev().find(|e| e.get && e.status == 200);
    match (issuer_origin, document) {
        (Some(origin), Some(document)) if origin.is_tuple() && origin == document.url.origin() => {
            Ok(())
        }
        (_, document) => Err(AuthorizationError::IssuerMismatch(format!(
            "metadata served from {} names the issuer {:?}, which is not on that origin",
            document
                .map(|d| super::http::redacted(&d.url))
                .unwrap_or_else(|| "an unknown location".into()),
            super::short(issuer)
        ))),
    }
}

fn found_resource_metadata(log: &[Exchange]) -> bool {
    log.iter()
        .any(|e| e.status == 200 && e.url.path().contains("oauth-protected-resource"))
}

/// RFC 8414 metadata at the MCP server's own origin, whose issuer may name
/// a path on that origin.
async fn legacy_origin_metadata(
    http: &SafeOAuthHttp,
    server_url: &Url,
) -> Result<AuthorizationMetadata, AuthorizationError> {
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let mut url = server_url.clone();
        url.set_path(path);
        url.set_query(None);
        let response = http
            .get(&url)
            .await
            .map_err(|e| AuthorizationError::Discovery(super::short(&e.to_string())))?;
        if response.status() != 200 {
            continue;
        }
        let Ok(metadata) = serde_json::from_slice::<AuthorizationMetadata>(response.body()) else {
            continue;
        };
        let issuer_origin = metadata
            .issuer
            .as_deref()
            .and_then(|issuer| Url::parse(issuer).ok())
            .map(|issuer| issuer.origin());
        if issuer_origin != Some(server_url.origin()) {
            return Err(AuthorizationError::IssuerMismatch(format!(
                "the metadata at {} names the issuer {:?}, which is not on the server's origin",
                super::http::redacted(&url),
                metadata.issuer.as_deref().unwrap_or("(none)")
            )));
        }
        return Ok(metadata);
    }
    Err(AuthorizationError::Discovery(
        "it publishes no authorization server metadata".into(),
    ))
}

/// The checks rmcp leaves to us.
fn check(
    metadata: &AuthorizationMetadata,
    policy: SsrfPolicy,
    legacy_fallback: bool,
) -> Result<(), AuthorizationError> {
    let revocation = revocation_endpoint(metadata);
    let endpoints = [
        Some(metadata.authorization_endpoint.as_str()),
        Some(metadata.token_endpoint.as_str()),
        metadata.registration_endpoint.as_deref(),
        revocation.as_deref(),
    ];
    for endpoint in endpoints.into_iter().flatten() {
        let url = Url::parse(endpoint).map_err(|_| {
            AuthorizationError::Discovery(format!(
                "its metadata names an endpoint that is not a URL: {:?}",
                super::short(endpoint)
            ))
        })?;
        policy
            .check_url(&url)
            .map_err(AuthorizationError::UnsafeAddress)?;
    }
    // Servers without any metadata cannot advertise PKCE; Gatehouse always
    // uses S256 with them. Everyone else must advertise it.
    if !legacy_fallback {
        let s256 = metadata
            .code_challenge_methods_supported
            .as_ref()
            .is_some_and(|methods| methods.iter().any(|m| m == "S256"));
        if !s256 {
            return Err(AuthorizationError::PkceUnsupported);
        }
    }
    Ok(())
}
