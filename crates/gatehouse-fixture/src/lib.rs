//! Real MCP servers on loopback for Gatehouse's tests and its "Try the demo
//! server" button: a header-authenticated server that records what it
//! receives, and (in [`oauth`]) an authorization server whose behaviour tests
//! can steer.

pub mod idp;
pub mod mcp;
pub mod oauth;
pub mod tls;

pub use idp::{Assertions, IdpFixture, IdpOptions};
pub use mcp::{
    Access, Blackhole, CallCheck, GatedRequest, McpFixture, McpOptions, RecordedRequest, RpcCall,
};
pub use oauth::{
    ClientAuthMethod, ConsentAnswer, ConsentMode, IssMode, OAuthFixture, OAuthOptions, PrmLocation,
    RegisteredClient, answer_consent, follow_consent,
};
pub use tls::TlsFront;
