//! The loopback listener the browser comes back to after consent
//! (RFC 8252 §7.3).
//!
//! It binds 127.0.0.1 before the client is registered, so the redirect URI
//! it reports is exactly the one the browser will use. Each connection is
//! served on its own task, so a connection that never sends anything (a
//! browser's speculative preconnect, a port scanner) cannot hold up the real
//! callback. It reads each request until the blank line that ends the
//! headers, however the bytes are split across TCP reads; refuses a request
//! whose `Host` is not the listener's own `127.0.0.1:PORT` with 421 (a page
//! of another site, reaching the port through a rebound DNS name, cannot
//! complete or disturb the flow); answers anything but `GET /callback` with
//! 404; answers a callback whose `state` does not match with 400 and keeps
//! waiting; and stops after one good callback, a cancellation or its
//! timeout, releasing the port. The browser gets a small page saying what
//! happened, written before the flow reports its result.
//!
//! A pasted address (the browser could not reach the listener) must be the
//! redirect URI itself — same scheme, host, port and path — before its
//! parameters are looked at; a mismatch is refused with the part that
//! differs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

/// The path of the redirect URI.
pub const CALLBACK_PATH: &str = "/callback";
/// Largest request head accepted from the browser.
const MAX_HEAD: usize = 16 * 1024;
/// How long one browser connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; past this the oldest is closed to make room
/// (the browser's real callback is always the newest).
const MAX_CONNECTIONS: usize = 64;
/// How long the browser's connection waits for the outcome of the exchange.
const OUTCOME_WAIT: Duration = Duration::from_secs(60);
/// How long the flow waits for the final page to reach the browser.
const PAGE_WRITE_WAIT: Duration = Duration::from_secs(2);

/// What the authorization server sent back, after `state` was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// Consent given: exchange `code`. `issuer` is RFC 9207's `iss`.
    Code {
        code: String,
        state: String,
        issuer: Option<String>,
    },
    /// The authorization server (or the person) refused. `issuer` is
    /// RFC 9207's `iss`, which error responses carry too.
    Denied {
        error: String,
        description: Option<String>,
        issuer: Option<String>,
    },
}

/// Why no callback arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListenerError {
    #[error("the loopback port {port} is in use ({detail})")]
    PortInUse { port: u16, detail: String },
    #[error("cannot listen on the loopback interface: {0}")]
    Bind(String),
    #[error("the browser did not come back within {}", crate::api::human_duration(*.0))]
    TimedOut(Duration),
    #[error("the authorization was cancelled")]
    Cancelled,
}

/// How the flow answers the browser once it knows the outcome.
pub struct Responder {
    outcome: oneshot::Sender<Outcome>,
    written: oneshot::Receiver<()>,
}

impl Responder {
    /// Shows the browser the outcome, and waits (briefly) until the page is
    /// written, so that a program ending right after still answers it.
    pub async fn finish(self, outcome: Outcome) {
        if self.outcome.send(outcome).is_ok() {
            let _ = tokio::time::timeout(PAGE_WRITE_WAIT, self.written).await;
        }
    }
}

/// What became of a pasted URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// It is the callback the flow waited for.
    Accepted,
    /// It is not; the reason says why, in words for the person.
    Rejected(String),
    /// No authorization is waiting.
    NotWaiting,
}

/// The page the browser sees at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure(String),
}

/// A bound loopback listener waiting for one callback.
pub struct CallbackListener {
    listener: TcpListener,
    addr: SocketAddr,
    pasted: (mpsc::Sender<Pasted>, mpsc::Receiver<Pasted>),
}

type Pasted = (String, oneshot::Sender<Delivery>);

/// Delivers a URL the person pasted (the address their browser ended on)
/// to a listener, for machines where the browser cannot reach it.
#[derive(Clone)]
pub struct PasteHandle(mpsc::Sender<Pasted>);

impl PasteHandle {
    pub async fn deliver(&self, url: String) -> Delivery {
        let (reply, verdict) = oneshot::channel();
        if self.0.send((url, reply)).await.is_err() {
            return Delivery::NotWaiting;
        }
        verdict.await.unwrap_or(Delivery::NotWaiting)
    }
}

impl CallbackListener {
    /// Binds 127.0.0.1:`port` (0 for any free port).
    pub async fn bind(port: u16) -> Result<Self, ListenerError> {
        let listener =
            TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::AddrInUse => ListenerError::PortInUse {
                        port,
                        detail: e.to_string(),
                    },
                    _ => ListenerError::Bind(e.to_string()),
                })?;
        let addr = listener
            .local_addr()
            .map_err(|e| ListenerError::Bind(e.to_string()))?;
        Ok(Self {
            listener,
            addr,
            pasted: mpsc::channel(4),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT/callback`
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.addr.port())
    }

    /// A handle for pasting the final browser URL instead.
    pub fn paste_handle(&self) -> PasteHandle {
        PasteHandle(self.pasted.0.clone())
    }

    /// Waits for the callback carrying `expected_state`. The returned
    /// responder (absent for a pasted URL) must be given the outcome; the
    /// browser's connection stays open until then (or 60 s pass).
    pub async fn wait(
        mut self,
        expected_state: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<(Callback, Option<Responder>), ListenerError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let expected: Arc<str> = Arc::from(expected_state);
        let redirect_uri = Url::parse(&self.redirect_uri()).expect("the redirect URI is a URL");
        // What a browser following the redirect URI sends as `Host`.
        let own_host: Arc<str> = Arc::from(format!("127.0.0.1:{}", self.addr.port()));
        let (found_tx, mut found_rx) = mpsc::channel(1);
        // Dropped on return: connections still being read are closed.
        let mut connections = JoinSet::new();
        let mut oldest_first = std::collections::VecDeque::new();
        loop {
            tokio::select! {
                () = cancel.cancelled() => return Err(ListenerError::Cancelled),
                () = tokio::time::sleep_until(deadline) => return Err(ListenerError::TimedOut(timeout)),
                Some((pasted, reply)) = self.pasted.1.recv() => {
                    match parse_pasted(&pasted, &redirect_uri, expected_state) {
                        Ok(callback) => {
                            let _ = reply.send(Delivery::Accepted);
                            return Ok((callback, None));
                        }
                        Err(rejection) => {
                            tracing::info!(reason = rejection.reason(), "pasted URL rejected");
                            let reason = rejection.pasted_reason(redirect_uri.as_str());
                            let _ = reply.send(Delivery::Rejected(reason));
                        }
                    }
                }
                Some(found) = found_rx.recv() => return Ok(found),
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    oldest_first.retain(|task: &tokio::task::AbortHandle| !task.is_finished());
                    while connections.len() >= MAX_CONNECTIONS {
                        let Some(oldest) = oldest_first.pop_front() else { break };
                        oldest.abort();
                        let _ = connections.join_next().await;
                    }
                    let (expected, own_host, found_tx) =
                        (expected.clone(), own_host.clone(), found_tx.clone());
                    oldest_first.push_back(connections.spawn(async move {
                        if let Some(found) = serve(stream, &expected, &own_host).await {
                            let _ = found_tx.send(found).await;
                        }
                    }));
                }
            }
        }
    }
}

/// Reads one request; answers it unless it is the callback we wait for.
/// `own_host` is the `Host` a browser sends when it follows the redirect URI.
async fn serve(
    mut stream: TcpStream,
    expected_state: &str,
    own_host: &str,
) -> Option<(Callback, Option<Responder>)> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => head,
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::InvalidData => {
            respond(
                &mut stream,
                431,
                "Request too large",
                "This request is larger than a sign-in redirect can be.",
            )
            .await;
            return None;
        }
        _ => return None,
    };
    let callback = match decide(&head, expected_state, own_host) {
        Decision::Callback(callback) => callback,
        Decision::Refuse {
            status,
            title,
            text,
        } => {
            respond(&mut stream, status, title, text).await;
            return None;
        }
    };
    let (outcome_tx, outcome_rx) = oneshot::channel();
    let (written_tx, written_rx) = oneshot::channel();
    // The page is written by a task of its own: the listener (and
    // this connection's task with it) ends as soon as the callback
    // is handed over.
    tokio::spawn(async move {
        let outcome = tokio::time::timeout(OUTCOME_WAIT, outcome_rx)
            .await
            .ok()
            .and_then(Result::ok);
        let (title, text) = match outcome {
            Some(Outcome::Success) => (
                "Signed in",
                "Gatehouse is now authorized. You can close this tab.".to_owned(),
            ),
            Some(Outcome::Failure(reason)) => (
                "Authorization failed",
                format!("{reason} Return to Gatehouse to try again."),
            ),
            None => (
                "Authorization received",
                "Return to Gatehouse to see the result.".to_owned(),
            ),
        };
        respond(&mut stream, 200, title, &text).await;
        let _ = written_tx.send(());
    });
    let responder = Responder {
        outcome: outcome_tx,
        written: written_rx,
    };
    Some((callback, Some(responder)))
}

/// What the listener does with one request head: hand the callback to the
/// flow, or refuse with a status and a short page. The whole decision, with
/// no socket, so that the fuzzer runs exactly what the listener runs.
#[derive(Debug)]
pub(crate) enum Decision {
    Callback(Callback),
    Refuse {
        status: u16,
        title: &'static str,
        text: &'static str,
    },
}

/// See [`Decision`]. `own_host` is the `Host` a browser sends when it
/// follows the redirect URI.
pub(crate) fn decide(head: &[u8], expected_state: &str, own_host: &str) -> Decision {
    let refuse = |status, title, text| Decision::Refuse {
        status,
        title,
        text,
    };
    let Some((method, target)) = request_line(head) else {
        return refuse(
            400,
            "Bad request",
            "This is not a request Gatehouse understands.",
        );
    };
    // DNS rebinding: a page of another site whose name now resolves to
    // 127.0.0.1 reaches this port with its own name as `Host`. The redirect
    // URI names 127.0.0.1, so the browser's real callback always carries
    // exactly `127.0.0.1:PORT` (`localhost` would be a different origin).
    match host_header(head) {
        Some(host) if host == own_host => {}
        Some(_) => {
            return refuse(
                421,
                "Wrong address",
                "This request was not addressed to Gatehouse's sign-in listener, so it was ignored.",
            );
        }
        None => {
            return refuse(
                400,
                "Bad request",
                "This request names no single host, so Gatehouse ignored it.",
            );
        }
    }
    if method != "GET" {
        return refuse(
            405,
            "Not allowed",
            "Only the browser's sign-in redirect is accepted here.",
        );
    }
    match parse_target(&format!("http://127.0.0.1{target}"), expected_state) {
        Ok(callback) => Decision::Callback(callback),
        Err(Rejection::NotCallbackPath) => refuse(404, "Not found", "Nothing is here."),
        Err(rejection) => refuse(400, "This link is not for Gatehouse", rejection.reason()),
    }
}

/// Reads until the blank line that ends the head (CRLFCRLF, or bare LFs as
/// RFC 9112 §2.2 lets a recipient accept), across however many reads it
/// takes. A head over `MAX_HEAD` is `InvalidData`.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head_end(&head) {
            head.truncate(end);
            return Ok(head);
        }
        if head.len() > MAX_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
}

/// Where the head ends: the first empty line.
pub(crate) fn head_end(bytes: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        if byte == b'\n' {
            let line = &bytes[line_start..i];
            if line.is_empty() || line == b"\r" {
                return Some(line_start);
            }
            line_start = i + 1;
        }
    }
    None
}

/// The value of the request's one `Host` header; `None` when it has none,
/// or more than one.
fn host_header(head: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(head).ok()?;
    let mut hosts = text.lines().skip(1).filter_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("host")
            .then(|| value.trim_matches([' ', '\t', '\r']).to_owned())
    });
    let host = hosts.next()?;
    hosts.next().is_none().then_some(host)
}

/// `(method, target)` of the request line.
pub(crate) fn request_line(head: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(head).ok()?;
    let line = text.lines().next()?;
    let mut parts = line.split(' ');
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") || parts.next().is_some() || !target.starts_with('/') {
        return None;
    }
    Some((method, target))
}

#[derive(Debug)]
pub(crate) enum Rejection {
    NotCallbackPath,
    /// A pasted address whose scheme, host or port is not the redirect URI's.
    OtherScheme,
    OtherHost,
    OtherPort,
    Malformed,
    WrongState,
    MissingCode,
}

impl Rejection {
    fn reason(&self) -> &'static str {
        match self {
            Self::NotCallbackPath => "not the callback path",
            Self::OtherScheme => "not the redirect URI's scheme",
            Self::OtherHost => "not the redirect URI's host",
            Self::OtherPort => "not the redirect URI's port",
            Self::Malformed => "This address could not be read.",
            Self::WrongState => {
                "This sign-in response does not belong to the authorization Gatehouse is waiting for (its state does not match)."
            }
            Self::MissingCode => "The sign-in response carries no authorization code.",
        }
    }

    /// The reason, told to a person who pasted the address; `redirect_uri`
    /// is the address it should have begun with.
    fn pasted_reason(&self, redirect_uri: &str) -> String {
        let differs = |part: &str| {
            format!("its {part} differs from the sign-in redirect address, {redirect_uri}")
        };
        match self {
            Self::OtherScheme => differs("scheme"),
            Self::OtherHost => differs("host"),
            Self::OtherPort => differs("port"),
            Self::NotCallbackPath => differs("path"),
            Self::Malformed => "it is not a complete address, or it repeats a parameter".into(),
            Self::WrongState => {
                "it belongs to another authorization (its state does not match)".into()
            }
            Self::MissingCode => "it carries no authorization code".into(),
        }
    }
}

/// Checks a pasted address: it must be the redirect URI (scheme, host,
/// port and path) before its parameters are checked like a callback's.
fn parse_pasted(
    url: &str,
    redirect_uri: &Url,
    expected_state: &str,
) -> Result<Callback, Rejection> {
    let pasted = Url::parse(url.trim()).map_err(|_| Rejection::Malformed)?;
    if pasted.scheme() != redirect_uri.scheme() {
        return Err(Rejection::OtherScheme);
    }
    if pasted.host() != redirect_uri.host() {
        return Err(Rejection::OtherHost);
    }
    if pasted.port_or_known_default() != redirect_uri.port_or_known_default() {
        return Err(Rejection::OtherPort);
    }
    if pasted.path() != redirect_uri.path() {
        return Err(Rejection::NotCallbackPath);
    }
    parse_target(url, expected_state)
}

/// Checks a callback URL (from the browser or pasted) and extracts it.
pub(crate) fn parse_target(url: &str, expected_state: &str) -> Result<Callback, Rejection> {
    let url = Url::parse(url.trim()).map_err(|_| Rejection::Malformed)?;
    if url.path() != CALLBACK_PATH {
        return Err(Rejection::NotCallbackPath);
    }
    let mut code = None;
    let mut state = None;
    let mut issuer = None;
    let mut error = None;
    let mut description = None;
    for (name, value) in url.query_pairs() {
        let slot = match name.as_ref() {
            "code" => &mut code,
            "state" => &mut state,
            "iss" => &mut issuer,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        if slot.is_some() {
            // A repeated parameter is ambiguous: refuse it.
            return Err(Rejection::Malformed);
        }
        *slot = Some(value.into_owned());
    }
    // Constant-time comparison is not needed: the state is single-use and
    // a mismatch only keeps the listener waiting.
    if state.as_deref() != Some(expected_state) {
        return Err(Rejection::WrongState);
    }
    if let Some(error) = error {
        // Judged once cleaned: an error of control characters only says nothing.
        // At most 64 and 300 characters shown, the `…` of a cut included.
        let error = crate::text::one_line(&error, 63);
        if error.trim().is_empty() {
            return Err(Rejection::Malformed);
        }
        return Ok(Callback::Denied {
            error,
            description: description.map(|d| crate::text::one_line(&d, 299)),
            issuer,
        });
    }
    match code {
        Some(code) if !code.is_empty() => Ok(Callback::Code {
            code,
            state: expected_state.to_owned(),
            issuer,
        }),
        _ => Err(Rejection::MissingCode),
    }
}

async fn respond(stream: &mut TcpStream, status: u16, title: &str, text: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let body = page(title, text);
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn page(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} — Gatehouse</title>\
<meta name=\"viewport\" content=\"width=device-width\"><style>\
body{{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f4f1e8;color:#1d2b2d}}\
main{{max-width:32rem;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px #0002}}\
h1{{font-size:1.3rem;margin:0 0 .5rem;color:#0f5f66}}\
@media (prefers-color-scheme:dark){{body{{background:#111a1b;color:#e8ecec}}main{{background:#1b2829}}h1{{color:#7fd0d6}}}}\
</style></head><body><main><h1>{}</h1><p>{}</p></main></body></html>",
        escape(title),
        escape(text)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn send(port: u16, chunks: &[&[u8]]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        for chunk in chunks {
            stream.write_all(chunk).await.unwrap();
            stream.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    /// A browser's request to the listener on `port`.
    fn get(port: u16, path: &str) -> Vec<u8> {
        get_as(&format!("127.0.0.1:{port}"), path)
    }

    fn get_as(host: &str, path: &str) -> Vec<u8> {
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: test\r\n\r\n").into_bytes()
    }

    #[tokio::test]
    async fn a_callback_split_into_single_bytes_is_read_whole() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.port();
        let cancel = CancellationToken::new();
        let waiting =
            tokio::spawn(
                async move { listener.wait("s1", Duration::from_secs(10), &cancel).await },
            );
        let browser = tokio::spawn(async move {
            let request = get(
                port,
                "/callback?code=abc&state=s1&iss=https%3A%2F%2Fas.example",
            );
            let chunks: Vec<&[u8]> = request.chunks(1).collect();
            send(port, &chunks).await
        });
        let (callback, responder) = waiting.await.unwrap().unwrap();
        assert_eq!(
            callback,
            Callback::Code {
                code: "abc".into(),
                state: "s1".into(),
                issuer: Some("https://as.example".into())
            }
        );
        responder.unwrap().finish(Outcome::Success).await;
        let page = browser.await.unwrap();
        assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
        assert!(page.contains("You can close this tab"), "{page}");
    }

    #[tokio::test]
    async fn a_wrong_state_is_refused_and_the_right_one_accepted() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.port();
        let cancel = CancellationToken::new();
        let waiting = tokio::spawn(async move {
            listener
                .wait("good", Duration::from_secs(10), &cancel)
                .await
        });
        let wrong = send(port, &[&get(port, "/callback?code=x&state=evil")]).await;
        assert!(wrong.starts_with("HTTP/1.1 400"), "{wrong}");
        assert!(wrong.contains("does not belong"), "{wrong}");
        let other_path = send(port, &[&get(port, "/favicon.ico")]).await;
        assert!(other_path.starts_with("HTTP/1.1 404"), "{other_path}");
        let post = send(
            port,
            &[format!(
                "POST /callback?code=x&state=good HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
            )
            .as_bytes()],
        )
        .await;
        assert!(post.starts_with("HTTP/1.1 405"), "{post}");
        let right =
            tokio::spawn(
                async move { send(port, &[&get(port, "/callback?code=c2&state=good")]).await },
            );
        let (callback, responder) = waiting.await.unwrap().unwrap();
        assert!(matches!(callback, Callback::Code { ref code, .. } if code == "c2"));
        responder
            .unwrap()
            .finish(Outcome::Failure("The token exchange failed.".into()))
            .await;
        let page = right.await.unwrap();
        assert!(page.contains("The token exchange failed."), "{page}");
    }

    #[tokio::test]
    async fn the_page_escapes_server_text_and_forbids_scripts() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.port();
        let cancel = CancellationToken::new();
        let waiting =
            tokio::spawn(async move { listener.wait("s", Duration::from_secs(10), &cancel).await });
        let browser =
            tokio::spawn(
                async move { send(port, &[&get(port, "/callback?code=c&state=s")]).await },
            );
        let (_, responder) = waiting.await.unwrap().unwrap();
        // An authorization server's error text, as the flow passes it on.
        responder
            .unwrap()
            .finish(Outcome::Failure(
                "Refused: <script>alert(1)</script><img src=x onerror=alert(2)> & \"quoted\""
                    .into(),
            ))
            .await;
        let page = browser.await.unwrap();
        let (head, body) = page.split_once("\r\n\r\n").unwrap();
        assert!(
            !body.contains("<script>") && !body.contains("<img"),
            "{body}"
        );
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{body}"
        );
        assert!(body.contains("&amp;"), "{body}");
        for header in [
            "Content-Security-Policy: default-src 'none'",
            "Cache-Control: no-store",
            "Referrer-Policy: no-referrer",
            "X-Content-Type-Options: nosniff",
            "Content-Type: text/html; charset=utf-8",
        ] {
            assert!(head.contains(header), "{header} missing from {head}");
        }
    }

    #[tokio::test]
    async fn access_denied_is_reported() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.port();
        let cancel = CancellationToken::new();
        let waiting =
            tokio::spawn(async move { listener.wait("s", Duration::from_secs(10), &cancel).await });
        let browser = tokio::spawn(async move {
            send(
                port,
                &[&get(
                    port,
                    "/callback?error=access_denied&error_description=The+user+said+no&state=s",
                )],
            )
            .await
        });
        let (callback, responder) = waiting.await.unwrap().unwrap();
        assert_eq!(
            callback,
            Callback::Denied {
                error: "access_denied".into(),
                description: Some("The user said no".into()),
                issuer: None,
            }
        );
        drop(responder);
        let page = browser.await.unwrap();
        assert!(page.contains("Return to Gatehouse"), "{page}");
    }

    #[tokio::test]
    async fn a_timeout_releases_the_port() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.port();
        let cancel = CancellationToken::new();
        let err = listener
            .wait("s", Duration::from_millis(100), &cancel)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ListenerError::TimedOut(_)));
        assert!(
            TcpStream::connect(("127.0.0.1", port)).await.is_err(),
            "nothing listens any more"
        );
        CallbackListener::bind(port)
            .await
            .expect("the port is free again");
    }

    #[tokio::test]
    async fn cancel_stops_waiting_and_a_busy_port_is_named() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.port();
        match CallbackListener::bind(port).await {
            Err(ListenerError::PortInUse { port: p, .. }) => assert_eq!(p, port),
            other => panic!("{:?}", other.err()),
        }
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = listener
            .wait("s", Duration::from_secs(10), &cancel)
            .await
            .err();
        assert_eq!(err, Some(ListenerError::Cancelled));
    }

    #[tokio::test]
    async fn a_pasted_url_is_checked_like_a_browser_callback() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let redirect = listener.redirect_uri();
        let paste = listener.paste_handle();
        let cancel = CancellationToken::new();
        let waiting =
            tokio::spawn(
                async move { listener.wait("st", Duration::from_secs(10), &cancel).await },
            );
        let wrong = paste
            .deliver(format!("{redirect}?code=a&state=wrong"))
            .await;
        assert!(
            matches!(wrong, Delivery::Rejected(ref reason) if reason.contains("state does not match")),
            "{wrong:?}"
        );
        let garbage = paste.deliver("not an address".into()).await;
        assert!(matches!(garbage, Delivery::Rejected(_)), "{garbage:?}");
        let right = paste
            .deliver(format!("  {redirect}?code=ok&state=st \n"))
            .await;
        assert_eq!(right, Delivery::Accepted);
        let (callback, responder) = waiting.await.unwrap().unwrap();
        assert!(matches!(callback, Callback::Code { ref code, .. } if code == "ok"));
        assert!(responder.is_none());
    }

    #[tokio::test]
    async fn a_pasted_address_must_be_the_redirect_uri_and_says_which_part_differs() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.port();
        let redirect = listener.redirect_uri();
        let paste = listener.paste_handle();
        let cancel = CancellationToken::new();
        let waiting =
            tokio::spawn(
                async move { listener.wait("st", Duration::from_secs(10), &cancel).await },
            );
        let other_port = if port == 65535 { 1 } else { port + 1 };
        let query = "?code=bad&state=st";
        for (pasted, part) in [
            (
                format!("https://127.0.0.1:{port}/callback{query}"),
                "scheme",
            ),
            (format!("http://localhost:{port}/callback{query}"), "host"),
            (
                format!("http://evil.example:{port}/callback{query}"),
                "host",
            ),
            (
                format!("http://127.0.0.1:{other_port}/callback{query}"),
                "port",
            ),
            (format!("http://127.0.0.1/callback{query}"), "port"),
            (format!("http://127.0.0.1:{port}/callback/{query}"), "path"),
            (format!("http://127.0.0.1:{port}/other{query}"), "path"),
        ] {
            let verdict = paste.deliver(pasted.clone()).await;
            let Delivery::Rejected(reason) = &verdict else {
                panic!("{pasted} was not refused: {verdict:?}");
            };
            assert!(
                reason.contains(&format!("its {part} differs")) && reason.contains(&redirect),
                "{pasted}: {reason}"
            );
            assert!(
                !reason.contains("bad"),
                "the pasted address is not echoed: {reason}"
            );
        }
        let right = paste
            .deliver(format!("{redirect}?code=good&state=st"))
            .await;
        assert_eq!(right, Delivery::Accepted);
        let (callback, _) = waiting.await.unwrap().unwrap();
        assert!(matches!(callback, Callback::Code { ref code, .. } if code == "good"));
    }

    #[tokio::test]
    async fn a_request_naming_another_host_is_refused_and_does_not_complete_the_flow() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.port();
        let cancel = CancellationToken::new();
        let waiting =
            tokio::spawn(async move { listener.wait("s", Duration::from_secs(10), &cancel).await });
        let callback = "/callback?code=rebound&state=s";
        // A page of evil.example whose name was rebound to 127.0.0.1.
        for host in [
            format!("evil.example:{port}"),
            format!("localhost:{port}"),
            "127.0.0.1".to_owned(),
            format!("127.0.0.1:{port}.evil.example"),
        ] {
            let answer = send(port, &[&get_as(&host, callback)]).await;
            assert!(answer.starts_with("HTTP/1.1 421"), "{host}: {answer}");
            assert!(answer.contains("not addressed to Gatehouse"), "{answer}");
        }
        let no_host = send(
            port,
            &[format!("GET {callback} HTTP/1.1\r\n\r\n").as_bytes()],
        )
        .await;
        assert!(no_host.starts_with("HTTP/1.1 400"), "{no_host}");
        let two_hosts = format!(
            "GET {callback} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n\r\n"
        );
        let answer = send(port, &[two_hosts.as_bytes()]).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        // None of them completed the flow: the browser's own callback does.
        let browser = tokio::spawn(async move {
            send(
                port,
                &[&get_as(
                    &format!("127.0.0.1:{port}"),
                    "/callback?code=real&state=s",
                )],
            )
            .await
        });
        let (callback, responder) = waiting.await.unwrap().unwrap();
        assert!(matches!(callback, Callback::Code { ref code, .. } if code == "real"));
        responder.unwrap().finish(Outcome::Success).await;
        assert!(browser.await.unwrap().starts_with("HTTP/1.1 200"));
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(parse_target("http://x/callback?code=a&code=b&state=s", "s").is_err());
        assert!(parse_target("http://x/callback?code=a&state=s&state=s", "s").is_err());
        assert!(matches!(
            parse_target("http://x/callback?state=s", "s"),
            Err(Rejection::MissingCode)
        ));
    }

    #[tokio::test]
    async fn idle_connections_do_not_hold_up_the_callback() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.port();
        let cancel = CancellationToken::new();
        let waiting =
            tokio::spawn(async move { listener.wait("s", Duration::from_secs(30), &cancel).await });
        // A browser's preconnects, or anyone else: connected, silent (more
        // of them than are served at once).
        let mut idle = Vec::new();
        for _ in 0..(MAX_CONNECTIONS + 36) {
            idle.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        }
        let started = tokio::time::Instant::now();
        let browser =
            tokio::spawn(
                async move { send(port, &[&get(port, "/callback?code=c&state=s")]).await },
            );
        let (callback, responder) = waiting.await.unwrap().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the callback waited {:?} behind idle connections",
            started.elapsed()
        );
        assert!(matches!(callback, Callback::Code { ref code, .. } if code == "c"));
        responder.unwrap().finish(Outcome::Success).await;
        assert!(browser.await.unwrap().starts_with("HTTP/1.1 200"));
        drop(idle);
    }

    #[tokio::test]
    async fn the_page_is_written_before_finish_returns() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.port();
        let cancel = CancellationToken::new();
        let waiting =
            tokio::spawn(async move { listener.wait("s", Duration::from_secs(10), &cancel).await });
        let mut browser = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        browser
            .write_all(&get(port, "/callback?error=access_denied&state=s"))
            .await
            .unwrap();
        let (_, responder) = waiting.await.unwrap().unwrap();
        responder
            .unwrap()
            .finish(Outcome::Failure("Access was declined.".into()))
            .await;
        // Whatever happens to the program now, the page is already sent.
        let mut page = vec![0; 64 * 1024];
        let n = tokio::time::timeout(Duration::from_millis(200), browser.read(&mut page))
            .await
            .expect("the page was already there")
            .unwrap();
        let page = String::from_utf8_lossy(&page[..n]);
        assert!(page.contains("Access was declined."), "{page}");
    }

    #[tokio::test]
    async fn bare_line_feeds_and_oversized_requests_get_answers() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.port();
        let cancel = CancellationToken::new();
        let waiting =
            tokio::spawn(async move { listener.wait("s", Duration::from_secs(10), &cancel).await });
        let huge = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_HEAD + 10));
        let answer = send(port, &[huge.as_bytes()]).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
        let wrong = send(
            port,
            &[
                format!("GET /callback?code=x&state=bad HTTP/1.1\nHost: 127.0.0.1:{port}\n\n")
                    .as_bytes(),
            ],
        )
        .await;
        assert!(wrong.starts_with("HTTP/1.1 400"), "{wrong}");
        let browser = tokio::spawn(async move {
            send(
                port,
                &[
                    format!("GET /callback?code=c&state=s HTTP/1.1\nHost: 127.0.0.1:{port}\n\n")
                        .as_bytes(),
                ],
            )
            .await
        });
        let (callback, responder) = waiting.await.unwrap().unwrap();
        assert!(matches!(callback, Callback::Code { ref code, .. } if code == "c"));
        responder.unwrap().finish(Outcome::Success).await;
        assert!(browser.await.unwrap().starts_with("HTTP/1.1 200"));
    }

    #[test]
    fn an_empty_error_is_not_an_answer_and_invisible_characters_are_dropped() {
        for empty in ["", "%00%00", "%E2%80%8B", "%20"] {
            assert!(matches!(
                parse_target(
                    &format!("http://x/callback?code=a&state=s&error={empty}"),
                    "s"
                ),
                Err(Rejection::Malformed)
            ));
        }
        let denied = parse_target(
            "http://x/callback?state=s&error=access_denied&error_description=%E2%80%AEgnp.exe%E2%80%8B%1B%5B31m&iss=https%3A%2F%2Fas",
            "s",
        )
        .unwrap();
        assert_eq!(
            denied,
            Callback::Denied {
                error: "access_denied".into(),
                description: Some("gnp.exe[31m".into()),
                issuer: Some("https://as".into()),
            }
        );
    }

    #[test]
    fn timeouts_are_told_in_the_right_unit() {
        assert_eq!(
            ListenerError::TimedOut(Duration::from_secs(10)).to_string(),
            "the browser did not come back within 10 seconds"
        );
        assert_eq!(
            ListenerError::TimedOut(Duration::from_secs(300)).to_string(),
            "the browser did not come back within 5 minutes"
        );
    }
}
