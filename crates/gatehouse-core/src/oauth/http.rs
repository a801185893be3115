//! The HTTP client every OAuth request goes through (discovery, client
//! registration, code exchange, refresh, revocation), plugged into rmcp's
//! `AuthorizationManager`. It applies the SSRF policy to every URL and every
//! resolved address, caps response sizes, and can leave out RFC 8707
//! `resource` for authorization servers that reject it. Token requests of a
//! grant bound to a DPoP key carry a proof ([`super::dpop`]), and are sent
//! again once with the nonce the authorization server asks for.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::transport::auth::{
    OAuthHttpClient, OAuthHttpClientError, OAuthHttpClientFuture, OAuthHttpRedirectPolicy,
    OAuthHttpRequest,
};
use url::Url;

use super::dpop::{DPOP, DpopKey, Nonces};
use super::store::GrantStore;
use crate::ssrf::{ServerPolicy, SsrfPolicy, UnsafeAddress};

/// Largest OAuth response accepted (metadata documents, tokens).
pub(crate) const MAX_BODY: usize = 1024 * 1024;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 5;

/// One request as it went out, for deciding which discovery path was taken.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    pub(crate) url: Url,
    pub(crate) status: u16,
    /// A GET (discovery), not a POST (registration, tokens, revocation).
    pub(crate) get: bool,
}

/// A registration endpoint being asked for a client, and the
/// `token_endpoint_auth_method` its answer named.
type Registration = (Url, Option<String>);

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct SafeOAuthHttp {
    /// Learned from what the MCP server's host resolves to; read by the
    /// resolver and the redirect check on every hop.
    policy: ServerPolicy,
    follow: reqwest::Client,
    stop: reqwest::Client,
    send_resource: bool,
    log: Arc<Mutex<Vec<Exchange>>>,
    /// Why the last request that failed did (rmcp's errors for a token
    /// request say only "Request failed").
    last_failure: Arc<Mutex<Option<String>>>,
    /// The last request the policy refused (rmcp turns a registration's
    /// cause into text).
    last_refusal: Arc<Mutex<Option<UnsafeAddress>>>,
    /// The registration endpoint being asked for a client, and the
    /// `token_endpoint_auth_method` its answer named (rmcp keeps only the
    /// id and the secret).
    registration: Arc<Mutex<Option<Registration>>>,
    /// Where the DPoP key token requests prove possession of comes from
    /// (shared by the clones in an `AuthorizationManager`).
    dpop: Arc<Mutex<ProofKeys>>,
    nonces: Nonces,
}

/// Where the DPoP key of token requests comes from.
#[derive(Clone)]
enum ProofKeys {
    /// A flow's own key, chosen once the flow knows the authorization
    /// server, and the token endpoint it proves to.
    Chosen(Option<(DpopKey, Url)>),
    /// The server's grant's, whichever grant it holds now (refreshes).
    Grant(GrantStore),
}

impl SafeOAuthHttp {
    pub(crate) fn new(policy: ServerPolicy, send_resource: bool) -> Self {
        let build = |redirect: reqwest::redirect::Policy| {
            crate::http::client_builder()
                .dns_resolver(policy.resolver(crate::ssrf::proxy_hosts_from_env()))
                .redirect(redirect)
                .build()
                .expect("the TLS backend and trust roots are built in")
        };
        let on_redirect = policy.clone();
        let follow = build(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error("too many redirects");
            }
            // Learned before the first request of this redirect chain.
            match on_redirect.current().check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        }));
        let stop = build(reqwest::redirect::Policy::none());
        Self {
            policy,
            follow,
            stop,
            send_resource,
            log: Arc::new(Mutex::new(Vec::new())),
            last_failure: Arc::new(Mutex::new(None)),
            last_refusal: Arc::new(Mutex::new(None)),
            registration: Arc::new(Mutex::new(None)),
            dpop: Arc::new(Mutex::new(ProofKeys::Chosen(None))),
            nonces: Nonces::default(),
        }
    }

    fn proof_keys(&self) -> std::sync::MutexGuard<'_, ProofKeys> {
        self.dpop.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on, token requests prove possession of the key of the
    /// grant `store` holds, at the token endpoint recorded with it: the
    /// server's own client, and a flow's once its grant is the server's.
    pub(crate) fn prove_for_grants_of(&self, store: GrantStore) {
        *self.proof_keys() = ProofKeys::Grant(store);
    }

    /// Learns the server's class again from what its host resolves to now
    /// (at the start of every discovery: the person may have joined or left
    /// the company network since).
    pub(crate) async fn learn_policy(&self) -> SsrfPolicy {
        self.policy.learn().await
    }

    /// The last refusal of the policy, once.
    pub(crate) fn take_last_refusal(&self) -> Option<UnsafeAddress> {
        self.last_refusal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// The same client with a request log of its own, so that what one
    /// discovery reads is not mixed with what other requests of the server
    /// (refreshes, another discovery) do meanwhile; and with no DPoP key
    /// until the flow using it chooses one.
    pub(crate) fn with_own_log(&self) -> Self {
        Self {
            log: Arc::new(Mutex::new(Vec::new())),
            dpop: Arc::new(Mutex::new(ProofKeys::Chosen(None))),
            ..self.clone()
        }
    }

    /// A flow's token requests to `token_endpoint` prove possession of
    /// `key` from now on.
    pub(crate) fn prove_with(&self, key: DpopKey, token_endpoint: &str) {
        *self.proof_keys() =
            ProofKeys::Chosen(Url::parse(token_endpoint).ok().map(|url| (key, url)));
    }

    /// The key token requests prove possession of, and where.
    fn proof(&self) -> Option<(DpopKey, Url)> {
        let keys = self.proof_keys().clone();
        match keys {
            ProofKeys::Chosen(chosen) => chosen,
            ProofKeys::Grant(store) => {
                let grant = store.grant()?;
                let endpoint = Url::parse(&grant.metadata?.token_endpoint).ok()?;
                Some((grant.dpop?, endpoint))
            }
        }
    }

    /// The key token requests prove possession of.
    pub(crate) fn proof_key(&self) -> Option<DpopKey> {
        self.proof().map(|(key, _)| key)
    }

    /// The key to prove with, when `request` is a token request.
    fn proving(&self, request: &http::Request<Vec<u8>>) -> Option<(DpopKey, Url)> {
        if request.method() != http::Method::POST {
            return None;
        }
        let url = Url::parse(&request.uri().to_string()).ok()?;
        self.proof().filter(|(_, endpoint)| *endpoint == url)
    }

    /// Forgets the request log.
    pub(crate) fn clear_log(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Notes how the client about to be registered at `endpoint` must send
    /// its secret, from the registration's answer (answers from anywhere
    /// else are not looked at).
    pub(crate) fn watch_registration(&self, endpoint: &str) {
        *self.registration.lock().unwrap_or_else(|e| e.into_inner()) =
            Url::parse(endpoint).ok().map(|url| (url, None));
    }

    /// How the client just registered must send its secret
    /// (`client_secret_basic` or `client_secret_post`), if the
    /// registration's answer said; once.
    pub(crate) fn take_registered_auth_method(&self) -> Option<String> {
        self.registration
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .and_then(|(_, method)| method)
    }

    /// Why the last failed request failed, once.
    pub(crate) fn take_last_failure(&self) -> Option<String> {
        self.last_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// The requests made since the log was last cleared.
    pub(crate) fn log(&self) -> Vec<Exchange> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A GET that follows no redirects, through the policy.
    pub(crate) async fn get(
        &self,
        url: &Url,
    ) -> Result<http::Response<Vec<u8>>, OAuthHttpClientError> {
        let request = http::Request::get(url.as_str())
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())?;
        self.send(request, false, DEFAULT_TIMEOUT).await
    }

    /// A form POST (revocation), through the policy.
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<http::Response<Vec<u8>>, OAuthHttpClientError> {
        let body = form_body(form);
        let mut request = http::Request::post(url.as_str())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json");
        if let Some((id, secret)) = basic {
            use base64::Engine as _;
            let encode =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                encode(id),
                encode(secret)
            ));
            request = request.header(http::header::AUTHORIZATION, format!("Basic {credentials}"));
        }
        self.send(request.body(body.into_bytes())?, false, DEFAULT_TIMEOUT)
            .await
    }

    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        follow: bool,
        timeout: Duration,
    ) -> Result<http::Response<Vec<u8>>, OAuthHttpClientError> {
        let url = Url::parse(&request.uri().to_string()).ok();
        let sent = match self.proving(&request) {
            Some((key, endpoint)) => {
                self.send_proved(&key, &endpoint, request, follow, timeout)
                    .await
            }
            None => self.send_checked(request, follow, timeout).await,
        };
        if let Err(error) = &sent {
            if let Some(refusal) = error.downcast_ref::<UnsafeAddress>() {
                *self.last_refusal.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(refusal.clone());
            }
            let at = url.as_ref().map(redacted).unwrap_or_default();
            *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(super::short(&format!("{at}: {error}")));
        }
        sent
    }

    /// A token request with a DPoP proof, sent once more with a nonce when
    /// the authorization server answers `use_dpop_nonce` with a new one.
    async fn send_proved(
        &self,
        key: &DpopKey,
        endpoint: &Url,
        request: http::Request<Vec<u8>>,
        follow: bool,
        timeout: Duration,
    ) -> Result<http::Response<Vec<u8>>, OAuthHttpClientError> {
        let (parts, body) = request.into_parts();
        let mut retried = false;
        loop {
            let nonce = self.nonces.for_url(endpoint);
            let proof = key.proof("POST", endpoint, None, nonce.as_deref());
            let mut request = http::Request::post(parts.uri.clone()).body(body.clone())?;
            *request.headers_mut() = parts.headers.clone();
            request
                .headers_mut()
                .insert(DPOP, http::HeaderValue::try_from(proof)?);
            let response = self.send_checked(request, follow, timeout).await?;
            let fresh = self
                .nonces
                .learn_newer(endpoint, response.headers(), nonce.as_deref());
            let wants_nonce = super::dpop::token_endpoint_wants_nonce(
                response.status().as_u16(),
                response.body(),
            );
            if wants_nonce && fresh && !retried {
                retried = true;
                continue;
            }
            return Ok(response);
        }
    }

    async fn send_checked(
        &self,
        request: http::Request<Vec<u8>>,
        follow: bool,
        timeout: Duration,
    ) -> Result<http::Response<Vec<u8>>, OAuthHttpClientError> {
        let request = if self.send_resource {
            request
        } else {
            without_resource(request)
        };
        let mut request = reqwest::Request::try_from(request)?;
        let url = request.url().clone();
        let get = request.method() == reqwest::Method::GET;
        self.policy.get().await.check_url(&url)?;
        *request.timeout_mut() = Some(timeout);
        let client = if follow { &self.follow } else { &self.stop };
        let mut response = client.execute(request).await.map_err(describe_reqwest)?;
        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY as u64)
        {
            return Err(too_large(&url));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe_reqwest)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(too_large(&url));
            }
            body.extend_from_slice(&chunk);
        }
        let status = response.status().as_u16();
        tracing::debug!(url = %redacted(&url), status, "oauth request");
        if !get {
            let mut registration = self.registration.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((endpoint, method)) = registration.as_mut()
                && *endpoint == url
            {
                *method = registered_auth_method(status, &body);
            }
        }
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Exchange { url, status, get });
        Ok(builder.body(numeric_expires_in(body))?)
    }
}

impl OAuthHttpClient for SafeOAuthHttp {
    fn execute(&self, request: OAuthHttpRequest) -> OAuthHttpClientFuture<'_> {
        Box::pin(async move {
            let OAuthHttpRequest {
                request,
                redirect_policy,
                timeout,
                ..
            } = request;
            let follow = !matches!(redirect_policy, OAuthHttpRedirectPolicy::Stop);
            self.send(request, follow, timeout.unwrap_or(DEFAULT_TIMEOUT))
                .await
        })
    }
}

/// The `token_endpoint_auth_method` of a client registration's answer
/// (RFC 7591 §3.2.1: 201 with the client's metadata; some servers say 200).
fn registered_auth_method(status: u16, body: &[u8]) -> Option<String> {
    const FIELD: &[u8] = b"\"token_endpoint_auth_method\"";
    if !(200..300).contains(&status) || !body.windows(FIELD.len()).any(|w| w == FIELD) {
        return None;
    }
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    answer.get("client_id")?;
    let method = answer.get("token_endpoint_auth_method")?.as_str()?;
    matches!(method, "client_secret_basic" | "client_secret_post").then(|| method.to_owned())
}

fn too_large(url: &Url) -> OAuthHttpClientError {
    format!(
        "the answer from {} is larger than {} KiB",
        redacted(url),
        MAX_BODY / 1024
    )
    .into()
}

/// Some authorization servers (Entra's v1 endpoints among them) send a token
/// response's `expires_in` as a string of digits; RFC 6749 makes it a
/// number, and the token parser refuses a string. Turn it into the number
/// it means; anything else is passed on untouched.
fn numeric_expires_in(body: Vec<u8>) -> Vec<u8> {
    if !body.windows(12).any(|w| w == b"\"expires_in\"") {
        return body;
    }
    let Ok(serde_json::Value::Object(mut token)) = serde_json::from_slice(&body) else {
        return body;
    };
    let seconds = match token.get("expires_in") {
        Some(serde_json::Value::String(text)) if token.contains_key("access_token") => {
            text.trim().parse::<u64>().ok()
        }
        _ => None,
    };
    match seconds {
        Some(seconds) => {
            token.insert("expires_in".into(), seconds.into());
            serde_json::to_vec(&token).unwrap_or(body)
        }
        None => body,
    }
}

/// A URL for logs and errors: no query (which may carry codes or state).
/// An `application/x-www-form-urlencoded` body (built outside the async
/// functions: the serializer is not `Send`).
fn form_body(form: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

pub(crate) fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// reqwest errors name the URL with its query; keep the cause only, and
/// surface a refused address as such.
fn describe_reqwest(error: reqwest::Error) -> OAuthHttpClientError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if let Some(unsafe_address) = current.downcast_ref::<crate::ssrf::UnsafeAddress>() {
            return Box::new(unsafe_address.clone());
        }
        source = current.source();
    }
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text.into()
}

/// Drops RFC 8707 `resource` from a token-endpoint form body.
fn without_resource(request: http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let is_form = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return request;
    }
    let (mut parts, body) = request.into_parts();
    let body: Vec<u8> = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(url::form_urlencoded::parse(&body).filter(|(name, _)| name != "resource"))
        .finish()
        .into_bytes();
    parts.headers.remove(http::header::CONTENT_LENGTH);
    http::Request::from_parts(parts, body)
}

/// Drops `resource` from an authorization URL.
pub(crate) fn strip_resource_param(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        return url.to_owned();
    };
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(name, _)| name != "resource")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(kept);
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_registrations_answer_names_how_its_secret_is_sent() {
        let answer = |method: &str| {
            format!(
                r#"{{"client_id":"c","client_secret":"s","token_endpoint_auth_method":"{method}"}}"#
            )
        };
        let post = answer("client_secret_post");
        assert_eq!(
            super::registered_auth_method(201, post.as_bytes()).as_deref(),
            Some("client_secret_post")
        );
        // A refusal, a method Gatehouse does not send secrets with, an
        // answer that registered nothing: nothing to follow.
        assert_eq!(super::registered_auth_method(400, post.as_bytes()), None);
        let jwt = answer("private_key_jwt");
        assert_eq!(super::registered_auth_method(201, jwt.as_bytes()), None);
        let token = br#"{"access_token":"a","token_endpoint_auth_method":"client_secret_post"}"#;
        assert_eq!(super::registered_auth_method(200, token), None);
    }

    #[test]
    fn a_string_expires_in_is_read_as_the_number_it_means() {
        let fixed = numeric_expires_in(
            br#"{"access_token":"a","token_type":"Bearer","expires_in":"3599"}"#.to_vec(),
        );
        let token: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(token["expires_in"], 3599);
        for untouched in [
            br#"{"access_token":"a","expires_in":3600}"#.to_vec(),
            br#"{"access_token":"a","expires_in":"soon"}"#.to_vec(),
            br#"{"issuer":"x","expires_in":"5"}"#.to_vec(),
            b"not json".to_vec(),
        ] {
            assert_eq!(numeric_expires_in(untouched.clone()), untouched);
        }
    }

    use super::*;

    /// A company server behind internal DNS, and names that lead to cloud
    /// metadata services.
    fn corp_dns(host: &str) -> std::io::Result<Vec<std::net::IpAddr>> {
        let answer = match host {
            "mcp.corp.example" => "10.0.0.5",
            "imds.example" => "::ffff:169.254.169.254",
            "imds6.example" => "fd00:ec2::254",
            _ => return Err(std::io::ErrorKind::NotFound.into()),
        };
        Ok(vec![answer.parse().unwrap()])
    }

    #[tokio::test]
    async fn every_request_meets_the_policy_on_its_url_and_its_resolved_addresses() {
        let server = Url::parse("https://mcp.corp.example/mcp").unwrap();
        let http = SafeOAuthHttp::new(ServerPolicy::with_lookup(server, Arc::new(corp_dns)), true);
        assert!(http.learn_policy().await.allow_private);
        for target in [
            "https://imds.example/latest/meta-data",
            "https://imds6.example/latest/meta-data",
            "https://[::a9fe:a9fe]/latest/meta-data",
            "https://100.100.100.200/latest/meta-data",
        ] {
            let url = Url::parse(target).unwrap();
            let refused = http.get(&url).await.unwrap_err().to_string();
            assert!(
                refused.contains("is a cloud metadata address"),
                "{target}: {refused}"
            );
            assert!(http.take_last_refusal().is_some(), "{target}");
            // Revocation posts through the same policy.
            let refused = http
                .post_form(&url, &[("token", "t")], None)
                .await
                .unwrap_err()
                .to_string();
            assert!(
                refused.contains("is a cloud metadata address"),
                "{target}: {refused}"
            );
        }
        assert!(http.log().is_empty(), "nothing was sent");
    }

    #[test]
    fn resource_is_stripped_from_forms_and_urls() {
        let request = http::Request::post("https://as.example/token")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(b"grant_type=refresh_token&resource=https%3A%2F%2Fr&refresh_token=x".to_vec())
            .unwrap();
        let stripped = without_resource(request);
        assert_eq!(
            String::from_utf8(stripped.into_body()).unwrap(),
            "grant_type=refresh_token&refresh_token=x"
        );
        assert_eq!(
            strip_resource_param("https://as.example/authorize?a=1&resource=https%3A%2F%2Fr&b=2"),
            "https://as.example/authorize?a=1&b=2"
        );
    }
}
