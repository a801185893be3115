//! The HTTP client under an OAuth server's MCP transport.
//!
//! rmcp's `AuthClient` hands it the access token for each request. A Bearer
//! token goes on to rmcp's own reqwest client unchanged. A token bound to
//! the grant's DPoP key goes out as `Authorization: DPoP <token>` with a
//! fresh proof for that request (RFC 9449 §7), and when the server answers
//! 401 `use_dpop_nonce` with a new `DPoP-Nonce`, once more with a proof
//! carrying it (§9); a same-origin 307 or 308 is followed with a proof for
//! the new URL. rmcp's client keeps nothing of a 401 but its
//! `WWW-Authenticate`, so these requests are sent and their answers read
//! here, the way rmcp's client reads them.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use http::{HeaderName, HeaderValue, StatusCode, header};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, ErrorData, ServerJsonRpcMessage};
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::common::http_header::{
    EVENT_STREAM_MIME_TYPE as EVENT_STREAM, HEADER_LAST_EVENT_ID as LAST_EVENT_ID,
    HEADER_SESSION_ID as SESSION_ID, JSON_MIME_TYPE as JSON,
};
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError, StreamableHttpClient,
    StreamableHttpError, StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::{DPOP, DpopKey, Nonces, resource_wants_nonce};
use crate::oauth::store::GrantStore;

type Failure = StreamableHttpError<reqwest::Error>;

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct BoundHttp {
    /// rmcp's client's, for Bearer tokens.
    http: reqwest::Client,
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
            http,
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
                let reserved = [SESSION_ID, LAST_EVENT_ID, "accept"];
                if reserved
                    .iter()
                    .any(|r| name.as_str().eq_ignore_ascii_case(r))
                {
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
                let r = r.header(header::ACCEPT, format!("{EVENT_STREAM}, {JSON}"));
                match &session_id {
                    Some(id) => r.header(SESSION_ID, id.as_ref()),
                    None => r,
                }
                .json(&message)
            })
            .await?;
        challenged(&response)?;
        let status = response.status();
        if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == StatusCode::NOT_FOUND && session_id.is_some() {
            return Err(StreamableHttpError::SessionExpired);
        }
        let new_session = response
            .headers()
            .get(SESSION_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let is = |media: &str| {
            content_type
                .as_deref()
                .is_some_and(|ct| is_media(ct, media))
        };
        let awaits_no_response = !matches!(message, ClientJsonRpcMessage::Request(_));
        if !status.is_success() {
            return self::failed(
                response,
                &message,
                session_id.is_some(),
                new_session,
                is(JSON),
                limits,
            )
            .await;
        }
        if is(EVENT_STREAM) {
            return Ok(StreamableHttpPostResponse::Sse(
                event_stream(response, limits.max_sse_event_size, &self.overflowed),
                new_session,
            ));
        }
        if is(JSON) {
            let body = read_all(response, limits.max_json_response_size).await?;
            return match serde_json::from_slice::<ServerJsonRpcMessage>(&body) {
                Ok(parsed) => Ok(StreamableHttpPostResponse::Json(parsed, new_session)),
                Err(_) if awaits_no_response => Ok(StreamableHttpPostResponse::Accepted),
                Err(e) => Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                    format!("the server's answer is not JSON-RPC: {e}"),
                ))),
            };
        }
        if awaits_no_response {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        Err(StreamableHttpError::UnexpectedContentType(content_type))
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
                let mut r = r.header(header::ACCEPT, format!("{EVENT_STREAM}, {JSON}"));
                if let Some(id) = &session_id {
                    r = r.header(SESSION_ID, id.as_ref());
                }
                if let Some(id) = &last_event_id {
                    r = r.header(LAST_EVENT_ID, id);
                }
                r
            })
            .await?;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        challenged(&response)?;
        if let Some(error) = status_error(response.status(), retry_after(&response)) {
            return Err(error.into());
        }
        let response = response.error_for_status()?;
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        match content_type.as_deref() {
            Some(ct) if is_media(ct, EVENT_STREAM) || is_media(ct, JSON) => {
                Ok(event_stream(response, max_sse_event_size, &self.overflowed))
            }
            _ => Err(StreamableHttpError::UnexpectedContentType(content_type)),
        }
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

/// A POST's failure, read as rmcp's client reads it: a rate limit, or a
/// server error without a JSON body, by its status; a JSON-RPC error in the
/// body as the server's answer (a refused `server/discover` as the answer
/// to it, so the handshake falls back to `initialize`); anything else as
/// the status and the start of the body.
async fn failed(
    response: reqwest::Response,
    message: &ClientJsonRpcMessage,
    in_session: bool,
    new_session: Option<String>,
    json: bool,
    limits: StreamableHttpResponseLimits,
) -> Result<StreamableHttpPostResponse, Failure> {
    let status = response.status();
    let retry_after = retry_after(&response);
    let status_error = || status_error(status, retry_after.clone());
    if let Some(error) = status_error()
        && (!json || status == StatusCode::TOO_MANY_REQUESTS)
    {
        return Err(error.into());
    }
    // A 401 or 403 without a challenge keeps its status.
    let auth_failure = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    let limit = if json && !auth_failure {
        limits.max_json_response_size
    } else {
        limits.max_error_response_size
    };
    let body = read_prefix(response, limit).await;
    let error = (json && !auth_failure)
        .then(|| serde_json::from_slice::<ServerJsonRpcMessage>(&body).ok())
        .flatten()
        .filter(|m| matches!(m, ServerJsonRpcMessage::Error(_)));
    if let ClientJsonRpcMessage::Request(request) = message
        && matches!(request.request, ClientRequest::DiscoverRequest(_))
        && !in_session
        && status.is_client_error()
        && !auth_failure
    {
        let error = match error {
            Some(ServerJsonRpcMessage::Error(e)) => e.error,
            _ => ErrorData::invalid_request(
                format!(
                    "server/discover rejected with HTTP {status}: {}",
                    shown(&body, limits.max_error_response_size)
                ),
                None,
            ),
        };
        return Ok(StreamableHttpPostResponse::Json(
            ServerJsonRpcMessage::error(error, Some(request.id.clone())),
            None,
        ));
    }
    if let Some(error) = error {
        return Ok(StreamableHttpPostResponse::Json(error, new_session));
    }
    if let Some(error) = status_error() {
        return Err(error.into());
    }
    Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
        format!(
            "HTTP {status}: {}",
            shown(&body, limits.max_error_response_size)
        ),
    )))
}

/// At most `limit` bytes of a body, as text.
fn shown(body: &[u8], limit: usize) -> String {
    String::from_utf8_lossy(&body[..body.len().min(limit)]).into_owned()
}

/// A rate limit or a server error, with its `Retry-After`.
fn status_error(status: StatusCode, retry_after: Option<String>) -> Option<HttpStatusError> {
    (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
        .then(|| HttpStatusError::new(status.as_u16(), retry_after))
}

fn retry_after(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn www_authenticate(response: &reqwest::Response) -> Option<&str> {
    www_authenticate_all(response).next()
}

/// Every `WWW-Authenticate` header: a server may send its `Bearer` and
/// `DPoP` challenges apart.
fn www_authenticate_all(response: &reqwest::Response) -> impl Iterator<Item = &str> {
    response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
}

/// Where a redirect points, when it stays within `from`'s origin.
fn same_origin_location(from: &Url, response: &reqwest::Response) -> Option<Url> {
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    let next = from.join(location).ok()?;
    (next.origin() == from.origin()).then_some(next)
}

/// A 401 or 403 with a challenge, as rmcp's `AuthClient` expects it.
fn challenged(response: &reqwest::Response) -> Result<(), Failure> {
    let Some(challenge) = www_authenticate(response) else {
        return Ok(());
    };
    match response.status() {
        StatusCode::UNAUTHORIZED => Err(StreamableHttpError::AuthRequired(AuthRequiredError::new(
            challenge.to_owned(),
        ))),
        StatusCode::FORBIDDEN => {
            let scope = crate::oauth::challenge_params(challenge).scope;
            Err(StreamableHttpError::InsufficientScope(
                InsufficientScopeError::new(challenge.to_owned(), scope),
            ))
        }
        _ => Ok(()),
    }
}

/// Whether a `Content-Type` names `media` (parameters and case aside).
fn is_media(content_type: &str, media: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(media))
}

/// The whole body, refused beyond `limit` bytes.
async fn read_all(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, Failure> {
    let too_large = || StreamableHttpError::ResponseBodyTooLarge { max_size: limit };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// At most the first `limit` bytes of a failure's body (what could be read).
async fn read_prefix(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())])
            }
            _ => break,
        }
    }
    body
}

/// The response's events, each held to `max_event_size` bytes: a server
/// that never ends an event fails the stream instead of filling memory.
fn event_stream(
    response: reqwest::Response,
    max_event_size: usize,
    overflowed: &Arc<AtomicBool>,
) -> BoxedSseResponse {
    let overflowed = overflowed.clone();
    // `None` once failed: the stream ends after its error.
    let bytes = response
        .bytes_stream()
        .scan(Some(EventSize::default()), move |state, chunk| {
            let checked = state.as_mut().map(|size| {
                let chunk = chunk.map_err(std::io::Error::other)?;
                if size.observe(&chunk, max_event_size) {
                    Ok(chunk)
                } else {
                    tracing::warn!(
                        max_event_size,
                        "the server sent an event over the limit; its streams are not opened again"
                    );
                    overflowed.store(true, Ordering::Relaxed);
                    Err(std::io::Error::other(format!(
                        "an event of the server's stream is larger than {max_event_size} bytes"
                    )))
                }
            });
            if checked.as_ref().is_some_and(Result::is_err) {
                *state = None;
            }
            futures::future::ready(checked)
        });
    sse_stream::SseStream::from_bytes_stream(bytes).boxed()
}

/// The size of the event being received, across chunks: an event ends at
/// an empty line, and lines end at CR, LF or CRLF (the SSE format).
#[derive(Default)]
struct EventSize {
    event: usize,
    line: usize,
    after_cr: bool,
}

impl EventSize {
    /// Takes in `chunk`; false once an event grows past `max`.
    fn observe(&mut self, chunk: &[u8], max: usize) -> bool {
        for &byte in chunk {
            match byte {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\r' | b'\n' => {
                    self.after_cr = byte == b'\r';
                    if self.line == 0 {
                        self.event = 0;
                    }
                    self.line = 0;
                }
                _ => {
                    self.after_cr = false;
                    self.line += 1;
                    self.event += 1;
                    if self.event > max {
                        return false;
                    }
                }
            }
        }
        true
    }
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
    fn an_event_ends_at_an_empty_line_whatever_the_chunks_and_line_endings() {
        // Events of 12 bytes against a limit of 16: never too large, however
        // the blank line between them is split.
        for chunks in [
            vec!["data: {\"x\":1}\n", "\n"],
            vec!["data: {\"x\":1}\r\n", "\r\n"],
            vec!["data: {\"x\":1}\r", "\r"],
            vec!["data: {\"x\":1}\n\n"],
            vec!["data: {\"x\":", "1}\n", "\n"],
        ] {
            let mut size = EventSize::default();
            for _ in 0..100 {
                for chunk in &chunks {
                    assert!(size.observe(chunk.as_bytes(), 16), "{chunks:?}");
                }
            }
        }
        // Lines of one event add up; a CR LF split across chunks is one
        // line end, not an empty line.
        let mut size = EventSize::default();
        assert!(size.observe(b"data: aaaa\r", 20));
        assert!(size.observe(b"\ndata: bb", 20));
        assert!(!size.observe(b"bbbb\n", 20), "one event of 22 bytes");
    }

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
