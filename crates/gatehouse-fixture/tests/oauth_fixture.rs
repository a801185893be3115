//! The OAuth fixture over real HTTP on 127.0.0.1, driven by hand the way a
//! correct client would (and the ways a broken one would), so Gatehouse's
//! tests can trust what the fixture says and does.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_fixture::oauth::{TokenKind, WRONG_ISSUER, token_hash};
use gatehouse_fixture::{
    ClientAuthMethod, ConsentAnswer, ConsentMode, IssMode, OAuthFixture, OAuthOptions,
    RegisteredClient, answer_consent, follow_consent,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REDIRECT_URI: &str = "http://127.0.0.1:45999/callback";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

async fn start(options: OAuthOptions) -> OAuthFixture {
    OAuthFixture::start(options).await.unwrap()
}

fn auto_approve() -> OAuthOptions {
    OAuthOptions {
        consent: ConsentMode::AutoApprove,
        ..OAuthOptions::default()
    }
}

/// A PKCE pair: (verifier, S256 challenge).
fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn get_json(url: &str) -> Value {
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {url}");
    response.json().await.unwrap()
}

/// Registers a client through DCR: (client_id, client_secret).
async fn register(fixture: &OAuthFixture, metadata: Value) -> (String, Option<String>) {
    let response = http()
        .post(format!("{}/register", fixture.issuer()))
        .json(&metadata)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    (
        body["client_id"].as_str().unwrap().to_owned(),
        body["client_secret"].as_str().map(str::to_owned),
    )
}

async fn register_public(fixture: &OAuthFixture) -> String {
    register(
        fixture,
        json!({ "client_name": "Test Client", "redirect_uris": [REDIRECT_URI] }),
    )
    .await
    .0
}

/// An authorization request a correct client would make.
struct AuthorizationRequest {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    state: String,
    scope: Option<String>,
    resource: Option<String>,
}

impl AuthorizationRequest {
    fn new(fixture: &OAuthFixture, client_id: &str, challenge: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            redirect_uri: REDIRECT_URI.to_owned(),
            challenge: challenge.to_owned(),
            state: "state-123".to_owned(),
            scope: None,
            resource: Some(fixture.url()),
        }
    }

    fn url(&self, fixture: &OAuthFixture) -> String {
        let mut url = url::Url::parse(&format!("{}/authorize", fixture.issuer())).unwrap();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("code_challenge", &self.challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", &self.state);
            if let Some(scope) = &self.scope {
                query.append_pair("scope", scope);
            }
            if let Some(resource) = &self.resource {
                query.append_pair("resource", resource);
            }
        }
        url.into()
    }
}

/// GETs `url` and returns the query of the 302's Location.
async fn redirected_query(url: &str) -> HashMap<String, String> {
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND, "GET {url}");
    callback_query(response.headers()["location"].to_str().unwrap())
}

fn callback_query(location: &str) -> HashMap<String, String> {
    let url = url::Url::parse(location).unwrap();
    assert_eq!(
        format!("{}://{}{}", url.scheme(), url.authority(), url.path()),
        REDIRECT_URI,
        "redirected to the registered redirect URI"
    );
    url.query_pairs().into_owned().collect()
}

async fn post_token(fixture: &OAuthFixture, form: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(format!("{}/token", fixture.issuer()))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn token_error(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_owned())
}

/// Tokens from a successful token response.
#[derive(Debug)]
struct Tokens {
    access: String,
    refresh: Option<String>,
    expires_in: u64,
    scope: String,
}

async fn tokens(response: reqwest::Response) -> Tokens {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    Tokens {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().map(str::to_owned),
        expires_in: body["expires_in"].as_u64().unwrap(),
        scope: body["scope"].as_str().unwrap().to_owned(),
    }
}

/// Registers a public client and runs the whole flow with auto-approval.
async fn authorized(fixture: &OAuthFixture, scope: Option<&str>) -> (String, Tokens) {
    let client_id = register_public(fixture).await;
    let (verifier, challenge) = pkce();
    let mut request = AuthorizationRequest::new(fixture, &client_id, &challenge);
    request.scope = scope.map(str::to_owned);
    let callback = redirected_query(&request.url(fixture)).await;
    let resource = fixture.url();
    let response = post_token(
        fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
            ("resource", &resource),
        ],
    )
    .await;
    (client_id, tokens(response).await)
}

async fn refresh(
    fixture: &OAuthFixture,
    client_id: &str,
    refresh_token: &str,
) -> reqwest::Response {
    post_token(
        fixture,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ],
    )
    .await
}

/// A JSON-RPC POST to the MCP endpoint.
async fn mcp_post(
    fixture: &OAuthFixture,
    token: Option<&str>,
    session: Option<&str>,
    message: Value,
) -> reqwest::Response {
    let mut request = http()
        .post(fixture.url())
        .header("accept", "application/json, text/event-stream")
        .json(&message);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(session) = session {
        request = request
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25");
    }
    request.send().await.unwrap()
}

/// The JSON-RPC result in a JSON or SSE response body.
async fn rpc_result(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    let message: Value = if body.trim_start().starts_with('{') {
        serde_json::from_str(&body).unwrap()
    } else {
        body.lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(str::trim)
            .find(|data| data.contains("\"jsonrpc\""))
            .map(|data| serde_json::from_str(data).unwrap())
            .unwrap_or_else(|| panic!("no JSON-RPC message in {body}"))
    };
    assert!(message.get("error").is_none(), "JSON-RPC error: {message}");
    message["result"].clone()
}

/// `initialize` + `notifications/initialized`: the session id.
async fn mcp_session(fixture: &OAuthFixture, token: &str) -> String {
    let response = mcp_post(
        fixture,
        Some(token),
        None,
        json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": { "name": "oauth-fixture-test", "version": "0" }
            }
        }),
    )
    .await;
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let result = rpc_result(response).await;
    assert_eq!(result["serverInfo"]["name"], "gatehouse-demo");
    let response = mcp_post(
        fixture,
        Some(token),
        Some(&session),
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    session
}

fn tool_call(tool: &str, arguments: Value) -> Value {
    json!({
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": { "name": tool, "arguments": arguments }
    })
}

fn www_authenticate(response: &reqwest::Response) -> String {
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn metadata_documents_describe_one_origin() {
    let fixture = start(OAuthOptions::default()).await;
    let origin = format!("http://{}", fixture.addr());
    assert_eq!(fixture.url(), format!("{origin}/mcp"));
    assert_eq!(fixture.issuer(), origin);
    assert_eq!(
        fixture.prm_url(),
        format!("{origin}/.well-known/oauth-protected-resource/mcp")
    );

    let prm = get_json(&fixture.prm_url()).await;
    assert_eq!(prm["resource"], fixture.url());
    assert_eq!(prm["authorization_servers"], json!([origin]));
    assert_eq!(prm["scopes_supported"], json!(["mcp:read", "mcp:write"]));

    let metadata = get_json(&format!("{origin}/.well-known/oauth-authorization-server")).await;
    assert_eq!(metadata["issuer"], origin);
    assert_eq!(
        metadata["authorization_endpoint"],
        format!("{origin}/authorize")
    );
    assert_eq!(metadata["token_endpoint"], format!("{origin}/token"));
    assert_eq!(
        metadata["registration_endpoint"],
        format!("{origin}/register")
    );
    assert_eq!(metadata["revocation_endpoint"], format!("{origin}/revoke"));
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(metadata["response_types_supported"], json!(["code"]));
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!(["none", "client_secret_post", "client_secret_basic"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        metadata["scopes_supported"],
        json!(["mcp:read", "mcp:write"])
    );
    let oidc = get_json(&format!("{origin}/.well-known/openid-configuration")).await;
    assert_eq!(oidc, metadata);
    assert_eq!(get_json(&fixture.metadata_url()).await, metadata);

    // The root PRM location is not served by default (path-aware only).
    let root = http()
        .get(format!("{origin}/.well-known/oauth-protected-resource"))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unauthenticated_and_invalid_tokens_get_challenges() {
    let fixture = start(OAuthOptions::default()).await;
    let ping = json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" });

    let response = mcp_post(&fixture, None, None, ping.clone()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www_authenticate(&response),
        format!(
            "Bearer resource_metadata=\"{}\", scope=\"mcp:read\"",
            fixture.prm_url()
        )
    );

    let response = mcp_post(&fixture, Some("not-a-token"), None, ping).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = www_authenticate(&response);
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!("resource_metadata=\"{}\"", fixture.prm_url())),
        "{challenge}"
    );

    let quiet = start(OAuthOptions {
        scope_in_challenge: false,
        ..OAuthOptions::default()
    })
    .await;
    let response = http().get(quiet.url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www_authenticate(&response),
        format!("Bearer resource_metadata=\"{}\"", quiet.prm_url())
    );
}

#[tokio::test]
async fn full_flow_from_registration_to_mcp_tools() {
    let fixture = start(auto_approve()).await;

    // Dynamic client registration of a public client.
    let response = http()
        .post(format!("{}/register", fixture.issuer()))
        .json(&json!({
            "client_name": "Test Client",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "application_type": "native",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let registration: Value = response.json().await.unwrap();
    let client_id = registration["client_id"].as_str().unwrap().to_owned();
    assert!(client_id.len() > 16);
    assert!(registration.get("client_secret").is_none());
    assert_eq!(registration["token_endpoint_auth_method"], "none");
    assert_eq!(registration["redirect_uris"], json!([REDIRECT_URI]));
    assert_eq!(registration["client_name"], "Test Client");
    assert_eq!(registration["application_type"], "native");

    // Authorization with PKCE, auto-approved.
    let (verifier, challenge) = pkce();
    let mut request = AuthorizationRequest::new(&fixture, &client_id, &challenge);
    request.scope = Some("mcp:read".into());
    let callback = redirected_query(&request.url(&fixture)).await;
    assert_eq!(callback["state"], "state-123");
    assert_eq!(callback["iss"], fixture.issuer());
    let code = &callback["code"];

    let resource = fixture.url();
    let response = post_token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
            ("resource", &resource),
        ],
    )
    .await;
    let tokens = tokens(response).await;
    assert_eq!(tokens.expires_in, 3600);
    assert_eq!(tokens.scope, "mcp:read");
    assert!(tokens.refresh.is_some());

    // MCP with the bearer token.
    let session = mcp_session(&fixture, &tokens.access).await;
    let listing = rpc_result(
        mcp_post(
            &fixture,
            Some(&tokens.access),
            Some(&session),
            json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" }),
        )
        .await,
    )
    .await;
    let names: Vec<&str> = listing["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for tool in ["echo", "add", "whoami"] {
        assert!(names.contains(&tool), "{names:?}");
    }
    let echoed = rpc_result(
        mcp_post(
            &fixture,
            Some(&tokens.access),
            Some(&session),
            tool_call("echo", json!({ "text": "through the gate" })),
        )
        .await,
    )
    .await;
    assert_eq!(echoed["content"][0]["text"], "through the gate");

    // The fixture remembers what it was asked.
    let registrations = fixture.registrations();
    assert_eq!(registrations.len(), 1);
    assert_eq!(
        registrations[0].client.as_ref().unwrap().client_id,
        client_id
    );
    let authorizations = fixture.authorization_requests();
    assert_eq!(authorizations.len(), 1);
    assert_eq!(authorizations[0].param("resource"), Some(resource.as_str()));
    assert_eq!(
        authorizations[0].param("code_challenge_method"),
        Some("S256")
    );
    assert_eq!(authorizations[0].error, None);
    let token_requests = fixture.token_requests();
    assert_eq!(token_requests.len(), 1);
    assert_eq!(
        token_requests[0].grant_type.as_deref(),
        Some("authorization_code")
    );
    assert_eq!(token_requests[0].client_auth, Some(ClientAuthMethod::None));
    assert_eq!(
        token_requests[0].client_id.as_deref(),
        Some(client_id.as_str())
    );
    assert_eq!(token_requests[0].param("resource"), Some(resource.as_str()));
    assert_eq!(token_requests[0].status, 200);
    let mcp = fixture.mcp_requests();
    assert_eq!(mcp[0].calls[0].method, "initialize");
    assert_eq!(
        mcp[0].headers["authorization"],
        format!("Bearer {}", tokens.access)
    );
    assert!(mcp.iter().any(|request| {
        request
            .calls
            .iter()
            .any(|c| c.called_tool() == Some("echo"))
    }));
    let issued = fixture.issued_tokens();
    assert_eq!(issued.len(), 2);
    assert!(
        issued
            .iter()
            .all(|token| token.active && token.client_id == client_id)
    );
    assert_eq!(issued[0].resource.as_deref(), Some(resource.as_str()));
}

#[tokio::test]
async fn a_wrong_code_verifier_is_rejected() {
    let fixture = start(auto_approve()).await;
    let client_id = register_public(&fixture).await;
    let (_, challenge) = pkce();
    let (other_verifier, _) = pkce();
    let callback = redirected_query(
        &AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture),
    )
    .await;
    let response = post_token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &other_verifier),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(
        token_error(response).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert!(fixture.issued_tokens().is_empty());
    assert_eq!(
        fixture.token_requests()[0].error.as_deref(),
        Some("invalid_grant")
    );
}

#[tokio::test]
async fn authorization_requires_pkce_s256() {
    let fixture = start(auto_approve()).await;
    let client_id = register_public(&fixture).await;
    let (_, challenge) = pkce();
    let url = AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture);

    let plain = url.replace("code_challenge_method=S256", "code_challenge_method=plain");
    let callback = redirected_query(&plain).await;
    assert_eq!(callback["error"], "invalid_request");
    assert_eq!(callback["state"], "state-123");
    assert_eq!(callback["iss"], fixture.issuer());
    assert!(!callback.contains_key("code"));

    let without = url.replace("code_challenge=", "no_challenge=");
    let callback = redirected_query(&without).await;
    assert_eq!(callback["error"], "invalid_request");
    assert_eq!(
        fixture.authorization_requests()[1].error.as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn a_wrong_redirect_uri_is_rejected() {
    let fixture = start(auto_approve()).await;
    let client_id = register_public(&fixture).await;
    let (verifier, challenge) = pkce();

    // At /authorize: not redirected anywhere, an error page instead.
    let mut request = AuthorizationRequest::new(&fixture, &client_id, &challenge);
    request.redirect_uri = "http://127.0.0.1:45998/callback".into();
    let response = http().get(request.url(&fixture)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert!(response.text().await.unwrap().contains("not valid"));

    // At /token: a redirect_uri other than the authorization request's.
    let callback = redirected_query(
        &AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture),
    )
    .await;
    let response = post_token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", "http://127.0.0.1:45998/callback"),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(
        token_error(response).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
}

#[tokio::test]
async fn an_authorization_code_works_once() {
    let fixture = start(auto_approve()).await;
    let client_id = register_public(&fixture).await;
    let (verifier, challenge) = pkce();
    let callback = redirected_query(
        &AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture),
    )
    .await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", callback["code"].as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
        ("client_id", client_id.as_str()),
    ];
    let first = tokens(post_token(&fixture, &exchange).await).await;
    let replay = post_token(&fixture, &exchange).await;
    assert_eq!(
        token_error(replay).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    // A replayed code revokes what it produced.
    let response = mcp_post(
        &fixture,
        Some(&first.access),
        None,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token() {
    let fixture = start(auto_approve()).await;
    let (client_id, first) = authorized(&fixture, None).await;
    let old_refresh = first.refresh.unwrap();

    let second = tokens(refresh(&fixture, &client_id, &old_refresh).await).await;
    let new_refresh = second.refresh.clone().unwrap();
    assert_ne!(new_refresh, old_refresh);
    assert_ne!(second.access, first.access);
    assert_eq!(second.scope, "mcp:read");
    mcp_session(&fixture, &second.access).await;

    // The old refresh token is spent; the new one works.
    let replay = refresh(&fixture, &client_id, &old_refresh).await;
    assert_eq!(
        token_error(replay).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let third = tokens(refresh(&fixture, &client_id, &new_refresh).await).await;
    assert!(third.refresh.is_some());

    let requests = fixture.token_requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[1].grant_type.as_deref(), Some("refresh_token"));
    assert_eq!(
        requests[1].refresh_token_hash.as_deref(),
        Some(token_hash(&old_refresh).as_str())
    );
    assert_eq!(requests[2].error.as_deref(), Some("invalid_grant"));
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_token() {
    let fixture = start(OAuthOptions {
        rotate_refresh_tokens: false,
        ..auto_approve()
    })
    .await;
    let (client_id, first) = authorized(&fixture, None).await;
    let refresh_token = first.refresh.unwrap();
    for _ in 0..2 {
        let refreshed = tokens(refresh(&fixture, &client_id, &refresh_token).await).await;
        assert_eq!(refreshed.refresh, None, "no new refresh token is issued");
    }
}

#[tokio::test]
async fn refresh_can_narrow_but_not_widen_the_scope() {
    let fixture = start(auto_approve()).await;
    let (client_id, first) = authorized(&fixture, Some("mcp:read mcp:write")).await;
    assert_eq!(first.scope, "mcp:read mcp:write");
    let refresh_token = first.refresh.unwrap();

    let narrowed = post_token(
        &fixture,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
            ("client_id", &client_id),
            ("scope", "mcp:read"),
        ],
    )
    .await;
    let narrowed = tokens(narrowed).await;
    assert_eq!(narrowed.scope, "mcp:read");

    let widened = post_token(
        &fixture,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", narrowed.refresh.as_deref().unwrap()),
            ("client_id", &client_id),
            ("scope", "mcp:read admin"),
        ],
    )
    .await;
    assert_eq!(
        token_error(widened).await,
        (StatusCode::BAD_REQUEST, "invalid_scope".into())
    );
}

#[tokio::test]
async fn reject_refresh_answers_invalid_grant_until_lifted() {
    let fixture = start(auto_approve()).await;
    let (client_id, first) = authorized(&fixture, None).await;
    let refresh_token = first.refresh.unwrap();

    fixture.reject_refresh(true);
    let rejected = refresh(&fixture, &client_id, &refresh_token).await;
    assert_eq!(
        token_error(rejected).await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    fixture.reject_refresh(false);
    tokens(refresh(&fixture, &client_id, &refresh_token).await).await;
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_access_tokens() {
    let fixture = start(auto_approve()).await;
    let (client_id, first) = authorized(&fixture, None).await;
    let refresh_token = first.refresh.unwrap();
    mcp_session(&fixture, &first.access).await;

    let response = http()
        .post(format!("{}/revoke", fixture.issuer()))
        .form(&[
            ("token", refresh_token.as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let response = mcp_post(
        &fixture,
        Some(&first.access),
        None,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(&response).contains("error=\"invalid_token\""));
    let refused = refresh(&fixture, &client_id, &refresh_token).await;
    assert_eq!(token_error(refused).await.1, "invalid_grant");

    // Unknown tokens are answered 200 too.
    let response = http()
        .post(format!("{}/revoke", fixture.issuer()))
        .form(&[("token", "never-issued"), ("client_id", client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let revocations = fixture.revocations();
    assert_eq!(revocations.len(), 2);
    assert_eq!(revocations[0].revoked, Some(TokenKind::Refresh));
    assert_eq!(
        revocations[0].token_hash.as_deref(),
        Some(token_hash(&refresh_token).as_str())
    );
    assert_eq!(
        revocations[0].token_type_hint.as_deref(),
        Some("refresh_token")
    );
    assert_eq!(revocations[1].revoked, None);
    assert!(fixture.issued_tokens().iter().all(|token| !token.active));
}

#[tokio::test]
async fn revoke_all_ends_every_grant() {
    let fixture = start(auto_approve()).await;
    let (client_id, first) = authorized(&fixture, None).await;
    fixture.revoke_all();
    let response = http()
        .get(fixture.url())
        .bearer_auth(&first.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let refused = refresh(&fixture, &client_id, first.refresh.as_deref().unwrap()).await;
    assert_eq!(token_error(refused).await.1, "invalid_grant");
}

#[tokio::test]
async fn access_tokens_expire_after_their_ttl() {
    let fixture = start(OAuthOptions {
        access_token_ttl: Duration::from_secs(1),
        ..auto_approve()
    })
    .await;
    let (client_id, first) = authorized(&fixture, None).await;
    assert_eq!(first.expires_in, 1);
    mcp_session(&fixture, &first.access).await;

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let response = mcp_post(
        &fixture,
        Some(&first.access),
        None,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = www_authenticate(&response);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("expired"), "{challenge}");

    // A refresh after a runtime TTL change gets the new lifetime.
    fixture.set_access_token_ttl(Duration::from_secs(300));
    let second =
        tokens(refresh(&fixture, &client_id, first.refresh.as_deref().unwrap()).await).await;
    assert_eq!(second.expires_in, 300);
    mcp_session(&fixture, &second.access).await;
    fixture.expire_access_tokens();
    let response = http()
        .get(fixture.url())
        .bearer_auth(&second.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_scoped_tool_answers_403_insufficient_scope() {
    let fixture = start(OAuthOptions {
        tool_scopes: HashMap::from([("add".to_owned(), "mcp:write".to_owned())]),
        ..auto_approve()
    })
    .await;
    let (_, reader) = authorized(&fixture, Some("mcp:read")).await;
    let session = mcp_session(&fixture, &reader.access).await;

    let response = mcp_post(
        &fixture,
        Some(&reader.access),
        Some(&session),
        tool_call("add", json!({ "a": 2, "b": 3 })),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www_authenticate(&response),
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"mcp:read mcp:write\", resource_metadata=\"{}\"",
            fixture.prm_url()
        )
    );
    // Tools that need nothing more still work with the same token.
    let echoed = rpc_result(
        mcp_post(
            &fixture,
            Some(&reader.access),
            Some(&session),
            tool_call("echo", json!({ "text": "ok" })),
        )
        .await,
    )
    .await;
    assert_eq!(echoed["content"][0]["text"], "ok");

    // Step-up: a token with both scopes may call it.
    let (_, writer) = authorized(&fixture, Some("mcp:read mcp:write")).await;
    let session = mcp_session(&fixture, &writer.access).await;
    let sum = rpc_result(
        mcp_post(
            &fixture,
            Some(&writer.access),
            Some(&session),
            tool_call("add", json!({ "a": 2, "b": 3 })),
        )
        .await,
    )
    .await;
    assert_eq!(sum["content"][0]["text"], "5");
}

#[tokio::test]
async fn the_consent_page_approves_through_follow_consent() {
    let fixture = start(OAuthOptions::default()).await;
    let client_id = register_public(&fixture).await;
    let (verifier, challenge) = pkce();
    let url = AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture);

    // What a person sees.
    let page = http().get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Test Client</strong> wants to access the <strong>Gatehouse demo server")
    );
    assert!(html.contains("<code>mcp:read</code>"));
    assert!(html.contains("data-testid=\"consent-approve\""));
    assert!(html.contains("data-testid=\"consent-deny\""));

    let location = follow_consent(&url).await.unwrap();
    let callback = callback_query(&location);
    assert_eq!(callback["state"], "state-123");
    assert_eq!(callback["iss"], fixture.issuer());
    let response = post_token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
    )
    .await;
    let tokens = tokens(response).await;
    mcp_session(&fixture, &tokens.access).await;

    // The page's Deny button.
    let callback = callback_query(&answer_consent(&url, ConsentAnswer::Deny).await.unwrap());
    assert_eq!(callback["error"], "access_denied");
    assert_eq!(callback["state"], "state-123");
    assert!(!callback.contains_key("code"));
    let requests = fixture.authorization_requests();
    assert_eq!(
        requests.last().unwrap().error.as_deref(),
        Some("access_denied")
    );

    // follow_consent also passes through an immediate redirect.
    fixture.set_consent_mode(ConsentMode::AutoApprove);
    let callback = callback_query(&follow_consent(&url).await.unwrap());
    assert!(callback.contains_key("code"));
}

#[tokio::test]
async fn a_consent_decision_cannot_be_replayed() {
    let fixture = start(OAuthOptions::default()).await;
    let response = http()
        .post(format!("{}/authorize/decision", fixture.issuer()))
        .form(&[("request_id", "made-up"), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn deny_mode_redirects_with_access_denied() {
    let fixture = start(OAuthOptions {
        consent: ConsentMode::Deny,
        ..OAuthOptions::default()
    })
    .await;
    let client_id = register_public(&fixture).await;
    let (_, challenge) = pkce();
    let callback = redirected_query(
        &AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture),
    )
    .await;
    assert_eq!(callback["error"], "access_denied");
    assert!(callback.contains_key("error_description"));
    assert_eq!(callback["state"], "state-123");
    assert_eq!(callback["iss"], fixture.issuer());
    assert!(!callback.contains_key("code"));
    assert_eq!(
        fixture.authorization_requests()[0].error.as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn iss_can_be_omitted_or_wrong() {
    for (mode, expected) in [(IssMode::Omit, None), (IssMode::Wrong, Some(WRONG_ISSUER))] {
        let fixture = start(OAuthOptions {
            iss_in_redirect: mode,
            ..auto_approve()
        })
        .await;
        let client_id = register_public(&fixture).await;
        let (_, challenge) = pkce();
        let callback = redirected_query(
            &AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture),
        )
        .await;
        assert!(callback.contains_key("code"));
        assert_eq!(callback.get("iss").map(String::as_str), expected);
    }
}

#[tokio::test]
async fn confidential_clients_authenticate_with_their_registered_method() {
    let fixture = start(auto_approve()).await;
    for method in ["client_secret_basic", "client_secret_post"] {
        let (client_id, secret) = register(
            &fixture,
            json!({
                "client_name": "Confidential",
                "redirect_uris": [REDIRECT_URI],
                "token_endpoint_auth_method": method,
            }),
        )
        .await;
        let secret = secret.expect("a confidential client gets a secret");
        let (verifier, challenge) = pkce();
        let code_for = |callback: HashMap<String, String>| callback["code"].clone();
        let url = AuthorizationRequest::new(&fixture, &client_id, &challenge).url(&fixture);

        // The wrong method is refused even with the right secret.
        let code = code_for(redirected_query(&url).await);
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ];
        let wrong = if method == "client_secret_basic" {
            let mut post = form.clone();
            post.extend([
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
            ]);
            post_token(&fixture, &post).await
        } else {
            http()
                .post(format!("{}/token", fixture.issuer()))
                .basic_auth(&client_id, Some(&secret))
                .form(&form)
                .send()
                .await
                .unwrap()
        };
        assert_eq!(
            token_error(wrong).await,
            (StatusCode::UNAUTHORIZED, "invalid_client".into()),
            "{method}"
        );

        // The registered method with a wrong secret, then the right one.
        let code = code_for(redirected_query(&url).await);
        form[1].1 = code.as_str();
        let attempt = |secret: String| {
            let form = form.clone();
            let client_id = client_id.clone();
            let fixture = &fixture;
            async move {
                if method == "client_secret_basic" {
                    http()
                        .post(format!("{}/token", fixture.issuer()))
                        .basic_auth(&client_id, Some(&secret))
                        .form(&form)
                        .send()
                        .await
                        .unwrap()
                } else {
                    let mut post = form.clone();
                    post.extend([
                        ("client_id", client_id.as_str()),
                        ("client_secret", secret.as_str()),
                    ]);
                    post_token(fixture, &post).await
                }
            }
        };
        let refused = attempt("wrong-secret".into()).await;
        let status = refused.status();
        let basic_challenge = refused.headers().get("www-authenticate").cloned();
        assert_eq!(token_error(refused).await.1, "invalid_client");
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(basic_challenge.is_some(), method == "client_secret_basic");
        tokens(attempt(secret.clone()).await).await;

        let last = fixture.token_requests().pop().unwrap();
        assert_eq!(last.client_auth, ClientAuthMethod::parse(method));
        assert_eq!(last.client_id.as_deref(), Some(client_id.as_str()));
    }
}

#[tokio::test]
async fn preregistered_clients_need_no_registration() {
    let fixture = start(OAuthOptions {
        dcr_supported: false,
        preregistered_clients: vec![
            RegisteredClient::confidential(
                "known-client",
                "known-secret",
                ClientAuthMethod::ClientSecretPost,
                vec![REDIRECT_URI.into()],
            )
            .with_name("Known Client"),
        ],
        ..OAuthOptions::default()
    })
    .await;
    let metadata = get_json(&fixture.metadata_url()).await;
    assert!(metadata.get("registration_endpoint").is_none());
    let response = http()
        .post(format!("{}/register", fixture.issuer()))
        .json(&json!({ "redirect_uris": [REDIRECT_URI] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let (verifier, challenge) = pkce();
    let url = AuthorizationRequest::new(&fixture, "known-client", &challenge).url(&fixture);
    let page = http().get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Known Client"));
    let callback = callback_query(&follow_consent(&url).await.unwrap());
    let response = post_token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
            ("client_id", "known-client"),
            ("client_secret", "known-secret"),
        ],
    )
    .await;
    tokens(response).await;
}

#[tokio::test]
async fn registration_refuses_unsafe_redirect_uris() {
    let fixture = start(OAuthOptions::default()).await;
    for uri in [
        "http://example.com/callback",
        "javascript:alert(1)",
        "http://127.0.0.1:4000/cb#fragment",
    ] {
        let response = http()
            .post(format!("{}/register", fixture.issuer()))
            .json(&json!({ "redirect_uris": [uri] }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            token_error(response).await,
            (StatusCode::BAD_REQUEST, "invalid_redirect_uri".into()),
            "{uri}"
        );
    }
    let response = http()
        .post(format!("{}/register", fixture.issuer()))
        .json(&json!({ "client_name": "No redirect" }))
        .send()
        .await
        .unwrap();
    assert_eq!(token_error(response).await.1, "invalid_redirect_uri");
    for uri in [
        "https://app.example/cb",
        "http://localhost:1234/cb",
        "http://[::1]:9/cb",
    ] {
        let response = http()
            .post(format!("{}/register", fixture.issuer()))
            .json(&json!({ "redirect_uris": [uri] }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{uri}");
    }
    assert_eq!(fixture.registrations().len(), 7);
    assert_eq!(
        fixture.registrations()[0].error.as_deref(),
        Some("invalid_redirect_uri")
    );
}

#[tokio::test]
async fn require_resource_insists_on_the_mcp_url() {
    let fixture = start(OAuthOptions {
        require_resource: true,
        ..auto_approve()
    })
    .await;
    let client_id = register_public(&fixture).await;
    let (verifier, challenge) = pkce();
    let mut request = AuthorizationRequest::new(&fixture, &client_id, &challenge);
    request.resource = None;
    assert_eq!(
        redirected_query(&request.url(&fixture)).await["error"],
        "invalid_target"
    );
    request.resource = Some(format!("http://localhost:{}/mcp", fixture.addr().port()));
    assert_eq!(
        redirected_query(&request.url(&fixture)).await["error"],
        "invalid_target"
    );

    request.resource = Some(fixture.url());
    let callback = redirected_query(&request.url(&fixture)).await;
    let without_resource = post_token(
        &fixture,
        &[
            ("grant_type", "authorization_code"),
            ("code", &callback["code"]),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(token_error(without_resource).await.1, "invalid_target");
}

#[tokio::test]
async fn hostile_metadata_variants() {
    let fixture = start(OAuthOptions {
        pkce_advertised: false,
        authorization_endpoint_override: Some("javascript:alert(1)".into()),
        token_endpoint_override: Some("http://10.0.0.1/token".into()),
        registration_endpoint_override: Some("http://169.254.169.254/latest".into()),
        issuer_override: Some("https://issuer.example".into()),
        prm_resource_override: Some("https://other.example/mcp".into()),
        prm_authorization_servers_override: Some(vec!["http://169.254.169.254/".into()]),
        ..OAuthOptions::default()
    })
    .await;
    let metadata = get_json(&fixture.metadata_url()).await;
    assert!(metadata.get("code_challenge_methods_supported").is_none());
    assert_eq!(metadata["authorization_endpoint"], "javascript:alert(1)");
    assert_eq!(metadata["token_endpoint"], "http://10.0.0.1/token");
    assert_eq!(
        metadata["registration_endpoint"],
        "http://169.254.169.254/latest"
    );
    assert_eq!(metadata["issuer"], "https://issuer.example");
    let prm = get_json(&fixture.prm_url()).await;
    assert_eq!(prm["resource"], "https://other.example/mcp");
    assert_eq!(
        prm["authorization_servers"],
        json!(["http://169.254.169.254/"])
    );

    let oversized = start(OAuthOptions {
        oversized_metadata: true,
        oversized_resource_metadata: true,
        ..OAuthOptions::default()
    })
    .await;
    for url in [oversized.metadata_url(), oversized.prm_url()] {
        let body = http()
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(body.len() > 1024 * 1024, "{url}: {} bytes", body.len());
    }

    let redirecting = start(OAuthOptions {
        metadata_redirect_to: Some("http://169.254.169.254/latest/meta-data".into()),
        ..OAuthOptions::default()
    })
    .await;
    for path in ["oauth-authorization-server", "openid-configuration"] {
        let response = http()
            .get(format!("{}/.well-known/{path}", redirecting.issuer()))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection());
        assert_eq!(
            response.headers()["location"],
            "http://169.254.169.254/latest/meta-data"
        );
    }

    let target = "http://[::a9fe:a9fe]/register";
    let redirecting = start(OAuthOptions {
        registration_redirect_to: Some(target.into()),
        ..OAuthOptions::default()
    })
    .await;
    let response = http()
        .post(format!("{}/register", redirecting.issuer()))
        .json(&serde_json::json!({"redirect_uris": ["http://127.0.0.1:1/callback"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["location"], target);
    let recorded = redirecting.registrations();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].redirected_to.as_deref(), Some(target));
    assert!(recorded[0].client.is_none(), "no client was registered");
}

#[tokio::test]
async fn an_issuer_path_moves_the_metadata() {
    let fixture = start(OAuthOptions {
        issuer_path: Some("/tenant".into()),
        ..OAuthOptions::default()
    })
    .await;
    let origin = format!("http://{}", fixture.addr());
    assert_eq!(fixture.issuer(), format!("{origin}/tenant"));
    for path in [
        "/.well-known/oauth-authorization-server/tenant",
        "/.well-known/openid-configuration/tenant",
        "/tenant/.well-known/openid-configuration",
    ] {
        let metadata = get_json(&format!("{origin}{path}")).await;
        assert_eq!(metadata["issuer"], fixture.issuer(), "{path}");
    }
    let root = http()
        .get(format!("{origin}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get_json(&fixture.prm_url()).await["authorization_servers"],
        json!([fixture.issuer()])
    );
}

#[tokio::test]
async fn the_binary_serves_the_oauth_demo() {
    use std::io::BufRead;

    /// Kills the server when the test ends, pass or fail.
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let mut server = Server(
        std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse-fixture"))
            .args(["--oauth", "--consent", "approve", "--token-ttl", "7"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = server.0.stdout.take().unwrap();
    let first_line = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .map(|_| line)
        }),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    let url = first_line.trim();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{url}"
    );
    let origin = url.trim_end_matches("/mcp");

    let prm = get_json(&format!(
        "{origin}/.well-known/oauth-protected-resource/mcp"
    ))
    .await;
    assert_eq!(prm["resource"], url);
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // --consent approve and --token-ttl reach the server.
    let client: Value = http()
        .post(format!("{origin}/register"))
        .json(&json!({ "redirect_uris": [REDIRECT_URI] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = client["client_id"].as_str().unwrap();
    let (verifier, challenge) = pkce();
    let authorize = format!(
        "{origin}/authorize?response_type=code&client_id={client_id}&redirect_uri={}&code_challenge={challenge}&code_challenge_method=S256&state=s",
        url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    let callback = redirected_query(&authorize).await;
    let response = http()
        .post(format!("{origin}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", callback["code"].as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tokens(response).await.expires_in, 7);
}
