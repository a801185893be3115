//! The HTTP client under an OAuth server's MCP transport.
//!
//! rmcp's `AuthClient` hands it the access token for each request. A Bearer
//! token goes on to rmcp's own reqwest client unchanged. A token bound to
//! the grant's DPoP key goes out as `Authorization: DPoP <token>` with a
//! fresh proof for that request (RFC 9449 §7), and when the server answers
//! 401 `use_dpop_nonce` with a new `DPoP-Nonce`, once more with a proof
//! carrying it (§9); a same-origin 307 or 308 is followed with a proof for
//! the new URL. rmcp's client keeps nothing of a 401 but its
//! `WWW-Authenticate`, so these requests are sent here, and their answers
//! read the way rmcp's client reads them (`connection::answer`).

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http::{HeaderName, HeaderValue, StatusCode, header};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::common::http_header::{
    HEADER_LAST_EVENT_ID as LAST_EVENT_ID, HEADER_SESSION_ID as SESSION_ID,
};
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::{DPOP, DpopKey, Nonces, resource_wants_nonce};
use crate::connection::answer::{self, Failure, read_post, read_stream, www_authenticate_all};
use crate::connection::transport::McpHttp;
use crate::oauth::store::GrantStore;

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct BoundHttp {
    /// rmcp's client's, for Bearer tokens.
    http: McpHttp,
    /// Follows no redirects: each hop needs a proof of its own.
    bound_http: reqwest::Client,
    store: GrantStore,
    nonces: Nonces,
    /// The bound tokens sent last and their keys (by the token's hash): a
    /// request that took its token just before a refresh or a new grant
    /// replaced it still goes with its proof, never as a Bearer token.
    recent: Arc<Mutex<VecDeque<Recent>>>,
    /// A stream of the server's sent an event over the limit: its streams
    /// are not opened again (rmcp would reconnect to it for ever, as it
    /// takes only its own limit's error for final).
    overflowed: Arc<AtomicBool>,
}

/// A bound token sent lately (its SHA-256) and its key.
type Recent = (Vec<u8>, DpopKey);

/// Bound tokens remembered beyond the grant's current one.
const RECENT: usize = 4;
/// Redirects followed within the server's origin.
const MAX_REDIRECTS: usize = 5;

/// A request whose token is bound: the key and the token.
struct Bound {
    key: DpopKey,
    token: String,
}

impl BoundHttp {
    pub(crate) fn new(http: reqwest::Client, store: GrantStore) -> Self {
        Self {
            http: McpHttp(http),
            bound_http: crate::http::mcp_client_without_redirects(),
            store,
            nonces: Nonces::default(),
            recent: Arc::default(),
            overflowed: Arc::default(),
        }
    }

    fn bound(&self, token: Option<&String>) -> Option<Bound> {
        let token = token?;
        let hash = Sha256::digest(token.as_bytes()).to_vec();
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let key = match self.store.proof_key_for(token) {
            Some(key) => {
                if !recent.iter().any(|(h, _)| *h == hash) {
                    if recent.len() == RECENT {
                        recent.pop_front();
                    }
                    recent.push_back((hash, key.clone()));
                }
                key
            }
            None => recent.iter().find(|(h, _)| *h == hash)?.1.clone(),
        };
        Some(Bound {
            key,
            token: token.clone(),
        })
    }

    /// Sends the request `build` makes, with the token and a proof: again
    /// with the nonce the server asks for, and along a redirect within the
    /// server's origin (307 and 308 only, which keep the method and body).
    async fn send(
        &self,
        bound: &Bound,
        method: reqwest::Method,
        uri: &str,
        custom_headers: &HashMap<HeaderName, HeaderValue>,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Failure> {
        let unexpected =
            |why: String| StreamableHttpError::UnexpectedServerResponse(Cow::Owned(why));
        let mut url = Url::parse(uri)
            .map_err(|e| unexpected(format!("the server URL cannot be parsed: {e}")))?;
        let mut authorization = HeaderValue::try_from(format!("DPoP {}", bound.token))
            .map_err(|_| unexpected("the access token cannot be sent in a header".into()))?;
        authorization.set_sensitive(true);
        let (mut retried, mut hops) = (false, 0);
        loop {
            let nonce = self.nonces.for_url(&url);
            let proof =
                bound
                    .key
                    .proof(method.as_str(), &url, Some(&bound.token), nonce.as_deref());
            let mut request = self.bound_http.request(method.clone(), url.as_str());
            for (name, value) in custom_headers {
                if answer::reserved(name) {
                    return Err(StreamableHttpError::ReservedHeaderConflict(
                        name.to_string(),
                    ));
                }
                // Ours: the token and its proof.
                if *name != header::AUTHORIZATION && !name.as_str().eq_ignore_ascii_case(DPOP) {
                    request = request.header(name, value);
                }
            }
            let response = build(request)
                .header(header::AUTHORIZATION, authorization.clone())
                .header(DPOP, proof)
                .send()
                .await?;
            let fresh_nonce = self
                .nonces
                .learn_newer(&url, response.headers(), nonce.as_deref());
            let wants_nonce = response.status() == StatusCode::UNAUTHORIZED
                && www_authenticate_all(&response).any(resource_wants_nonce);
            if wants_nonce && fresh_nonce && !retried {
                retried = true;
                continue;
            }
            if matches!(
                response.status(),
                StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
            ) && let Some(next) = same_origin_location(&url, &response)
            {
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(unexpected("the server redirects too many times".into()));
                }
                tracing::debug!(from = %url.path(), to = %next.path(), "following the server's redirect");
                url = next;
                continue;
            }
            return Ok(response);
        }
    }

    async fn post_bound(
        &self,
        bound: Bound,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, Failure> {
        let response = self
            .send(&bound, reqwest::Method::POST, &uri, &custom_headers, |r| {
                let r = r.header(header::ACCEPT, answer::ACCEPT);
                match &session_id {
                    Some(id) => r.header(SESSION_ID, id.as_ref()),
                    None => r,
                }
                .json(&message)
            })
            .await?;
        read_post(
            response,
            &message,
            session_id.is_some(),
            limits,
            Some(&self.overflowed),
        )
        .await
    }

    async fn get_bound(
        &self,
        bound: Bound,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxedSseResponse, Failure> {
        if self.overflowed.load(Ordering::Relaxed) {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        let response = self
            .send(&bound, reqwest::Method::GET, &uri, &custom_headers, |r| {
                let mut r = r.header(header::ACCEPT, answer::ACCEPT);
                if let Some(id) = &session_id {
                    r = r.header(SESSION_ID, id.as_ref());
                }
                if let Some(id) = &last_event_id {
                    r = r.header(LAST_EVENT_ID, id);
                }
                r
            })
            .await?;
        read_stream(response, max_sse_event_size, &self.overflowed)
    }

    async fn delete_bound(
        &self,
        bound: Bound,
        uri: Arc<str>,
        session_id: Arc<str>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), Failure> {
        let response = self
            .send(
                &bound,
                reqwest::Method::DELETE,
                &uri,
                &custom_headers,
                |r| r.header(SESSION_ID, session_id.as_ref()),
            )
            .await?;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Ok(());
        }
        response.error_for_status()?;
        Ok(())
    }
}

/// Where a redirect points, when it stays within `from`'s origin.
fn same_origin_location(from: &Url, response: &reqwest::Response) -> Option<Url> {
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    let next = from.join(location).ok()?;
    (next.origin() == from.origin()).then_some(next)
}

impl StreamableHttpClient for BoundHttp {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, Failure> {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, Failure> {
        let mut limits = StreamableHttpResponseLimits::default();
        limits.max_sse_event_size = max_sse_event_size;
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            limits,
        )
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, Failure> {
        match self.bound(auth_header.as_ref()) {
            Some(bound) => {
                self.post_bound(bound, uri, message, session_id, custom_headers, limits)
                    .await
            }
            None => {
                self.http
                    .post_message_with_response_limits(
                        uri,
                        message,
                        session_id,
                        auth_header,
                        custom_headers,
                        limits,
                    )
                    .await
            }
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), Failure> {
        match self.bound(auth_header.as_ref()) {
            Some(bound) => {
                self.delete_bound(bound, uri, session_id, custom_headers)
                    .await
            }
            None => {
                self.http
                    .delete_session(uri, session_id, auth_header, custom_headers)
                    .await
            }
        }
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxedSseResponse, Failure> {
        self.get_stream_with_max_sse_event_size(
            uri,
            session_id,
            last_event_id,
            auth_header,
            custom_headers,
            StreamableHttpResponseLimits::default().max_sse_event_size,
        )
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxedSseResponse, Failure> {
        match self.bound(auth_header.as_ref()) {
            Some(bound) => {
                self.get_bound(
                    bound,
                    uri,
                    session_id,
                    last_event_id,
                    custom_headers,
                    max_sse_event_size,
                )
                .await
            }
            None => {
                self.http
                    .get_stream_with_max_sse_event_size(
                        uri,
                        session_id,
                        last_event_id,
                        auth_header,
                        custom_headers,
                        max_sse_event_size,
                    )
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_is_followed_only_within_the_origin() {
        let from = Url::parse("https://mcp.example.com/mcp").unwrap();
        let answer = |location: &str| {
            let response = http::Response::builder()
                .status(307)
                .header(header::LOCATION, location)
                .body(Vec::new())
                .unwrap();
            same_origin_location(&from, &reqwest::Response::from(response))
        };
        assert_eq!(
            answer("/mcp/").map(String::from).as_deref(),
            Some("https://mcp.example.com/mcp/")
        );
        assert!(answer("https://elsewhere.example/mcp").is_none());
        assert!(answer("http://mcp.example.com/mcp").is_none());
    }
}
