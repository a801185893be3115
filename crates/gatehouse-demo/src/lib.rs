//! The server behind the desktop app's "Try the demo server": an MCP server
//! and the OAuth 2.1 authorization server that protects it, on one loopback
//! origin, so a person can walk through the whole authorize flow with no
//! account anywhere. It does only what a well-behaved server does —
//! discovery (RFC 9728, RFC 8414), dynamic client registration, a consent
//! page, PKCE S256, `iss` on the callback, refresh-token rotation,
//! revocation — and nothing a test needs to steer (that is
//! `gatehouse-fixture`, which the release app does not carry).
//!
//! Grants live in memory: after the app restarts, the demo asks for
//! authorization again.

mod mcp;
mod oauth;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A running demo server; it stops when dropped.
pub struct DemoServer {
    addr: SocketAddr,
    cancel: CancellationToken,
}

impl DemoServer {
    /// Binds `127.0.0.1:port` (0: a free port) and serves.
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let origin = format!("http://{addr}");
        let auth = oauth::Auth::new(&origin);
        let app = oauth::routes(auth.clone()).merge(mcp::routes(auth));
        let stop = cancel.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
        Ok(Self { addr, cancel })
    }

    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
