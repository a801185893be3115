//! The loopback listener's reading of what arrives on its port: whatever
//! the bytes, it never panics; the head ends at the first blank line
//! however the bytes are split across reads; and it accepts a callback
//! only for a GET of the callback path carrying exactly one `state`, equal
//! to ours, with a code or an error, whose texts are safe to show. A URL
//! pasted by the person is held to the same rules.
#![no_main]

use gatehouse_core::fuzzing::{
    CALLBACK_PATH, Callback, LISTENER_HOST, ListenerAnswer, callback, head_end, is_invisible,
    loopback_request, request_line,
};
use libfuzzer_sys::fuzz_target;
use url::Url;

const STATE: &str = "gh-state-7f3a9c";

fuzz_target!(|data: &[u8]| {
    check_head_end(data);
    let answer = loopback_request(data, STATE);
    if let ListenerAnswer::Accepted(accepted) = &answer {
        let end = head_end(data).expect("a whole head");
        let (method, target) = request_line(&data[..end]).expect("a request line");
        assert_eq!(method, "GET");
        check_host(&data[..end]);
        check_accepted(format!("http://127.0.0.1{target}").trim(), accepted);
    }
    // The same bytes pasted as the address the browser ended on.
    let pasted = String::from_utf8_lossy(data);
    if let Ok(accepted) = callback(&pasted, STATE) {
        check_accepted(pasted.trim(), &accepted);
    }
});

/// The head ends right before the first empty line (CRLF or bare LF), and
/// reading in two pieces finds the same end as reading all at once.
fn check_head_end(data: &[u8]) {
    let end = head_end(data);
    if let Some(end) = end {
        let rest = &data[end..];
        assert!(rest.starts_with(b"\n") || rest.starts_with(b"\r\n"));
        assert!(end == 0 || data[end - 1] == b'\n');
        assert_eq!(head_end(&data[..end]), None, "an earlier blank line");
    }
    let split = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    match head_end(&data[..split]) {
        None => {}
        Some(early) => assert_eq!(Some(early), end, "split at {split}"),
    }
}

/// An accepted request named the listener itself as its one `Host` (DNS
/// rebinding: another site's page carries its own name).
fn check_host(head: &[u8]) {
    let text = std::str::from_utf8(head).expect("an accepted head is text");
    let hosts: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("host"))
        .map(|(_, value)| value.trim_matches([' ', '\t', '\r']))
        .collect();
    assert_eq!(hosts, [LISTENER_HOST], "{text}");
}

/// What an accepted callback must be, checked against the URL itself.
fn check_accepted(url: &str, accepted: &Callback) {
    let url = Url::parse(url).expect("an accepted callback is a URL");
    assert_eq!(url.path(), CALLBACK_PATH);
    let values = |name: &str| -> Vec<String> {
        url.query_pairs()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
            .collect()
    };
    assert_eq!(values("state"), [STATE], "{url}");
    for name in ["code", "iss", "error", "error_description"] {
        assert!(values(name).len() <= 1, "{name} repeated in {url}");
    }
    match accepted {
        Callback::Code {
            code,
            state,
            issuer,
        } => {
            assert_eq!(state, STATE);
            assert!(!code.is_empty());
            assert_eq!(values("code"), [code.clone()]);
            assert!(values("error").is_empty(), "an error with a code: {url}");
            assert_eq!(issuer.as_ref(), values("iss").first());
        }
        Callback::Denied {
            error,
            description,
            issuer,
        } => {
            assert!(!values("error")[0].trim().is_empty());
            assert!(
                !error.is_empty() && error.chars().count() <= 64,
                "{error:?}"
            );
            assert!(shows_safely(error), "{error:?}");
            if let Some(description) = description {
                assert!(description.chars().count() <= 300);
                assert!(shows_safely(description), "{description:?}");
            }
            assert_eq!(issuer.as_ref(), values("iss").first());
        }
    }
}

/// No control characters, and none that reorder or hide text.
fn shows_safely(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() || is_invisible(c))
}
