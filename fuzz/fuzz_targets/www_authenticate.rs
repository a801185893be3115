//! `WWW-Authenticate` challenges from MCP servers, read with rmcp's
//! `WWWAuthenticateParams::parse` and Gatehouse's `challenge_scope` /
//! `is_insufficient_scope`: whatever a server sends, reading it never
//! panics; the scope shown is the challenge's own, cleaned (one line, at
//! most 300 characters); step-up happens exactly for
//! `error="insufficient_scope"`; and a `resource_metadata` URL is never
//! taken when it downgrades from https or names a local or private address.
//! Challenges built from parts (any order, any case, quoted with escapes)
//! read back as those parts.
#![no_main]

use std::net::IpAddr;

use gatehouse_core::fuzzing::{
    WWWAuthenticateParams, challenge_scope, is_insufficient_scope, is_invisible,
};
use libfuzzer_sys::fuzz_target;
use url::{Host, Url};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_any(text);
    if let Some((order, rest)) = text.split_at_checked(1) {
        check_built(order.as_bytes()[0], rest);
    }
});

fn base() -> Url {
    Url::parse("https://mcp.example.com/mcp").expect("a valid URL")
}

/// Properties of whatever text arrives.
fn check_any(challenge: &str) {
    let params = WWWAuthenticateParams::parse(challenge, &base());
    let shown = challenge_scope(challenge);
    match (&params.scope, &shown) {
        (Some(scope), Some(shown)) => {
            assert_eq!(&shown_as(scope), shown, "{scope:?}");
            // 300 characters, and the `…` of a cut.
            assert!(!shown.is_empty() && shown.chars().count() <= 301);
            assert!(!shown.chars().any(|c| c.is_control() || is_invisible(c)));
        }
        (Some(scope), None) => assert!(shown_as(scope).is_empty(), "{scope:?} not shown"),
        (None, shown) => assert_eq!(shown, &None),
    }
    assert_eq!(
        is_insufficient_scope(challenge),
        params.error.as_deref() == Some("insufficient_scope")
    );
    if let Some(url) = &params.resource_metadata_url {
        check_metadata_url(url);
    }
}

/// `scope` as a person is shown it (the core's one-line rule, restated):
/// line breaks and tabs as spaces, other control characters and invisible
/// ones dropped, cut at 300 characters with `…` after the cut.
fn shown_as(scope: &str) -> String {
    let kept: Vec<char> = scope
        .chars()
        .filter(|&c| !is_invisible(c) && !(c.is_control() && !c.is_whitespace()))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut shown: String = kept.iter().take(300).collect();
    if kept.len() > 300 {
        shown.push('…');
    }
    shown
}

/// A metadata URL learned from an https server's challenge stays on https
/// and never points at this machine, the local network or a cloud
/// metadata service.
fn check_metadata_url(url: &Url) {
    assert_eq!(url.scheme(), "https", "{url}");
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4),
        Some(Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.');
            assert!(
                domain != "localhost" && !domain.ends_with(".localhost"),
                "{url}"
            );
            return;
        }
        None => return,
    };
    let forbidden = match ip {
        IpAddr::V4(ip) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
        }
        IpAddr::V6(ip) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    assert!(!forbidden, "{url}");
}

/// A challenge written from parts, as a well-behaved server would: the
/// parts read back. Values hold no `=` (rmcp looks for `scope=` anywhere in
/// the header, so a value quoting another parameter could be read as it).
fn check_built(order: u8, rest: &str) {
    let mut fields = rest.splitn(3, '\n');
    let scope = fields.next().unwrap_or_default();
    let error = fields.next().unwrap_or_default();
    let description = fields.next().unwrap_or_default();
    if [scope, error, description].iter().any(|v| v.contains('=')) {
        return;
    }
    let quote = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    let mut parts = vec![
        format!("scope={}", quote(scope)),
        format!("error={}", quote(error)),
        format!("error_description={}", quote(description)),
        "realm=\"mcp\"".to_owned(),
    ];
    parts.rotate_left(order as usize % 4);
    if order & 4 != 0 {
        parts.swap(0, 1);
    }
    let mut challenge = format!("Bearer {}", parts.join(", "));
    if order & 8 != 0 {
        challenge = challenge
            .to_ascii_uppercase()
            .replacen("BEARER", "Bearer", 1);
    }
    let cased = |v: &str| {
        if order & 8 != 0 {
            v.to_ascii_uppercase()
        } else {
            v.to_owned()
        }
    };
    let params = WWWAuthenticateParams::parse(&challenge, &base());
    assert_eq!(
        params.scope.as_deref(),
        Some(cased(scope).as_str()),
        "{challenge}"
    );
    assert_eq!(
        params.error.as_deref(),
        Some(cased(error).as_str()),
        "{challenge}"
    );
    assert_eq!(
        params.error_description.as_deref(),
        Some(cased(description).as_str()),
        "{challenge}"
    );
    let shown = challenge_scope(&challenge);
    // A scope of nothing a person can see is not shown at all.
    let expected = shown_as(&cased(scope));
    assert_eq!(shown.is_some(), !expected.is_empty(), "{challenge}");
    if let Some(shown) = shown {
        assert_eq!(shown, expected, "{challenge}");
    }
    assert_eq!(
        is_insufficient_scope(&challenge),
        cased(error) == "insufficient_scope",
        "{challenge}"
    );
    check_any(&challenge);
}
