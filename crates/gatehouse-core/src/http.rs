//! The HTTP clients Gatehouse talks through.
//!
//! Every client honours `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (reqwest
//! reads them) and trusts the operating system's certificate store (through
//! rustls-platform-verifier, which also honours `SSL_CERT_FILE`) together
//! with the bundled Mozilla roots, so people behind corporate proxies and
//! private CAs can connect.

use std::time::Duration;

use reqwest::redirect;

/// How long to wait for a TCP + TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("Gatehouse/", env!("CARGO_PKG_VERSION"));

/// A builder with Gatehouse's defaults: proxies from the environment, the
/// platform's and the bundled trust roots, a connect timeout.
pub fn client_builder() -> reqwest::ClientBuilder {
    let bundled = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok());
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .tls_certs_merge(bundled)
}

/// The client for MCP requests that follow redirects themselves (a DPoP
/// proof names the URL it is for: each hop needs one of its own). One per
/// process, built once and shared: not one per OAuth server.
pub(crate) fn mcp_client_without_redirects() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            client_builder()
                .redirect(redirect::Policy::none())
                .build()
                .expect("the TLS backend and trust roots are built in")
        })
        .clone()
}

/// The client for MCP traffic to configured servers. Redirects are followed
/// only within the same origin, so configured headers (which may carry
/// secrets) never travel to a host the person did not name.
pub fn mcp_client() -> reqwest::Client {
    client_builder()
        .redirect(redirect::Policy::custom(|attempt| {
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if attempt.previous().len() > 5 {
                attempt.error("too many redirects")
            } else if same_origin {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))
        .build()
        .expect("the TLS backend and trust roots are built in")
}
