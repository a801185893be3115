//! The policy for URLs Gatehouse learns from servers (OAuth metadata,
//! endpoints, redirects): a hostile or compromised server must not be able to
//! point Gatehouse at the person's router, a cloud metadata service or
//! anything else on their network.
//!
//! Rules: https only — plain http only to loopback, and only when the MCP
//! server itself is on loopback; no link-local, cloud-metadata or reserved
//! address, ever, whatever the MCP server is; loopback only when the MCP
//! server is on loopback; private (RFC 1918, ULA, CGNAT) only when the MCP
//! server itself is on a private network. Addresses are judged by one table
//! of ranges ([`ranges`]), which also sees through the IPv6 forms that
//! carry an IPv4 address. The checks run on the URL of every request and
//! redirect hop, and — through a DNS resolver that drops forbidden
//! addresses ([`resolver`]) — on the resolved addresses of every connection.
//!
//! The MCP server's own class comes from what its host *resolves to*, so a
//! company server behind internal DNS (`mcp.corp.example` → 10.0.0.5) may
//! use its private authorization server. When the answers are of mixed
//! classes the server gets only what every one of them would allow (the
//! intersection): a public name that also answers one private address does
//! not open the person's network, and a name must be wholly on loopback to
//! be treated as loopback. The server's class is the ceiling for every URL
//! it teaches Gatehouse; metadata and link-local addresses are above every
//! ceiling. (rmcp 3.11 decides the other way — its base host's DNS answers
//! never widen its own filter — but Gatehouse gives rmcp this client, which
//! turns rmcp's filter off. Whoever answers for the server's name already
//! decides where Gatehouse's MCP traffic goes, and a private target still
//! has to be https with a certificate trusted for its name.) rmcp still
//! refuses a private IP *literal* as the authorization server named in
//! protected resource metadata (only its own client can lift that), so a
//! private authorization server has to be named by host name.
//!
//! `*.localhost` names are this computer only if they resolve there: the
//! resolver lets such a name connect to loopback addresses only, so plain
//! http to one never leaves the machine.

mod ranges;
mod resolver;

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use url::{Host, Url};

pub use ranges::{AddressClass, Verdict, classify};
use resolver::PolicySource;
pub use resolver::{HostLookup, PolicyResolver, SystemLookup, proxy_hosts_from_env};

/// Host names that reach cloud instance metadata services.
const METADATA_HOSTS: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.internal",
    "metadata.tencentyun.com",
    "instance-data",
    "instance-data.ec2.internal",
];

/// What a URL learned from one MCP server may point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsrfPolicy {
    /// The MCP server is on loopback: loopback targets (and http to them)
    /// are allowed.
    pub allow_loopback: bool,
    /// The MCP server is on a private network: private targets are allowed.
    pub allow_private: bool,
}

/// A URL the policy refuses, with the reason a person can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing to contact {url}: {reason}")]
pub struct UnsafeAddress {
    pub url: String,
    pub reason: String,
}

impl SsrfPolicy {
    /// Public targets only: the policy of a server on the Internet, and of
    /// one whose class is not known.
    pub const PUBLIC: Self = Self {
        allow_loopback: false,
        allow_private: false,
    };

    /// The policy for a server at these addresses: what every one of them
    /// allows (see the module documentation).
    pub fn for_addresses(addresses: &[IpAddr]) -> Self {
        let all = |class: AddressClass| {
            !addresses.is_empty() && addresses.iter().all(|ip| classify(*ip).class == class)
        };
        Self {
            allow_loopback: all(AddressClass::Loopback),
            allow_private: all(AddressClass::Private),
        }
    }

    /// The policy for URLs learned from the MCP server at `server`, by what
    /// its host is or resolves to. `None` when its name does not resolve
    /// now (the caller falls back to [`SsrfPolicy::PUBLIC`]).
    pub async fn for_server(server: &Url, lookup: &dyn HostLookup) -> Option<Self> {
        match server.host() {
            Some(Host::Ipv4(ip)) => Some(Self::for_addresses(&[IpAddr::V4(ip)])),
            Some(Host::Ipv6(ip)) => Some(Self::for_addresses(&[IpAddr::V6(ip)])),
            Some(Host::Domain(domain)) if is_metadata_name(domain) => Some(Self::PUBLIC),
            Some(Host::Domain(domain)) => match lookup.lookup(domain).await {
                Ok(addresses) if !addresses.is_empty() => Some(Self::for_addresses(&addresses)),
                Ok(_) => None,
                Err(error) => {
                    tracing::debug!(host = domain, %error, "the MCP server's name does not resolve");
                    None
                }
            },
            None => Some(Self::PUBLIC),
        }
    }

    /// Checks a URL's scheme and host (before any DNS resolution).
    pub fn check_url(&self, url: &Url) -> Result<(), UnsafeAddress> {
        let refuse = |reason: String| UnsafeAddress {
            url: shorten(url.as_str()),
            reason,
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("URLs with credentials are not followed".into()));
        }
        let host = url.host().ok_or_else(|| refuse("it has no host".into()))?;
        let loopback_host = match &host {
            Host::Domain(domain) => {
                if is_metadata_name(domain) {
                    return Err(refuse(metadata_name_reason(domain)));
                }
                is_localhost_name(domain)
            }
            Host::Ipv4(ip) => self.check_ip(IpAddr::V4(*ip)).map_err(refuse)?,
            Host::Ipv6(ip) => self.check_ip(IpAddr::V6(*ip)).map_err(refuse)?,
        };
        if loopback_host && !self.allow_loopback {
            return Err(refuse(format!(
                "{} is on this computer (loopback), but the MCP server is not",
                host
            )));
        }
        match url.scheme() {
            "https" => Ok(()),
            "http" if loopback_host => Ok(()),
            "http" => Err(refuse(
                "plain http is allowed only to this computer (loopback)".into(),
            )),
            _ => Err(refuse("only https URLs are followed".into())),
        }
    }

    /// Checks one resolved (or literal) address; `Ok(true)` when it is on
    /// this computer.
    pub fn check_ip(&self, ip: IpAddr) -> Result<bool, String> {
        let Verdict { class, reason } = classify(ip);
        match class {
            AddressClass::Public => Ok(false),
            AddressClass::Loopback if self.allow_loopback => Ok(true),
            AddressClass::Private if self.allow_private => Ok(false),
            AddressClass::Loopback => Err(format!("{reason}, but the MCP server is not")),
            AddressClass::Private => Err(format!(
                "{reason}, but the MCP server is not on a private network"
            )),
            AddressClass::LinkLocal | AddressClass::Metadata | AddressClass::Reserved => {
                Err(reason)
            }
        }
    }

    /// The addresses `host` resolved to that this policy lets Gatehouse
    /// connect to, or why there are none. A `*.localhost` name may only
    /// lead to loopback addresses.
    pub fn filter_resolved(&self, host: &str, resolved: &[IpAddr]) -> Result<Vec<IpAddr>, String> {
        if is_metadata_name(host) {
            return Err(metadata_name_reason(host));
        }
        let localhost = is_localhost_name(host);
        let mut refused = None;
        let allowed: Vec<IpAddr> = resolved
            .iter()
            .copied()
            .filter(|ip| {
                let verdict = match classify(*ip) {
                    Verdict {
                        class: AddressClass::Public | AddressClass::Private,
                        reason,
                    } if localhost => Err(format!(
                        "{host} should be this computer, but it resolves elsewhere: {reason}"
                    )),
                    _ => self.check_ip(*ip).map(|_| ()),
                };
                match verdict {
                    Ok(()) => true,
                    Err(reason) => {
                        refused.get_or_insert(reason);
                        false
                    }
                }
            })
            .collect();
        if allowed.is_empty() {
            return Err(refused.unwrap_or_else(|| format!("{host} does not resolve")));
        }
        Ok(allowed)
    }

    /// A DNS resolver for reqwest that resolves with the system resolver and
    /// drops every address this policy forbids. `exempt` hosts (configured
    /// proxies) are resolved unfiltered.
    pub fn resolver(&self, exempt: Vec<String>) -> Arc<PolicyResolver> {
        self.resolver_with_lookup(exempt, Arc::new(SystemLookup))
    }

    /// [`SsrfPolicy::resolver`] over another lookup.
    pub fn resolver_with_lookup(
        &self,
        exempt: Vec<String>,
        lookup: Arc<dyn HostLookup>,
    ) -> Arc<PolicyResolver> {
        Arc::new(PolicyResolver {
            source: PolicySource::Fixed(*self),
            lookup,
            exempt,
        })
    }
}

/// The policy of one MCP server, learned from what its host resolves to
/// when it is first needed (not when the server is configured: the machine
/// may be offline, or not yet on the company network) and learned again on
/// [`ServerPolicy::learn`]. Clones share what was learned.
#[derive(Clone)]
pub struct ServerPolicy {
    server: Url,
    lookup: Arc<dyn HostLookup>,
    learned: Arc<RwLock<Option<SsrfPolicy>>>,
}

impl std::fmt::Debug for ServerPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerPolicy")
            .field("server", &self.server.as_str())
            .field("learned", &self.learned_now())
            .finish_non_exhaustive()
    }
}

impl ServerPolicy {
    /// The policy of the MCP server at `server`, resolved by the system.
    pub fn new(server: Url) -> Self {
        Self::with_lookup(server, Arc::new(SystemLookup))
    }

    pub fn with_lookup(server: Url, lookup: Arc<dyn HostLookup>) -> Self {
        Self {
            server,
            lookup,
            learned: Arc::new(RwLock::new(None)),
        }
    }

    /// Resolves the server's host again and keeps the policy it gives.
    /// When the name does not resolve now, what was learned before stays
    /// (or, if nothing was, public targets only are allowed).
    pub async fn learn(&self) -> SsrfPolicy {
        match SsrfPolicy::for_server(&self.server, &*self.lookup).await {
            Some(policy) => {
                *self.learned.write().unwrap_or_else(|e| e.into_inner()) = Some(policy);
                policy
            }
            None => self.current(),
        }
    }

    /// The policy, learning it first if it was never learned.
    pub async fn get(&self) -> SsrfPolicy {
        match self.learned_now() {
            Some(policy) => policy,
            None => self.learn().await,
        }
    }

    /// The policy as learned so far, without resolving: public targets
    /// only until something was learned.
    pub fn current(&self) -> SsrfPolicy {
        self.learned_now().unwrap_or(SsrfPolicy::PUBLIC)
    }

    fn learned_now(&self) -> Option<SsrfPolicy> {
        *self.learned.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A DNS resolver for reqwest under this server's policy, through the
    /// same lookup the policy was learned with.
    pub fn resolver(&self, exempt: Vec<String>) -> Arc<PolicyResolver> {
        Arc::new(PolicyResolver {
            source: PolicySource::Server(self.clone()),
            lookup: self.lookup.clone(),
            exempt,
        })
    }
}

fn normalized(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn is_metadata_name(host: &str) -> bool {
    METADATA_HOSTS.contains(&normalized(host).as_str())
}

fn metadata_name_reason(host: &str) -> String {
    format!(
        "{} is the name of a cloud metadata service",
        normalized(host)
    )
}

fn is_localhost_name(host: &str) -> bool {
    let host = normalized(host);
    host == "localhost" || host.ends_with(".localhost")
}

fn shorten(url: &str) -> String {
    if url.chars().count() <= 120 {
        return url.to_owned();
    }
    let mut short: String = url.chars().take(120).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests;
