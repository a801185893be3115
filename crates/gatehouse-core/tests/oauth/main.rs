//! OAuth against a real authorization server and MCP server on 127.0.0.1
//! (the in-repo fixture): the browser flow, restarts, refresh, rejection,
//! step-up, sign-out, awkward and hostile servers. One file per behaviour;
//! the helpers they share are in `tests/common/oauth.rs`.

#[path = "../common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::oauth::{LONG, authorization_error, fixture, oauth_server};
use common::{
    Approve, Ignore, Recorder, Setup, call_echo, free_port, is_connected, needs_authorization,
    wait_for,
};
use gatehouse_core::config::ServerConfig;
use gatehouse_core::events::{AuthorizationStep, Event, ServerStatus};
use gatehouse_core::{AuthorizationError, ErrorCode};
use gatehouse_fixture::{ConsentMode, OAuthFixture, OAuthOptions, RegisteredClient};

mod browser_flow;
mod dpop;
mod hostile;
mod lifecycle;
mod refresh;
mod registration;
mod scopes;
