//! Tool lists as servers wrote them, through the HTTP gateway.
//!
//! rmcp's Streamable HTTP server runs only a `ServerHandler`, whose
//! `list_tools` answers with rmcp's model of a tool list: what the model
//! lacks (a tool's `execution`, MCP 2025-11-25; new annotation hints;
//! vendor fields) would be lost on the way to the client, although
//! [`Upstream::forward`](super::forward::Upstream::forward) has the list as
//! the server wrote it. So a `tools/list` request is marked on its way in
//! ([`ListedAsWritten`], in the HTTP request's extensions, which reach the
//! session's `list_tools`); the session leaves the list there, and the
//! answer's event in the response stream is written again with it
//! ([`rewrite`]). Every other request, and every other event of the
//! stream, passes untouched.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::response::Response;
use futures::StreamExt;
use serde_json::Value;

/// Where the session leaves the forwarded tool list (as the server wrote
/// it, filtered and shaped for the client) for the request it answers.
#[derive(Clone, Default)]
pub(crate) struct ListedAsWritten {
    /// The JSON-RPC id of the `tools/list` request.
    id: Value,
    page: Arc<Mutex<Option<Value>>>,
}

impl ListedAsWritten {
    /// A mark for `body` when it is one `tools/list` request.
    pub(crate) fn for_request(body: &[u8]) -> Option<Self> {
        if body.len() > MARKED_BODY_LIMIT {
            return None;
        }
        #[derive(serde::Deserialize)]
        struct Probe {
            method: Option<String>,
            id: Option<Value>,
        }
        let probe: Probe = serde_json::from_slice(body).ok()?;
        (probe.method.as_deref() == Some("tools/list")).then_some(())?;
        Some(Self {
            id: probe.id?,
            page: Arc::default(),
        })
    }

    pub(crate) fn put(&self, page: Value) {
        *self.page.lock().unwrap_or_else(|e| e.into_inner()) = Some(page);
    }

    fn page(&self) -> Option<Value> {
        self.page.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `event` (one server-sent event) with the tool list as
    /// written in place of the result, when it is the answer to the marked
    /// request and the session left the list; else `None`.
    fn rewritten(&self, event: &[u8]) -> Option<Vec<u8>> {
        let text = std::str::from_utf8(event).ok()?;
        let mut out = String::with_capacity(text.len());
        let mut changed = false;
        for line in text.split_inclusive('\n') {
            let (content, ending) = match line.strip_suffix('\n') {
                Some(content) => (content, "\n"),
                None => (line, ""),
            };
            let data = content.strip_prefix("data:").map(str::trim_start);
            match data.and_then(|data| self.answer_with_page(data)) {
                Some(answer) if !changed => {
                    out.push_str("data: ");
                    out.push_str(&answer);
                    out.push_str(ending);
                    changed = true;
                }
                _ => out.push_str(line),
            }
        }
        changed.then(|| out.into_bytes())
    }

    /// The JSON-RPC message `data` with the list as written as its result,
    /// if it is the marked request's answer.
    fn answer_with_page(&self, data: &str) -> Option<String> {
        let mut message: Value = serde_json::from_str(data).ok()?;
        if !same_id(message.get("id")?, &self.id) || message.get("result").is_none() {
            return None;
        }
        message["result"] = self.page()?;
        serde_json::to_string(&message).ok()
    }
}

/// The largest request body read for a mark: a `tools/list` request is a
/// few hundred bytes; a body above this (or of no stated length) goes to
/// rmcp unread, which reads it within its own limit.
pub(crate) const MARKED_BODY_LIMIT: usize = 64 * 1024;

/// Whether JSON-RPC ids `a` and `b` are the same id: rmcp answers `2.0`
/// with `2`.
fn same_id(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    }
}

/// `response` (rmcp's answer to a marked `tools/list` request) with the
/// answer's event written again from what the session left in `written`.
/// The stream passes through as it arrives, event by event, until that
/// event has gone by; a JSON body is read whole and rewritten.
pub(crate) async fn rewrite(response: Response, written: ListedAsWritten) -> Response {
    let is_json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (parts, body) = response.into_parts();
    if is_json {
        // rmcp's bodies cannot fail.
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            return Response::from_parts(parts, Body::empty());
        };
        let rewritten = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| written.answer_with_page(text))
            .map_or(bytes, Bytes::from);
        let mut response = Response::from_parts(parts, Body::from(rewritten));
        response.headers_mut().remove(http::header::CONTENT_LENGTH);
        return response;
    }
    let splitter = Arc::new(Mutex::new(EventSplitter {
        written,
        pending: Vec::new(),
        done: false,
    }));
    let at_end = splitter.clone();
    let stream = body
        .into_data_stream()
        .map(move |chunk| chunk.map(|chunk| locked(&splitter).feed(chunk)))
        .chain(futures::stream::once(async move {
            Ok(Bytes::from(std::mem::take(&mut locked(&at_end).pending)))
        }))
        // An empty chunk is nothing to send.
        .filter(|chunk| std::future::ready(!chunk.as_ref().is_ok_and(Bytes::is_empty)));
    Response::from_parts(parts, Body::from_stream(stream))
}

fn locked(splitter: &Mutex<EventSplitter>) -> std::sync::MutexGuard<'_, EventSplitter> {
    splitter.lock().unwrap_or_else(|e| e.into_inner())
}

/// A response stream passing through: the bytes not yet passed on end
/// within an event.
struct EventSplitter {
    written: ListedAsWritten,
    pending: Vec<u8>,
    /// The answer has been rewritten: the rest passes untouched.
    done: bool,
}

impl EventSplitter {
    /// What of the stream passes on once `chunk` has arrived: its complete
    /// events, the answer among them rewritten.
    fn feed(&mut self, chunk: Bytes) -> Bytes {
        if self.done {
            return chunk;
        }
        self.pending.extend_from_slice(&chunk);
        let mut out = Vec::with_capacity(self.pending.len());
        while let Some(end) = event_end(&self.pending) {
            let event: Vec<u8> = self.pending.drain(..end).collect();
            match self.written.rewritten(&event) {
                Some(rewritten) => {
                    out.extend_from_slice(&rewritten);
                    self.done = true;
                    out.append(&mut self.pending);
                    break;
                }
                None => out.extend_from_slice(&event),
            }
        }
        Bytes::from(out)
    }
}

/// Where the first complete event in `bytes` ends (after its blank line).
fn event_end(bytes: &[u8]) -> Option<usize> {
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn marked(body: Value) -> Option<ListedAsWritten> {
        ListedAsWritten::for_request(body.to_string().as_bytes())
    }

    #[test]
    fn only_a_tools_list_request_is_marked() {
        let list = marked(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"})).unwrap();
        assert_eq!(list.id, json!(7));
        let named = json!({"jsonrpc": "2.0", "id": "a", "method": "tools/list", "params": {}});
        assert_eq!(marked(named).unwrap().id, json!("a"));
        for other in [
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "tools/list", "arguments": {}}}),
            json!({"jsonrpc": "2.0", "method": "tools/list"}),
            json!([{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}]),
            json!({"jsonrpc": "2.0", "id": 1, "result": {"tools/list": true}}),
        ] {
            assert!(marked(other.clone()).is_none(), "{other}");
        }
        assert!(ListedAsWritten::for_request(b"{\"method\": \"tools/list\", ").is_none());
        // Written with an escape; an id rmcp answers as 2.
        let escaped = br#"{"jsonrpc": "2.0", "id": 2.0, "method": "tools\/list"}"#;
        let escaped = ListedAsWritten::for_request(escaped).unwrap();
        assert!(same_id(&escaped.id, &json!(2)));
        // Too large to be one: not read.
        let padded = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
            "params": {"_meta": {"pad": "x".repeat(MARKED_BODY_LIMIT)}}});
        assert!(marked(padded).is_none());
    }

    fn page() -> Value {
        json!({"tools": [{"name": "t", "inputSchema": {"type": "object"},
            "execution": {"taskSupport": "optional"}}]})
    }

    fn typed() -> Value {
        json!({"tools": [{"name": "t", "inputSchema": {"type": "object"}}]})
    }

    #[test]
    fn the_answers_event_is_written_again_and_nothing_else() {
        let written = marked(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).unwrap();
        let answer = json!({"jsonrpc": "2.0", "id": 2, "result": typed()});
        let event = format!("id: 0/3\ndata: {answer}\n\n");
        // Nothing left by the session: as it is.
        assert!(written.rewritten(event.as_bytes()).is_none());
        written.put(page());
        let again = written.rewritten(event.as_bytes()).unwrap();
        let again = String::from_utf8(again).unwrap();
        let expected = json!({"jsonrpc": "2.0", "id": 2, "result": page()});
        assert_eq!(again, format!("id: 0/3\ndata: {expected}\n\n"));
        // Another request's answer, a notification, a priming event, an
        // error: as they are.
        for other in [
            format!(
                "data: {}\n\n",
                json!({"jsonrpc": "2.0", "id": 3, "result": typed()})
            ),
            format!(
                "data: {}\n\n",
                json!({"jsonrpc": "2.0", "method": "notifications/progress"})
            ),
            "id: 0/0\nretry: 3000\ndata:\n\n".to_owned(),
            format!(
                "data: {}\n\n",
                json!({"jsonrpc": "2.0", "id": 2, "error": {"code": 1}})
            ),
        ] {
            assert!(written.rewritten(other.as_bytes()).is_none(), "{other}");
        }
    }

    #[test]
    fn a_stream_cut_anywhere_passes_whole_with_the_answer_rewritten() {
        let written = marked(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).unwrap();
        written.put(page());
        let progress = json!({"jsonrpc": "2.0", "method": "notifications/message"});
        let answer = json!({"jsonrpc": "2.0", "id": 2, "result": typed()});
        let stream = format!("data:\nid: 0\n\ndata: {progress}\n\ndata: {answer}\n\n:\n\n");
        let expected = json!({"jsonrpc": "2.0", "id": 2, "result": page()});
        let want = format!("data:\nid: 0\n\ndata: {progress}\n\ndata: {expected}\n\n:\n\n");
        for cut in [1, 5, 17, 40, stream.len()] {
            let mut splitter = EventSplitter {
                written: written.clone(),
                pending: Vec::new(),
                done: false,
            };
            let mut out = Vec::new();
            for chunk in stream.as_bytes().chunks(cut) {
                out.extend_from_slice(&splitter.feed(Bytes::copy_from_slice(chunk)));
            }
            out.append(&mut splitter.pending);
            assert_eq!(String::from_utf8(out).unwrap(), want, "chunks of {cut}");
        }
    }

    #[tokio::test]
    async fn a_response_is_rewritten_as_a_stream_or_as_json() {
        let written = marked(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).unwrap();
        written.put(page());
        let answer = json!({"jsonrpc": "2.0", "id": 2, "result": typed()});
        let expected = json!({"jsonrpc": "2.0", "id": 2, "result": page()});
        let sse = Response::builder()
            .header(http::header::CONTENT_TYPE, "text/event-stream")
            .body(Body::from(format!("data: {answer}\n\n")))
            .unwrap();
        let json = Response::builder()
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(answer.to_string()))
            .unwrap();
        let read = |response: Response| async {
            let body = rewrite(response, written.clone()).await.into_body();
            String::from_utf8(
                axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap()
                    .to_vec(),
            )
            .unwrap()
        };
        assert_eq!(read(sse).await, format!("data: {expected}\n\n"));
        let json: Value = serde_json::from_str(&read(json).await).unwrap();
        assert_eq!(json, expected);
    }
}
