//! Name resolution under the policy: the reqwest resolver every OAuth
//! request connects through, which drops each resolved address the policy
//! forbids, and the lookup it asks (the system's, or fixed answers in
//! tests, since tests here have no DNS of their own).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures::future::BoxFuture;
use url::Url;

use super::{ServerPolicy, SsrfPolicy, UnsafeAddress};

/// Resolves a host name to its addresses.
pub trait HostLookup: Send + Sync {
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>>;
}

/// The operating system's resolver (hosts file, DNS, …).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl HostLookup for SystemLookup {
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let host = host.to_owned();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|addr| addr.ip())
                .collect())
        })
    }
}

/// Fixed answers: a function from name to addresses.
impl<F> HostLookup for F
where
    F: Fn(&str) -> io::Result<Vec<IpAddr>> + Send + Sync,
{
    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let answer = self(host);
        Box::pin(async move { answer })
    }
}

/// Where a resolver takes its policy from.
#[derive(Clone)]
pub(super) enum PolicySource {
    Fixed(SsrfPolicy),
    /// Learned from what the MCP server's host resolves to.
    Server(ServerPolicy),
}

impl PolicySource {
    async fn get(&self) -> SsrfPolicy {
        match self {
            Self::Fixed(policy) => *policy,
            Self::Server(server) => server.get().await,
        }
    }
}

/// A DNS resolver for reqwest that resolves through a [`HostLookup`] and
/// drops every address the policy forbids (see
/// [`SsrfPolicy::filter_resolved`]). `exempt` hosts (configured proxies)
/// are resolved unfiltered.
pub struct PolicyResolver {
    pub(super) source: PolicySource,
    pub(super) lookup: Arc<dyn HostLookup>,
    pub(super) exempt: Vec<String>,
}

impl std::fmt::Debug for PolicyResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyResolver")
            .field("exempt", &self.exempt)
            .finish_non_exhaustive()
    }
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let exempt = self.exempt.iter().any(|e| e.eq_ignore_ascii_case(&host));
        let source = self.source.clone();
        let lookup = self.lookup.lookup(&host);
        Box::pin(async move {
            let resolved = lookup.await?;
            let allowed = if exempt {
                resolved
            } else {
                source
                    .get()
                    .await
                    .filter_resolved(&host, &resolved)
                    .map_err(|reason| {
                        Box::new(UnsafeAddress { url: host, reason })
                            as Box<dyn std::error::Error + Send + Sync>
                    })?
            };
            let addrs: Vec<SocketAddr> = allowed.into_iter().map(|ip| (ip, 0).into()).collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Host names of the proxies configured in the environment; the resolver
/// lets them through, since the proxy, not Gatehouse, resolves the target.
pub fn proxy_hosts_from_env() -> Vec<String> {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .filter_map(|name| std::env::var(name).ok())
    .filter_map(|value| Url::parse(&value).ok())
    .filter_map(|url| url.host_str().map(str::to_owned))
    .collect()
}
