//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`).
//!
//! The fuzzers need the parsers that a hostile peer or a damaged file can
//! reach, without sockets or files in the way, so that they run many
//! thousand times a second. Some of those parsers are private to their
//! modules; this module hands them out as they are, without copies. It is
//! not an API: nothing outside `fuzz/` may use it.

pub use crate::config::{Config, ConfigError, ServerConfig};
pub use crate::oauth::loopback::{CALLBACK_PATH, Callback};
pub use crate::template::{Template, TemplateError, validate_secret_name};
pub use crate::text::is_invisible;
pub use rmcp::transport::auth::WWWAuthenticateParams;

/// Where the head of a request ends (the first empty line), as the loopback
/// listener finds it however the bytes were split across reads.
pub fn head_end(bytes: &[u8]) -> Option<usize> {
    crate::oauth::loopback::head_end(bytes)
}

/// `(method, target)` of a request head's first line, when well formed.
pub fn request_line(head: &[u8]) -> Option<(String, String)> {
    crate::oauth::loopback::request_line(head)
}

/// What the listener makes of a callback URL (from the browser's request
/// target, or pasted by the person): the callback, or why it was refused.
pub fn callback(url: &str, expected_state: &str) -> Result<Callback, String> {
    crate::oauth::loopback::parse_target(url, expected_state).map_err(|r| format!("{r:?}"))
}

/// The `Host` the fuzzed listener stands at (the seeds in
/// `fuzz/corpus/callback_request` name it).
pub const LISTENER_HOST: &str = "127.0.0.1:53682";

/// How the loopback listener answers one request.
#[derive(Debug)]
pub enum ListenerAnswer {
    /// No blank line yet: the listener keeps reading.
    Incomplete,
    /// Refused with this status and page text.
    Refused { status: u16, text: &'static str },
    /// The callback the flow waits for.
    Accepted(Callback),
}

/// The listener's decision for the bytes a browser sent to
/// [`LISTENER_HOST`]: the very function its `serve` calls, without a socket.
pub fn loopback_request(bytes: &[u8], expected_state: &str) -> ListenerAnswer {
    let Some(end) = head_end(bytes) else {
        return ListenerAnswer::Incomplete;
    };
    match crate::oauth::loopback::decide(&bytes[..end], expected_state, LISTENER_HOST) {
        crate::oauth::loopback::Decision::Callback(callback) => ListenerAnswer::Accepted(callback),
        crate::oauth::loopback::Decision::Refuse { status, text, .. } => {
            ListenerAnswer::Refused { status, text }
        }
    }
}

/// The `scope` of a `WWW-Authenticate` challenge, cleaned for showing.
pub fn challenge_scope(challenge: &str) -> Option<String> {
    crate::oauth::challenge_scope(challenge)
}

/// Whether a challenge says the token lacks scopes.
pub fn is_insufficient_scope(challenge: &str) -> bool {
    crate::oauth::is_insufficient_scope(challenge)
}
