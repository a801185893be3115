//! The OAuth fixture over real HTTP on 127.0.0.1, driven by hand the way a
//! correct client would (and the ways a broken one would), so Gatehouse's
//! tests can trust what the fixture says and does. One file per behaviour;
//! the requests they share (a hand-written client) are below.

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

mod clients;
mod code_flow;
mod consent;
mod metadata;
mod tokens;

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
