//! The checks every request to the local HTTP gateway passes before it
//! reaches an MCP session, as plain functions over the request's headers
//! (tested without a network):
//!
//! 1. `Host` must name this gateway: `127.0.0.1:<port>` or
//!    `localhost:<port>`. A web page that rebinds its own DNS name to
//!    127.0.0.1 sends its own name here, so this is what stops DNS
//!    rebinding.
//! 2. `Origin`, when present, must be `http://127.0.0.1:<port>` or
//!    `http://localhost:<port>`: a browser says where a script came from,
//!    and no web page may talk to the gateway.
//! 3. `Authorization: Bearer <token>` must carry a client token (checked
//!    by the caller against the vault).
//!
//! Refusals: the MCP transport specification (2025-11-25, "Security
//! Warning") requires servers to validate `Origin` and answer an invalid one
//! with 403 Forbidden; it names no status for `Host`, which guards against
//! the same attack, so a bad `Host` gets the same 403 (as rmcp's own
//! Streamable HTTP server answers it). A missing or unknown token gets 401
//! with `WWW-Authenticate: Bearer`. The order matters: a page that fails
//! the first two checks learns nothing about tokens.

use http::{HeaderMap, StatusCode, header};

/// Why a request was refused, as the HTTP answer to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: &'static str,
}

impl Refusal {
    const fn new(status: StatusCode, message: &'static str) -> Self {
        Self { status, message }
    }
}

/// The two names of this gateway a client may use.
const LOOPBACK_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// Checks `Host` and `Origin` against the gateway on `port`.
pub fn check_origin_and_host(headers: &HeaderMap, port: u16) -> Result<(), Refusal> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or(Refusal::new(
            StatusCode::FORBIDDEN,
            "Forbidden: the Host header must name this gateway",
        ))?;
    if !is_this_gateway(host, port) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "Forbidden: the Host header must name this gateway",
        ));
    }
    // Several Origin headers are as bad as a wrong one.
    let mut origins = headers.get_all(header::ORIGIN).iter();
    if let Some(origin) = origins.next() {
        let good = origins.next().is_none()
            && origin
                .to_str()
                .ok()
                .and_then(|o| o.strip_prefix("http://"))
                .is_some_and(|authority| is_this_gateway(authority, port));
        if !good {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "Forbidden: requests from web pages are not accepted",
            ));
        }
    }
    Ok(())
}

/// Whether `authority` is `127.0.0.1:<port>` or `localhost:<port>`
/// (the name in any case; the port always written).
fn is_this_gateway(authority: &str, port: u16) -> bool {
    let Some((name, written_port)) = authority.rsplit_once(':') else {
        return false;
    };
    written_port == port.to_string()
        && LOOPBACK_NAMES
            .iter()
            .any(|loopback| name.eq_ignore_ascii_case(loopback))
}

/// The bearer token of a request, if it carries exactly one.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, Refusal> {
    let missing = Refusal::new(
        StatusCode::UNAUTHORIZED,
        "Unauthorized: a Gatehouse gateway token is required (`gatehouse gateway token add <client>`)",
    );
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(missing);
    };
    let value = value.to_str().map_err(|_| missing.clone())?;
    let (scheme, token) = value.split_once(' ').ok_or(missing.clone())?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing);
    }
    Ok(token)
}

/// The refusal for a token that is not (or no longer) valid.
pub fn invalid_token() -> Refusal {
    Refusal::new(
        StatusCode::UNAUTHORIZED,
        "Unauthorized: this gateway token is not valid (revoked, or never made)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_gateway_names_itself_by_loopback_name_and_port() {
        for host in ["127.0.0.1:4000", "localhost:4000", "LOCALHOST:4000"] {
            assert_eq!(
                check_origin_and_host(&headers(&[("host", host)]), 4000),
                Ok(()),
                "{host}"
            );
        }
    }

    #[test]
    fn a_foreign_or_missing_host_is_refused() {
        for host in [
            "evil.example:4000",
            "127.0.0.1:4001",
            "127.0.0.1",
            "localhost",
            "[::1]:4000",
            "127.0.0.1.evil.example:4000",
            "localhost:4000.evil",
        ] {
            let refusal = check_origin_and_host(&headers(&[("host", host)]), 4000).unwrap_err();
            assert_eq!(refusal.status, StatusCode::FORBIDDEN, "{host}");
        }
        let refusal = check_origin_and_host(&HeaderMap::new(), 4000).unwrap_err();
        assert_eq!(refusal.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn only_the_gateway_itself_is_an_acceptable_origin() {
        let host = ("host", "127.0.0.1:4000");
        for origin in ["http://127.0.0.1:4000", "http://localhost:4000"] {
            assert_eq!(
                check_origin_and_host(&headers(&[host, ("origin", origin)]), 4000),
                Ok(()),
                "{origin}"
            );
        }
        for origin in [
            "https://evil.example",
            "http://evil.example:4000",
            "http://127.0.0.1:4001",
            "https://127.0.0.1:4000",
            "http://localhost",
            "null",
            "",
        ] {
            let refusal =
                check_origin_and_host(&headers(&[host, ("origin", origin)]), 4000).unwrap_err();
            assert_eq!(refusal.status, StatusCode::FORBIDDEN, "{origin:?}");
        }
        let two = headers(&[
            host,
            ("origin", "http://127.0.0.1:4000"),
            ("origin", "https://evil.example"),
        ]);
        assert!(check_origin_and_host(&two, 4000).is_err());
    }

    #[test]
    fn a_bearer_token_is_required() {
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Bearer ghgw_abc")])),
            Ok("ghgw_abc")
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "bearer  ghgw_abc ")])),
            Ok("ghgw_abc")
        );
        for value in ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "ghgw_abc"] {
            let refusal = bearer_token(&headers(&[("authorization", value)])).unwrap_err();
            assert_eq!(refusal.status, StatusCode::UNAUTHORIZED, "{value:?}");
        }
        assert_eq!(
            bearer_token(&HeaderMap::new()).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        let two = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert!(bearer_token(&two).is_err());
    }
}
