//! Turning rmcp and reqwest errors into something a person can act on, and
//! deciding whether trying again later can help.

use std::error::Error as StdError;
use std::time::Duration;

use rmcp::service::ClientInitializeError;
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError, StreamableHttpError,
};

use crate::config::AuthMode;
use crate::events::{ErrorKind, ServerStatus};

/// Longest error text taken from a server's answer.
const MAX_DETAIL: usize = 300;

/// Why a connection attempt failed.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
    /// Whether an automatic retry later may succeed. Failures that need the
    /// person (a missing secret, rejected credentials) wait for a change.
    pub(crate) retry: bool,
    /// The 401/403 `WWW-Authenticate` challenge, when that is the cause.
    pub(crate) challenge: Option<String>,
    /// The server wants more scopes (403 `insufficient_scope`).
    pub(crate) insufficient_scope: bool,
}

impl Failure {
    pub(crate) fn fatal(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry: false,
            challenge: None,
            insufficient_scope: false,
        }
    }

    pub(crate) fn retryable(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            retry: true,
            ..Self::fatal(kind, message)
        }
    }

    pub(crate) fn timeout(after: Duration) -> Self {
        Self::retryable(
            ErrorKind::Timeout,
            format!("the server did not answer within {} s", after.as_secs()),
        )
    }

    pub(crate) fn into_status(self) -> ServerStatus {
        ServerStatus::error(self.kind, self.message)
    }

    /// Classifies a failed `initialize`.
    pub(crate) fn from_initialize(error: &ClientInitializeError, mode: AuthMode) -> Self {
        if error.auth_challenge().is_some() || error.is_authorization_required() {
            return Self::unauthorized(mode, error.auth_challenge());
        }
        match error {
            // The transport error is not exposed as a `source`.
            ClientInitializeError::TransportError { error, .. } => Self::from_chain(error, mode),
            // The server is of a revision before 2026-07-28 and its
            // `initialize` failed: that failure is the one to tell.
            ClientInitializeError::LegacyFallbackFailed { fallback, .. } => {
                Self::from_initialize(fallback, mode)
            }
            other => Self::from_chain(other, mode),
        }
    }

    /// Classifies a failed request on a live session.
    pub(crate) fn from_service(error: &rmcp::ServiceError, mode: AuthMode) -> Self {
        if error.auth_challenge().is_some() || error.is_authorization_required() {
            return Self::unauthorized(mode, error.auth_challenge());
        }
        Self::from_chain(error, mode)
    }

    fn unauthorized(mode: AuthMode, challenge: Option<&str>) -> Self {
        let message = match mode {
            AuthMode::Headers => {
                "the server refused the credentials (HTTP 401/403): check the headers and the secrets they use"
            }
            AuthMode::None => {
                "the server requires authorization: add an Authorization header or enable OAuth"
            }
            AuthMode::OAuth => "the server requires authorization",
        };
        let insufficient_scope = challenge.is_some_and(crate::oauth::is_insufficient_scope);
        let message = if insufficient_scope {
            "the server requires more permissions (scopes) than were granted"
        } else {
            message
        };
        Self {
            challenge: challenge.map(str::to_owned),
            insufficient_scope,
            ..Self::fatal(ErrorKind::Unauthorized, message)
        }
    }

    fn from_chain(error: &(dyn StdError + 'static), mode: AuthMode) -> Self {
        let mut current: Option<&(dyn StdError + 'static)> = Some(error);
        while let Some(e) = current {
            if let Some(failure) = classify(e, mode) {
                return failure;
            }
            current = e.source();
        }
        Self::retryable(ErrorKind::Protocol, truncate(&error.to_string()))
    }
}

fn classify(e: &(dyn StdError + 'static), mode: AuthMode) -> Option<Failure> {
    if let Some(e) = e.downcast_ref::<reqwest::Error>() {
        return Some(from_reqwest(e, mode));
    }
    if e.downcast_ref::<AuthRequiredError>().is_some()
        || e.downcast_ref::<InsufficientScopeError>().is_some()
    {
        return Some(Failure::unauthorized(mode, None));
    }
    if let Some(status) = e.downcast_ref::<HttpStatusError>() {
        return Some(from_status(status.status, mode));
    }
    if let Some(e) = e.downcast_ref::<StreamableHttpError<reqwest::Error>>() {
        return match e {
            StreamableHttpError::Client(inner) => Some(from_reqwest(inner, mode)),
            StreamableHttpError::HttpStatus(status) => Some(from_status(status.status, mode)),
            StreamableHttpError::AuthRequired(_) | StreamableHttpError::InsufficientScope(_) => {
                Some(Failure::unauthorized(mode, None))
            }
            StreamableHttpError::UnexpectedServerResponse(text) => Some(
                // rmcp words an HTTP error status as "HTTP 404 Not Found: body".
                status_prefix(text).map_or_else(
                    || {
                        Failure::retryable(
                            ErrorKind::Protocol,
                            format!("unexpected answer from the server: {}", truncate(text)),
                        )
                    },
                    |status| from_status(status, mode),
                ),
            ),
            StreamableHttpError::UnexpectedContentType(kind) => Some(Failure::retryable(
                ErrorKind::Protocol,
                format!(
                    "the server answered with {} instead of MCP (is this the MCP endpoint URL?)",
                    kind.as_deref()
                        .map(truncate)
                        .unwrap_or_else(|| "no content type".into())
                ),
            )),
            _ => None,
        };
    }
    None
}

/// The status of an error worded "HTTP 404 Not Found: …" or "HTTP 404: …".
fn status_prefix(text: &str) -> Option<u16> {
    let rest = text.strip_prefix("HTTP ")?;
    let digits = rest.get(..3)?;
    let after = rest[3..].chars().next();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || after.is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn from_status(status: u16, mode: AuthMode) -> Failure {
    let message = match status {
        // A 401/403 without a WWW-Authenticate challenge: the credentials
        // (or their absence) are refused. Trying again will not help.
        401 | 403 => {
            let failure = Failure::unauthorized(mode, None);
            return Failure {
                message: match mode {
                    AuthMode::Headers => format!(
                        "the server refused the credentials (HTTP {status}): check the headers and the secrets they use"
                    ),
                    AuthMode::None => format!(
                        "the server refused access (HTTP {status}): it needs credentials, such as an Authorization header"
                    ),
                    AuthMode::OAuth => format!(
                        "the server refused the authorization (HTTP {status}) without saying how to authorize"
                    ),
                },
                ..failure
            };
        }
        404 => "HTTP 404: there is no MCP endpoint at this URL".to_owned(),
        405 => "HTTP 405: this URL does not take MCP requests. If it is an older HTTP+SSE server (its URL often ends in /sse), Gatehouse cannot use it: it speaks Streamable HTTP".to_owned(),
        429 => "HTTP 429: the server is rate limiting; trying again later".to_owned(),
        500..=599 => format!("HTTP {status}: the server had an internal error"),
        _ => format!("HTTP {status} from the server"),
    };
    Failure::retryable(ErrorKind::Http, message)
}

fn from_reqwest(e: &reqwest::Error, mode: AuthMode) -> Failure {
    let root = root_cause(e);
    if e.is_timeout() {
        return Failure::retryable(ErrorKind::Timeout, "the server did not answer in time");
    }
    if e.is_connect() {
        return Failure::retryable(
            ErrorKind::Unreachable,
            format!("cannot connect: {}", truncate(&root)),
        );
    }
    if let Some(status) = e.status() {
        return from_status(status.as_u16(), mode);
    }
    Failure::retryable(ErrorKind::Unreachable, truncate(&root))
}

fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

fn truncate(text: &str) -> String {
    crate::text::one_line(text, MAX_DETAIL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rmcp_status_texts_are_read() {
        assert_eq!(status_prefix("HTTP 404 Not Found: <html>"), Some(404));
        assert_eq!(status_prefix("HTTP 401: "), Some(401));
        assert_eq!(status_prefix("HTTP 4040"), None);
        assert_eq!(status_prefix("nothing"), None);
    }

    #[test]
    fn refused_credentials_are_not_retried_and_say_so() {
        let refused = from_status(401, AuthMode::Headers);
        assert!(!refused.retry);
        assert_eq!(refused.kind, ErrorKind::Unauthorized);
        assert!(
            refused
                .message
                .contains("refused the credentials (HTTP 401)")
        );
        assert!(
            from_status(403, AuthMode::None)
                .message
                .contains("HTTP 403")
        );
        assert!(
            from_status(405, AuthMode::None)
                .message
                .contains("Streamable HTTP")
        );
        assert!(from_status(503, AuthMode::None).retry);
    }
}
