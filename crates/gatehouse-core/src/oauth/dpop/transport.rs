//! The HTTP client under an OAuth server's MCP transport.
//!
//! rmcp's `AuthClient` hands it the access token for each request. A Bearer
//! token goes on to rmcp's own reqwest client unchanged. A token bound to
//! the grant's DPoP key goes out as `Authorization: DPoP <token>` with a
//! fresh proof for that request (RFC 9449 §7), and when the server answers
//! 401 `use_dpop_nonce` with a new `DPoP-Nonce`, once more with a proof
//! carrying it (§9). rmcp's client keeps nothing of a 401 but its
//! `WWW-Authenticate`, so these requests are sent and their answers read
//! here, the way rmcp's client reads them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt as _;
use http::{HeaderName, HeaderValue, StatusCode, header};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, ErrorData, ServerJsonRpcMessage};
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError, StreamableHttpClient,
    StreamableHttpError, StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use url::Url;

use super::{DPOP, DpopKey, Nonces, resource_wants_nonce};
use crate::oauth::store::GrantStore;

type Failure = StreamableHttpError<reqwest::Error>;

const SESSION_ID: &str = "mcp-session-id";
const LAST_EVENT_ID: &str = "last-event-id";
const EVENT_STREAM: &str = "text/event-stream";
const JSON: &str = "application/json";

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct BoundHttp {
    http: reqwest::Client,
    store: GrantStore,
    nonces: Nonces,
}

/// A request whose token is bound: the key and the token.
struct Bound {
    key: DpopKey,
    token: String,
}

impl BoundHttp {
    pub(crate) fn new(http: reqwest::Client, store: GrantStore) -> Self {
        Self {
            http,
            store,
            nonces: Nonces::default(),
        }
    }

    fn bound(&self, token: Option<&String>) -> Option<Bound> {
        let token = token?;
        Some(Bound {
            key: self.store.proof_key_for(token)?,
            token: token.clone(),
        })
    }

    /// Sends the request `build` makes, with the token and a proof, and
    /// again with the nonce the server asks for.
    async fn send(
        &self,
        bound: &Bound,
        method: reqwest::Method,
        uri: &str,
        custom_headers: &HashMap<HeaderName, HeaderValue>,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Failure> {
        let url = Url::parse(uri).map_err(|e| {
            StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!(
                "the server URL cannot be parsed: {e}"
            )))
        })?;
        let mut retried = false;
        loop {
            let nonce = self.nonces.for_url(&url);
            let proof =
                bound
                    .key
                    .proof(method.as_str(), &url, Some(&bound.token), nonce.as_deref());
            let mut request = self.http.request(method.clone(), uri);
            for (name, value) in custom_headers {
                if [SESSION_ID, LAST_EVENT_ID, "accept"].contains(&name.as_str()) {
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
                .header(header::AUTHORIZATION, format!("DPoP {}", bound.token))
                .header(DPOP, proof)
                .send()
                .await?;
            let fresh = self.nonces.learn(&url, response.headers());
            let wants_nonce = response.status() == StatusCode::UNAUTHORIZED
                && www_authenticate(&response).is_some_and(resource_wants_nonce);
            if wants_nonce && fresh && !retried {
                retried = true;
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
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let is = |media: &str| {
            content_type
                .as_deref()
                .is_some_and(|ct| is_media(ct, media))
        };
        let awaits_no_response = !matches!(message, ClientJsonRpcMessage::Request(_));
        if !status.is_success() {
            let limit = if is(JSON) {
                limits.max_json_response_size
            } else {
                limits.max_error_response_size
            };
            let body = read_prefix(response, limit).await;
            let error = serde_json::from_slice::<ServerJsonRpcMessage>(&body)
                .ok()
                .filter(|m| matches!(m, ServerJsonRpcMessage::Error(_)));
            // A 2026-07-28 `server/discover` an older server refused: the
            // refusal, as the answer to that request (what rmcp's own
            // client does), so the handshake falls back to `initialize`.
            if let ClientJsonRpcMessage::Request(request) = &message
                && matches!(request.request, ClientRequest::DiscoverRequest(_))
                && session_id.is_none()
                && status.is_client_error()
            {
                let error = match error {
                    Some(ServerJsonRpcMessage::Error(e)) => e.error,
                    _ => ErrorData::invalid_request(
                        format!(
                            "server/discover rejected with HTTP {status}: {}",
                            String::from_utf8_lossy(&body)
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
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                return Err(HttpStatusError::new(status.as_u16(), None).into());
            }
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                format!("HTTP {status}: {}", String::from_utf8_lossy(&body)),
            )));
        }
        if is(EVENT_STREAM) {
            return Ok(StreamableHttpPostResponse::Sse(
                event_stream(response, limits.max_sse_event_size),
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
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(HttpStatusError::new(status.as_u16(), None).into());
        }
        let response = response.error_for_status()?;
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match content_type.as_deref() {
            Some(ct) if is_media(ct, EVENT_STREAM) || is_media(ct, JSON) => {
                Ok(event_stream(response, max_sse_event_size))
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

fn www_authenticate(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get(header::WWW_AUTHENTICATE)?
        .to_str()
        .ok()
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
            let base = Url::parse("http://localhost/").expect("a valid URL");
            let scope = rmcp::transport::auth::WWWAuthenticateParams::parse(challenge, &base).scope;
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
fn event_stream(response: reqwest::Response, max_event_size: usize) -> BoxedSseResponse {
    // The state: bytes of the event not yet ended; `None` once failed.
    let bytes = response
        .bytes_stream()
        .scan(Some(0usize), move |state, chunk| {
            let item = state.map(|pending| {
                let checked = chunk.map_err(std::io::Error::other).and_then(|chunk| {
                    let pending = match last_event_end(&chunk) {
                        Some(end) => chunk.len() - end,
                        None => pending + chunk.len(),
                    };
                    if pending > max_event_size {
                        return Err(std::io::Error::other(format!(
                            "an event of the server's stream is larger than {max_event_size} bytes"
                        )));
                    }
                    Ok((chunk, pending))
                });
                *state = checked.as_ref().ok().map(|(_, pending)| *pending);
                checked.map(|(chunk, _)| chunk)
            });
            futures::future::ready(item)
        });
    sse_stream::SseStream::from_bytes_stream(bytes).boxed()
}

/// Where the last event in `chunk` ends (after its blank line).
fn last_event_end(chunk: &[u8]) -> Option<usize> {
    [&b"\n\n"[..], b"\r\n\r\n", b"\r\r"]
        .iter()
        .filter_map(|end| {
            chunk
                .windows(end.len())
                .rposition(|w| w == *end)
                .map(|at| at + end.len())
        })
        .max()
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
