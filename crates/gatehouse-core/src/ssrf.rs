//! The policy for URLs Gatehouse learns from servers (OAuth metadata,
//! endpoints, redirects): a hostile or compromised server must not be able to
//! point Gatehouse at the person's router, a cloud metadata service or
//! anything else on their network.
//!
//! Rules: https only — plain http only to loopback, and only when the MCP
//! server itself is on loopback; no link-local or cloud-metadata address,
//! ever; loopback only when the MCP server is on loopback; private (RFC 1918,
//! ULA, CGNAT) only when the MCP server itself is on a private address. The
//! checks run on the URL of every request and redirect hop, and — through a
//! DNS resolver that drops forbidden addresses — on the resolved addresses of
//! every connection.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

/// Host names that reach cloud instance metadata services.
const METADATA_HOSTS: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.internal",
    "instance-data",
    "instance-data.ec2.internal",
];

/// What a URL learned from one MCP server may point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsrfPolicy {
    /// The MCP server is on loopback: loopback targets (and http to them)
    /// are allowed.
    pub allow_loopback: bool,
    /// The MCP server is on a private address: private targets are allowed.
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
    /// The policy for URLs learned from the MCP server at `server`.
    pub fn for_server(server: &Url) -> Self {
        let class = match server.host() {
            Some(Host::Ipv4(ip)) => classify(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => classify(IpAddr::V6(ip)),
            Some(Host::Domain(domain)) if is_localhost_name(domain) => AddressClass::Loopback,
            _ => AddressClass::Public,
        };
        Self {
            allow_loopback: class == AddressClass::Loopback,
            allow_private: class == AddressClass::Private,
        }
    }

    /// Checks a URL's scheme and host (before any DNS resolution).
    pub fn check_url(&self, url: &Url) -> Result<(), UnsafeAddress> {
        let refuse = |reason: &str| UnsafeAddress {
            url: shorten(url.as_str()),
            reason: reason.to_owned(),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("URLs with credentials are not followed"));
        }
        let host = url.host().ok_or_else(|| refuse("it has no host"))?;
        let loopback_host = match &host {
            Host::Domain(domain) => {
                let domain = domain.trim_end_matches('.').to_ascii_lowercase();
                if METADATA_HOSTS.contains(&domain.as_str()) {
                    return Err(refuse("it is a cloud metadata service"));
                }
                is_localhost_name(&domain)
            }
            Host::Ipv4(ip) => {
                self.check_ip(IpAddr::V4(*ip)).map_err(|r| refuse(&r))?;
                ip.is_loopback()
            }
            Host::Ipv6(ip) => {
                self.check_ip(IpAddr::V6(*ip)).map_err(|r| refuse(&r))?;
                ip.is_loopback()
            }
        };
        if loopback_host && !self.allow_loopback {
            return Err(refuse(
                "it is on this computer (loopback), but the MCP server is not",
            ));
        }
        match url.scheme() {
            "https" => Ok(()),
            "http" if loopback_host => Ok(()),
            "http" => Err(refuse("plain http is allowed only on loopback")),
            _ => Err(refuse("only https URLs are followed")),
        }
    }

    /// Checks one resolved (or literal) address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        match classify(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::Loopback if self.allow_loopback => Ok(()),
            AddressClass::Private if self.allow_private => Ok(()),
            AddressClass::Loopback => Err("it is a loopback address".into()),
            AddressClass::Private => Err(format!("{ip} is a private network address")),
            AddressClass::LinkLocal => Err(format!(
                "{ip} is a link-local address (such as a cloud metadata service)"
            )),
            AddressClass::Reserved => Err(format!("{ip} is not a routable address")),
        }
    }

    /// A DNS resolver for reqwest that resolves with the system resolver and
    /// drops every address this policy forbids. `exempt` hosts (configured
    /// proxies) are resolved unfiltered.
    pub fn resolver(&self, exempt: Vec<String>) -> Arc<PolicyResolver> {
        Arc::new(PolicyResolver {
            policy: *self,
            exempt,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddressClass {
    Public,
    Loopback,
    Private,
    LinkLocal,
    Reserved,
}

fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            let segments = v6.segments();
            if v6.is_loopback() {
                AddressClass::Loopback
            } else if v6.is_unspecified()
                || v6.is_multicast()
                || segments[0] == 0x2001 && segments[1] == 0x0db8
            {
                AddressClass::Reserved
            } else if segments[0] & 0xffc0 == 0xfe80 {
                AddressClass::LinkLocal
            } else if segments[0] & 0xfe00 == 0xfc00 {
                AddressClass::Private
            } else if segments[0] == 0x0064 && segments[1] == 0xff9b {
                // NAT64: judge the embedded IPv4 address.
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                classify_v4(Ipv4Addr::new(a, b, c, d))
            } else {
                AddressClass::Public
            }
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        AddressClass::Private
    } else if ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn is_localhost_name(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    domain == "localhost" || domain.ends_with(".localhost")
}

fn shorten(url: &str) -> String {
    if url.chars().count() <= 120 {
        return url.to_owned();
    }
    let mut short: String = url.chars().take(120).collect();
    short.push('…');
    short
}

/// See [`SsrfPolicy::resolver`].
#[derive(Debug)]
pub struct PolicyResolver {
    policy: SsrfPolicy,
    exempt: Vec<String>,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let policy = self.policy;
        let exempt = self.exempt.iter().any(|e| e.eq_ignore_ascii_case(&host));
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if exempt {
                return Ok(Box::new(resolved.into_iter()) as reqwest::dns::Addrs);
            }
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match policy.check_ip(addr.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        refused.get_or_insert(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let reason = refused.unwrap_or_else(|| "it does not resolve".into());
                return Err(Box::new(UnsafeAddress { url: host, reason })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    const PUBLIC: SsrfPolicy = SsrfPolicy {
        allow_loopback: false,
        allow_private: false,
    };

    #[test]
    fn policy_follows_the_server_address() {
        assert_eq!(
            SsrfPolicy::for_server(&url("http://127.0.0.1:3000/mcp")),
            SsrfPolicy {
                allow_loopback: true,
                allow_private: false
            }
        );
        assert!(SsrfPolicy::for_server(&url("http://localhost:3000/mcp")).allow_loopback);
        assert_eq!(
            SsrfPolicy::for_server(&url("https://10.1.2.3/mcp")),
            SsrfPolicy {
                allow_loopback: false,
                allow_private: true
            }
        );
        assert_eq!(
            SsrfPolicy::for_server(&url("https://mcp.linear.app/mcp")),
            PUBLIC
        );
    }

    #[test]
    fn public_servers_may_only_point_at_public_https() {
        PUBLIC
            .check_url(&url("https://auth.example.com/authorize"))
            .unwrap();
        for (bad, why) in [
            ("http://auth.example.com/token", "plain http"),
            ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("https://[fe80::1]/", "link-local"),
            ("https://10.0.0.1/token", "private"),
            ("https://192.168.1.1/", "private"),
            ("https://100.64.0.1/", "private"),
            ("https://[fd00::1]/", "private"),
            ("https://127.0.0.1/", "loopback"),
            ("https://localhost/", "loopback"),
            ("https://[::ffff:169.254.169.254]/", "link-local"),
            ("https://0.0.0.0/", "not a routable"),
            ("https://metadata.google.internal/", "metadata"),
            ("javascript:alert(1)", "no host"),
            ("file:///etc/passwd", "no host"),
            ("ftp://example.com/", "only https"),
            ("https://user:pw@example.com/", "credentials"),
        ] {
            let err = PUBLIC.check_url(&url(bad)).unwrap_err();
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn loopback_servers_may_use_loopback_http() {
        let policy = SsrfPolicy::for_server(&url("http://127.0.0.1:8080/mcp"));
        policy
            .check_url(&url("http://127.0.0.1:9000/token"))
            .unwrap();
        policy
            .check_url(&url("http://localhost:9000/token"))
            .unwrap();
        policy.check_url(&url("https://auth.example.com/")).unwrap();
        assert!(policy.check_url(&url("http://example.com/")).is_err());
        assert!(policy.check_url(&url("http://10.0.0.1/")).is_err());
        assert!(policy.check_url(&url("http://169.254.169.254/")).is_err());
    }

    #[tokio::test]
    async fn the_resolver_drops_forbidden_addresses() {
        use reqwest::dns::Resolve;
        let resolver = PUBLIC.resolver(vec![]);
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = match resolver.resolve(name).await {
            Ok(_) => panic!("localhost must not resolve for a public server"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("loopback"), "{err}");
        let loopback = SsrfPolicy::for_server(&url("http://127.0.0.1/"));
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let addrs: Vec<_> = loopback
            .resolver(vec![])
            .resolve(name)
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
