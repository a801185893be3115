//! A server's answer to a POST or GET of the Streamable HTTP transport, read
//! as rmcp's reqwest client reads it, for the requests Gatehouse sends
//! itself: those with a DPoP-bound token (`oauth::dpop::transport`), and
//! listing pages whose entries are kept as the server wrote them
//! ([`RawPage`]).

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt as _;
use http::{StatusCode, header};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, ErrorData, ServerJsonRpcMessage};
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::common::http_header::{
    EVENT_STREAM_MIME_TYPE as EVENT_STREAM, HEADER_LAST_EVENT_ID as LAST_EVENT_ID,
    HEADER_SESSION_ID as SESSION_ID, JSON_MIME_TYPE as JSON,
};
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError, StreamableHttpError,
    StreamableHttpPostResponse, StreamableHttpResponseLimits,
};

use super::listing::RawPage;

pub(crate) type Failure = StreamableHttpError<reqwest::Error>;

/// What a POST or GET accepts.
pub(crate) const ACCEPT: &str = "text/event-stream, application/json";

/// Whether a custom header would take the place of one the transport sets.
pub(crate) fn reserved(name: &http::HeaderName) -> bool {
    [SESSION_ID, LAST_EVENT_ID, "accept"]
        .iter()
        .any(|r| name.as_str().eq_ignore_ascii_case(r))
}

/// The answer to `message`, POSTed within a session when `in_session`. A
/// stream that sends an event over the limit sets `overflowed`.
pub(crate) async fn read_post(
    response: reqwest::Response,
    message: &ClientJsonRpcMessage,
    in_session: bool,
    limits: StreamableHttpResponseLimits,
    overflowed: Option<&Arc<AtomicBool>>,
) -> Result<StreamableHttpPostResponse, Failure> {
    challenged(&response)?;
    let status = response.status();
    if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
        return Ok(StreamableHttpPostResponse::Accepted);
    }
    if status == StatusCode::NOT_FOUND && in_session {
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
        return self::failed(response, message, in_session, new_session, is(JSON), limits).await;
    }
    let raw = RawPage::of(message);
    if is(EVENT_STREAM) {
        let events = event_stream(response, limits.max_sse_event_size, overflowed);
        let events = match raw {
            Some((page, id)) => events
                .inspect(move |event| {
                    if let Ok(event) = event
                        && let Some(data) = &event.data
                    {
                        page.keep(&id, data.as_bytes());
                    }
                })
                .boxed(),
            None => events,
        };
        return Ok(StreamableHttpPostResponse::Sse(events, new_session));
    }
    if is(JSON) {
        let body = read_all(response, limits.max_json_response_size).await?;
        if let Some((page, id)) = raw {
            page.keep(&id, &body);
        }
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

/// The stream a GET opened. A stream that sends an event over the limit
/// sets `overflowed`.
pub(crate) fn read_stream(
    response: reqwest::Response,
    max_sse_event_size: usize,
    overflowed: &Arc<AtomicBool>,
) -> Result<BoxedSseResponse, Failure> {
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
            Ok(event_stream(response, max_sse_event_size, Some(overflowed)))
        }
        _ => Err(StreamableHttpError::UnexpectedContentType(content_type)),
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
pub(crate) fn www_authenticate_all(response: &reqwest::Response) -> impl Iterator<Item = &str> {
    response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
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
    overflowed: Option<&Arc<AtomicBool>>,
) -> BoxedSseResponse {
    let overflowed = overflowed.cloned();
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
                        "the server sent an event over the limit; the stream ends"
                    );
                    if let Some(overflowed) = &overflowed {
                        overflowed.store(true, Ordering::Relaxed);
                    }
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

    fn listing_request(page: &RawPage) -> ClientJsonRpcMessage {
        use rmcp::model::{GetExtensions as _, ListToolsRequest, RequestId};
        let mut request = ClientRequest::ListToolsRequest(ListToolsRequest {
            method: Default::default(),
            params: None,
            extensions: Default::default(),
        });
        request.extensions_mut().insert(page.clone());
        ClientJsonRpcMessage::request(request, RequestId::Number(3))
    }

    fn answer(content_type: &str, body: &str) -> reqwest::Response {
        reqwest::Response::from(
            http::Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, content_type)
                .body(body.to_owned())
                .unwrap(),
        )
    }

    const TOOLS: &str = r#"{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"t","inputSchema":{"type":"object"},"execution":{"taskSupport":"forbidden"}}]}}"#;

    #[tokio::test]
    async fn a_listing_page_is_kept_as_written_from_a_json_answer_and_from_a_stream() {
        let limits = StreamableHttpResponseLimits::default();
        let kept = |page: &RawPage| {
            page.take()
                .map(|result| result["tools"][0]["execution"].clone())
        };

        let page = RawPage::default();
        let posted = read_post(
            answer(JSON, TOOLS),
            &listing_request(&page),
            false,
            limits,
            None,
        )
        .await
        .unwrap();
        assert!(matches!(
            posted,
            StreamableHttpPostResponse::Json(ServerJsonRpcMessage::Response(_), _)
        ));
        assert_eq!(
            kept(&page),
            Some(serde_json::json!({"taskSupport": "forbidden"}))
        );

        let page = RawPage::default();
        let stream = format!(
            "data: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{{\"level\":\"info\",\"data\":1}}}}\n\ndata: {TOOLS}\n\n"
        );
        let Ok(StreamableHttpPostResponse::Sse(events, _)) = read_post(
            answer(EVENT_STREAM, &stream),
            &listing_request(&page),
            false,
            limits,
            None,
        )
        .await
        else {
            panic!("an event stream");
        };
        assert_eq!(events.count().await, 2);
        assert_eq!(
            kept(&page),
            Some(serde_json::json!({"taskSupport": "forbidden"}))
        );
    }
}
