use std::io;
use std::net::IpAddr;

use reqwest::dns::Resolve;

use super::*;

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|ip| ip.parse().unwrap()).collect()
}

/// The names the tests resolve, with fixed answers (no DNS here).
fn dns(host: &str) -> io::Result<Vec<IpAddr>> {
    let answer: &[&str] = match host {
        "auth.example.com" => &["93.184.216.34"],
        "mcp.corp.example" => &["10.0.0.5", "fd12::5"],
        "sso.corp.example" => &["10.0.0.9"],
        "imds.example" => &["169.254.169.254"],
        "imds6.example" => &["fd00:ec2::254"],
        "mapped.example" => &["::ffff:169.254.169.254"],
        "compat.example" => &["::a9fe:a9fe"],
        "sixtofour.example" => &["2002:a9fe:a9fe::1"],
        "nat64.example" => &["64:ff9b:1::a9fe:a9fe"],
        "alibaba.example" => &["100.100.100.200"],
        "rebind.example" => &["127.0.0.1"],
        "half-private.example" => &["93.184.216.34", "10.0.0.5"],
        "lo-and-private.example" => &["127.0.0.1", "10.0.0.5"],
        "localhost" => &["127.0.0.1", "::1"],
        "app.localhost" => &["127.0.0.1"],
        "corp.localhost" => &["10.0.0.7"],
        "public.localhost" => &["93.184.216.34"],
        "meta.localhost" => &["169.254.169.254"],
        _ => return Err(io::Error::new(io::ErrorKind::NotFound, "no such name")),
    };
    Ok(ips(answer))
}

fn lookup() -> Arc<dyn HostLookup> {
    Arc::new(dns)
}

const LOOPBACK: SsrfPolicy = SsrfPolicy {
    allow_loopback: true,
    allow_private: false,
};
const PRIVATE: SsrfPolicy = SsrfPolicy {
    allow_loopback: false,
    allow_private: true,
};
const PUBLIC: SsrfPolicy = SsrfPolicy::PUBLIC;

/// What a request to `target` meets: the URL check, then (for a name) the
/// resolver. `None` when it would connect.
async fn refusal(policy: SsrfPolicy, target: &str) -> Option<String> {
    let target = url(target);
    if let Err(refused) = policy.check_url(&target) {
        return Some(refused.to_string());
    }
    let Some(Host::Domain(name)) = target.host() else {
        return None;
    };
    let resolver = policy.resolver_with_lookup(vec![], lookup());
    match resolver.resolve(name.parse().unwrap()).await {
        Ok(_) => None,
        Err(refused) => Some(refused.to_string()),
    }
}

#[tokio::test]
async fn hostile_targets_are_refused_with_a_reason_a_person_understands() {
    let metadata = "169.254.169.254 is a cloud metadata address";
    #[rustfmt::skip]
    let cases: &[(SsrfPolicy, &str, &str)] = &[
        // Cloud metadata, in every spelling and family, for every server.
        (PUBLIC, "https://169.254.169.254/latest/meta-data", metadata),
        (PUBLIC, "https://2852039166/latest/meta-data", metadata),
        (PUBLIC, "https://0xa9fea9fe/", metadata),
        (PUBLIC, "https://0xa9.0xfe.0xa9.0xfe/", metadata),
        (PUBLIC, "https://0251.0376.0251.0376/", metadata),
        (PUBLIC, "https://169.254.43518/", metadata),
        (PUBLIC, "https://[::ffff:169.254.169.254]/", "stands for 169.254.169.254 (IPv4-mapped); 169.254.169.254 is a cloud metadata address"),
        (PUBLIC, "https://[::a9fe:a9fe]/", "::a9fe:a9fe stands for 169.254.169.254 (IPv4-compatible); 169.254.169.254 is a cloud metadata address"),
        (PUBLIC, "https://[::ffff:0:a9fe:a9fe]/", "stands for 169.254.169.254 (SIIT, IPv4-translated); 169.254.169.254 is a cloud metadata address"),
        (PUBLIC, "https://[2002:a9fe:a9fe::1]/", "stands for 169.254.169.254 (6to4); 169.254.169.254 is a cloud metadata address"),
        (PUBLIC, "https://[64:ff9b::a9fe:a9fe]/", "stands for 169.254.169.254 (NAT64); 169.254.169.254 is a cloud metadata address"),
        (PUBLIC, "https://[64:ff9b:1::a9fe:a9fe]/", "is a local-use NAT64 address, which can stand for any IPv4 address of its network; it carries 169.254.169.254, and 169.254.169.254 is a cloud metadata address"),
        (PUBLIC, "https://[64:ff9b:1:a9fe:a9:fe00::]/", "local-use NAT64 address"),
        (PUBLIC, "https://[64:ff9b:1:0:a9:fea9:fe00:0]/", "local-use NAT64 address"),
        (PUBLIC, "https://[2001:0:4136:e378:8000:63bf:5601:5601]/", "is a Teredo tunnel address, which can lead anywhere; it carries 169.254.169.254, and 169.254.169.254 is a cloud metadata address"),
        (PUBLIC, "https://169.254.170.2/v2/credentials", "169.254.170.2 is a cloud metadata address (AWS container credentials)"),
        (PUBLIC, "https://100.100.100.200/latest/meta-data", "100.100.100.200 is a cloud metadata address (Alibaba Cloud)"),
        (PUBLIC, "https://192.0.0.192/opc/v2/instance", "192.0.0.192 is a cloud metadata address (Oracle Cloud)"),
        (PUBLIC, "https://[fd00:ec2::254]/latest/meta-data", "fd00:ec2::254 is a cloud metadata address (AWS, IPv6)"),
        (PUBLIC, "https://[fd20:ce::254]/", "fd20:ce::254 is a cloud metadata address (Google Cloud, IPv6)"),
        (PUBLIC, "https://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is the name of a cloud metadata service"),
        (PUBLIC, "https://METADATA.Google.Internal./", "metadata.google.internal is the name of a cloud metadata service"),
        (PUBLIC, "https://metadata/", "metadata is the name of a cloud metadata service"),
        (PUBLIC, "https://instance-data.ec2.internal/", "instance-data.ec2.internal is the name of a cloud metadata service"),
        (LOOPBACK, "http://169.254.169.254/", metadata),
        (LOOPBACK, "http://[::ffff:a9fe:a9fe]/", metadata),
        (PRIVATE, "https://169.254.169.254/", metadata),
        (PRIVATE, "https://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
        (PRIVATE, "https://100.100.100.200/", "100.100.100.200 is a cloud metadata address"),
        (PRIVATE, "https://[::ffff:0:6464:64c8]/", "100.100.100.200 is a cloud metadata address"),
        // Names whose only answer is such an address.
        (PUBLIC, "https://imds.example/", metadata),
        (PRIVATE, "https://imds.example/", metadata),
        (PUBLIC, "https://imds6.example/", "fd00:ec2::254 is a cloud metadata address"),
        (PUBLIC, "https://mapped.example/", metadata),
        (PUBLIC, "https://compat.example/", metadata),
        (PUBLIC, "https://sixtofour.example/", metadata),
        (PUBLIC, "https://nat64.example/", "local-use NAT64 address"),
        (PRIVATE, "https://alibaba.example/", "100.100.100.200 is a cloud metadata address"),
        // The local link, and what is no destination at all.
        (PUBLIC, "https://169.254.1.1/", "169.254.1.1 is a link-local address"),
        (PUBLIC, "https://[fe80::1]/", "fe80::1 is a link-local address"),
        (PUBLIC, "https://0.0.0.0/", "0.0.0.0 is an unspecified address (0.0.0.0/8), which reaches this computer"),
        (PUBLIC, "https://0/", "0.0.0.0 is an unspecified address"),
        (PUBLIC, "https://[::]/", ":: is the unspecified address, which reaches this computer"),
        (LOOPBACK, "http://0.0.0.0:8080/", "0.0.0.0 is an unspecified address"),
        (PUBLIC, "https://[fec0::1]/", "fec0::1 is a site-local address (deprecated, not routable)"),
        (PUBLIC, "https://[100::1]/", "100::1 is a discard-only address"),
        (PUBLIC, "https://[2001:db8::1]/", "2001:db8::1 is an address reserved for documentation"),
        (PUBLIC, "https://[3fff::1]/", "3fff::1 is an address reserved for documentation"),
        (PUBLIC, "https://192.0.2.1/", "192.0.2.1 is an address reserved for documentation"),
        (PUBLIC, "https://198.18.0.1/", "198.18.0.1 is an address reserved for benchmarking"),
        (PUBLIC, "https://[2001:2::1]/", "2001:2::1 is an address reserved for benchmarking"),
        (PUBLIC, "https://224.0.0.1/", "224.0.0.1 is a multicast address"),
        (PUBLIC, "https://[ff02::1]/", "ff02::1 is a multicast address"),
        (PUBLIC, "https://255.255.255.255/", "255.255.255.255 is the broadcast address"),
        (PUBLIC, "https://240.0.0.1/", "240.0.0.1 is a reserved address"),
        (PUBLIC, "https://[::1:2:3:4]/", "::1:2:3:4 is outside the range of Internet addresses"),
        (PUBLIC, "https://[2001:10::1]/", "2001:10::1 is an ORCHID identifier, not a network address"),
        (PRIVATE, "https://[fec0::1]/", "site-local"),
        // Private networks, for a server that is not on one.
        (PUBLIC, "https://10.0.0.1/token", "10.0.0.1 is a private network address, but the MCP server is not on a private network"),
        (PUBLIC, "https://192.168.1.1/", "192.168.1.1 is a private network address"),
        (PUBLIC, "https://100.64.0.1/", "100.64.0.1 is a private network address (carrier-grade NAT)"),
        (PUBLIC, "https://[fd12:3456::1]/", "fd12:3456::1 is a private network address (unique local)"),
        (PUBLIC, "https://[::ffff:10.0.0.1]/", "stands for 10.0.0.1 (IPv4-mapped); 10.0.0.1 is a private network address"),
        (PUBLIC, "https://[2002:c0a8:101::1]/", "stands for 192.168.1.1 (6to4); 192.168.1.1 is a private network address"),
        (PUBLIC, "https://mcp.corp.example/", "is a private network address, but the MCP server is not on a private network"),
        (LOOPBACK, "https://10.0.0.1/", "10.0.0.1 is a private network address"),
        // This computer, for a server that is not on it.
        (PUBLIC, "https://127.0.0.1/", "127.0.0.1 is an address of this computer (loopback), but the MCP server is not"),
        (PUBLIC, "https://127.1/", "127.0.0.1 is an address of this computer (loopback)"),
        (PUBLIC, "https://017700000001/", "127.0.0.1 is an address of this computer (loopback)"),
        (PUBLIC, "https://[::7f00:1]/", "::7f00:1 stands for 127.0.0.1 (IPv4-compatible); 127.0.0.1 is an address of this computer (loopback), but the MCP server is not"),
        (PUBLIC, "https://localhost/", "localhost is on this computer (loopback), but the MCP server is not"),
        (PUBLIC, "https://rebind.example/", "127.0.0.1 is an address of this computer (loopback), but the MCP server is not"),
        (PRIVATE, "https://127.0.0.1/", "127.0.0.1 is an address of this computer (loopback), but the MCP server is not"),
        // *.localhost names that do not resolve to this computer.
        (LOOPBACK, "http://corp.localhost:8080/", "corp.localhost should be this computer, but it resolves elsewhere: 10.0.0.7 is a private network address"),
        (LOOPBACK, "http://public.localhost/", "public.localhost should be this computer, but it resolves elsewhere: 93.184.216.34 is a public address"),
        (LOOPBACK, "http://meta.localhost/", metadata),
        (LOOPBACK, "http://nowhere.localhost/", "no such name"),
        // Schemes and shapes that are never followed.
        (PUBLIC, "http://auth.example.com/token", "plain http is allowed only to this computer (loopback)"),
        (LOOPBACK, "http://auth.example.com/token", "plain http is allowed only to this computer"),
        (PUBLIC, "ftp://auth.example.com/", "only https URLs are followed"),
        (PUBLIC, "https://user:pw@auth.example.com/", "URLs with credentials are not followed"),
        (PUBLIC, "file:///etc/passwd", "it has no host"),
        (PUBLIC, "javascript:alert(1)", "it has no host"),
    ];
    assert!(cases.len() >= 40);
    let mut failures = Vec::new();
    for (policy, target, why) in cases {
        match refusal(*policy, target).await {
            Some(reason) if reason.contains(why) => {}
            Some(reason) => {
                failures.push(format!("{target} ({policy:?}): {reason:?} lacks {why:?}"))
            }
            None => failures.push(format!("{target} ({policy:?}) was allowed")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn what_each_server_may_reach_is_still_allowed() {
    for (policy, target) in [
        (PUBLIC, "https://auth.example.com/authorize"),
        (PUBLIC, "https://[2606:4700::1111]/"),
        (PUBLIC, "https://[2002:808:808::1]/"),
        (PUBLIC, "https://[64:ff9b::808:808]/"),
        (LOOPBACK, "http://127.0.0.1:9000/token"),
        (LOOPBACK, "http://[::1]:9000/token"),
        (LOOPBACK, "http://[::ffff:127.0.0.1]:9000/token"),
        (LOOPBACK, "http://localhost:9000/token"),
        (LOOPBACK, "http://app.localhost:9000/token"),
        (LOOPBACK, "https://auth.example.com/"),
        (PRIVATE, "https://10.0.0.9/token"),
        (PRIVATE, "https://[fd12::9]/token"),
        (PRIVATE, "https://sso.corp.example/authorize"),
        (
            PRIVATE,
            "https://mcp.corp.example/.well-known/oauth-protected-resource",
        ),
        (PRIVATE, "https://auth.example.com/"),
    ] {
        assert_eq!(refusal(policy, target).await, None, "{target} ({policy:?})");
    }
}

#[tokio::test]
async fn a_server_is_classified_by_what_its_name_resolves_to() {
    let lookup = lookup();
    let of = async |server: &str| SsrfPolicy::for_server(&url(server), &*lookup).await;
    assert_eq!(of("https://mcp.corp.example/mcp").await, Some(PRIVATE));
    assert_eq!(of("https://sso.corp.example/mcp").await, Some(PRIVATE));
    assert_eq!(of("http://localhost:3000/mcp").await, Some(LOOPBACK));
    assert_eq!(of("http://app.localhost:3000/mcp").await, Some(LOOPBACK));
    assert_eq!(of("https://auth.example.com/mcp").await, Some(PUBLIC));
    // A *.localhost name is what it resolves to, not what it is called.
    assert_eq!(of("http://corp.localhost/mcp").await, Some(PRIVATE));
    assert_eq!(of("http://public.localhost/mcp").await, Some(PUBLIC));
    // Mixed answers get what every answer allows: nothing more than public.
    assert_eq!(of("https://half-private.example/mcp").await, Some(PUBLIC));
    assert_eq!(of("https://lo-and-private.example/mcp").await, Some(PUBLIC));
    // A server at a forbidden address widens nothing.
    assert_eq!(of("https://imds.example/mcp").await, Some(PUBLIC));
    assert_eq!(of("https://metadata.google.internal/").await, Some(PUBLIC));
    // Literal addresses, in any form.
    assert_eq!(of("http://127.0.0.1:3000/mcp").await, Some(LOOPBACK));
    assert_eq!(
        of("http://[::ffff:127.0.0.1]:3000/mcp").await,
        Some(LOOPBACK)
    );
    assert_eq!(of("https://10.1.2.3/mcp").await, Some(PRIVATE));
    assert_eq!(of("https://[fd00::3]/mcp").await, Some(PRIVATE));
    assert_eq!(of("https://[2002:a01:203::1]/mcp").await, Some(PRIVATE));
    assert_eq!(of("https://169.254.169.254/mcp").await, Some(PUBLIC));
    // Not resolvable now: the caller decides (public only).
    assert_eq!(of("https://offline.example/mcp").await, None);
}

#[tokio::test]
async fn a_private_server_reaches_its_private_authorization_server_but_never_metadata() {
    let server = ServerPolicy::with_lookup(url("https://mcp.corp.example/mcp"), lookup());
    assert_eq!(server.current(), PUBLIC, "nothing is learned before use");
    let policy = server.get().await;
    assert_eq!(policy, PRIVATE);
    assert_eq!(server.current(), PRIVATE);
    let resolver = server.resolver(vec![]);
    let resolve = async |name: &str| match resolver.resolve(name.parse().unwrap()).await {
        Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect::<Vec<_>>()),
        Err(e) => Err(e.to_string()),
    };
    // Its authorization server, by name and by address.
    assert_eq!(
        resolve("sso.corp.example").await.unwrap(),
        ips(&["10.0.0.9"])
    );
    policy
        .check_url(&url("https://sso.corp.example/authorize"))
        .unwrap();
    policy.check_url(&url("https://10.0.0.9/token")).unwrap();
    // Metadata in every family, by name and by address, stays refused.
    for name in [
        "imds.example",
        "imds6.example",
        "alibaba.example",
        "compat.example",
    ] {
        let refused = resolve(name).await.unwrap_err();
        assert!(
            refused.contains("is a cloud metadata address"),
            "{name}: {refused}"
        );
    }
    for target in [
        "https://169.254.169.254/",
        "https://[fd00:ec2::254]/",
        "https://100.100.100.200/",
        "https://192.0.0.192/",
        "https://[::ffff:169.254.169.254]/",
        "https://metadata.google.internal/",
    ] {
        let refused = policy.check_url(&url(target)).unwrap_err().to_string();
        assert!(refused.contains("cloud metadata"), "{target}: {refused}");
    }
    // Nor does a private server reach this computer.
    assert!(resolve("rebind.example").await.is_err());
}

#[tokio::test]
async fn a_server_policy_is_kept_while_its_name_stops_resolving() {
    let online = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = online.clone();
    let lookup = move |host: &str| {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            dns(host)
        } else {
            Err(io::Error::other("offline"))
        }
    };
    let server = ServerPolicy::with_lookup(url("https://mcp.corp.example/mcp"), Arc::new(lookup));
    online.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(server.get().await, PUBLIC, "unknown: public only");
    assert_eq!(server.current(), PUBLIC);
    online.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(server.get().await, PRIVATE, "learned once it resolves");
    online.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(server.learn().await, PRIVATE, "what was learned stays");
}

#[tokio::test]
async fn the_system_resolver_drops_forbidden_addresses() {
    let resolver = PUBLIC.resolver(vec![]);
    let name: reqwest::dns::Name = "localhost".parse().unwrap();
    let err = match resolver.resolve(name).await {
        Ok(_) => panic!("localhost must not resolve for a public server"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("loopback"), "{err}");
    let name: reqwest::dns::Name = "localhost".parse().unwrap();
    let addrs: Vec<_> = LOOPBACK
        .resolver(vec![])
        .resolve(name)
        .await
        .unwrap()
        .collect();
    assert!(!addrs.is_empty());
    assert!(addrs.iter().all(|a| a.ip().is_loopback()));
}

#[tokio::test]
async fn proxies_are_resolved_unfiltered() {
    let resolver = PUBLIC.resolver_with_lookup(vec!["corp.localhost".into()], lookup());
    let addrs: Vec<_> = resolver
        .resolve("corp.localhost".parse().unwrap())
        .await
        .unwrap()
        .map(|a| a.ip())
        .collect();
    assert_eq!(addrs, ips(&["10.0.0.7"]));
}
