//! Helpers for the OAuth tests: an OAuth server's config, the fixture with
//! consent approved, and the authorization error out of a result.

use std::time::Duration;

use gatehouse_core::config::{OAuthConfig, ServerConfig};
use gatehouse_core::events::ServerStatus;
use gatehouse_core::{AuthorizationError, Error};
use gatehouse_fixture::{ConsentMode, OAuthFixture, OAuthOptions};

pub const LONG: Duration = Duration::from_secs(20);

pub fn oauth_server(id: &str, url: &str) -> ServerConfig {
    let mut server = ServerConfig::new(id, url);
    server.oauth = Some(OAuthConfig::default());
    server
}

pub async fn fixture(options: OAuthOptions) -> OAuthFixture {
    OAuthFixture::start(OAuthOptions {
        consent: ConsentMode::AutoApprove,
        ..options
    })
    .await
    .unwrap()
}

pub fn authorization_error(result: Result<ServerStatus, Error>) -> AuthorizationError {
    match result {
        Err(Error::Authorization(e)) => e,
        other => panic!("expected an authorization error, got {other:?}"),
    }
}
