//! What an IP address is, for the SSRF policy: one table of the special
//! ranges (IANA's special-purpose registries, cloud metadata services), and
//! the rules that find the IPv4 address an IPv6 address carries.
//!
//! The embedding rules are those of rmcp 3.11's own metadata address filter
//! (`AuthorizationManager::embedded_ipv4`): IPv4-mapped, IPv4-compatible,
//! NAT64 `64:ff9b::/96` and 6to4 are judged by the IPv4 address inside,
//! Teredo and local-use NAT64 are refused outright. Gatehouse adds SIIT
//! (`::ffff:0:0:0/96`, which rmcp lets through) and refuses more ranges than
//! rmcp does (documentation, benchmarking, site-local, discard, everything
//! outside the IPv6 unicast range), never fewer, so whatever rmcp refuses is
//! refused here too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// What kind of address an IP is, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// Anywhere on the Internet.
    Public,
    /// This computer.
    Loopback,
    /// A private network (RFC 1918, carrier-grade NAT, unique local).
    Private,
    /// The local link: never contacted.
    LinkLocal,
    /// A cloud instance metadata service: never contacted.
    Metadata,
    /// Not a destination at all (unspecified, multicast, documentation,
    /// tunnels that can lead anywhere, …): never contacted.
    Reserved,
}

/// One special range.
#[derive(Debug)]
pub(super) struct Range {
    /// What the range is, for people reading this table (and its tests).
    #[cfg_attr(not(test), expect(dead_code, reason = "documentation"))]
    pub(super) name: &'static str,
    pub(super) net: IpNet,
    pub(super) class: AddressClass,
    /// Completes "<address> is …" in a refusal.
    pub(super) what: &'static str,
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> IpNet {
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), prefix)
}

const fn v6(s: [u16; 8], prefix: u8) -> IpNet {
    IpNet::new_assert(
        IpAddr::V6(Ipv6Addr::new(
            s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
        )),
        prefix,
    )
}

const fn range(name: &'static str, net: IpNet, class: AddressClass, what: &'static str) -> Range {
    Range {
        name,
        net,
        class,
        what,
    }
}

use AddressClass::{LinkLocal, Loopback, Metadata, Private, Reserved};

const METADATA: &str = "a cloud metadata address";
const PRIVATE: &str = "a private network address";
const DOCUMENTATION: &str = "an address reserved for documentation";
const NOT_UNICAST: &str =
    "outside the range of Internet addresses (IPv6 unicast addresses start with 2000::/3)";

/// Every special range. The first range that contains an address decides,
/// so a range comes before every range that contains it (a test checks).
/// Addresses in none of them are public.
#[rustfmt::skip]
pub(super) const RANGES: &[Range] = &[
    // Cloud instance metadata services, in every family: never, whatever
    // the MCP server is.
    range("AWS, Azure, Google Cloud, OpenStack… instance metadata", v4(169, 254, 169, 254, 32), Metadata, METADATA),
    range("AWS ECS task metadata and credentials", v4(169, 254, 170, 2, 32), Metadata, "a cloud metadata address (AWS container credentials)"),
    range("AWS EKS Pod Identity agent", v4(169, 254, 170, 23, 32), Metadata, "a cloud metadata address (AWS EKS Pod Identity)"),
    range("Alibaba Cloud instance metadata", v4(100, 100, 100, 200, 32), Metadata, "a cloud metadata address (Alibaba Cloud)"),
    range("Oracle Cloud instance metadata", v4(192, 0, 0, 192, 32), Metadata, "a cloud metadata address (Oracle Cloud)"),
    range("Azure WireServer (host agent)", v4(168, 63, 129, 16, 32), Metadata, "a cloud metadata address (Azure host agent)"),
    range("AWS instance metadata over IPv6", v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], 128), Metadata, "a cloud metadata address (AWS, IPv6)"),
    range("AWS EKS Pod Identity agent over IPv6", v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23], 128), Metadata, "a cloud metadata address (AWS EKS Pod Identity, IPv6)"),
    range("Google Cloud instance metadata over IPv6", v6([0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254], 128), Metadata, "a cloud metadata address (Google Cloud, IPv6)"),
    range("Oracle Cloud instance metadata over IPv6", v6([0xfd00, 0xc1, 0, 0, 0, 0, 0xa9fe, 0xa9fe], 128), Metadata, "a cloud metadata address (Oracle Cloud, IPv6)"),
    // IPv4 (RFC 6890 and the IANA IPv4 special-purpose registry).
    range("\"this network\"", v4(0, 0, 0, 0, 8), Reserved, "an unspecified address (0.0.0.0/8), which reaches this computer"),
    range("RFC 1918 private", v4(10, 0, 0, 0, 8), Private, PRIVATE),
    range("shared address space (carrier-grade NAT)", v4(100, 64, 0, 0, 10), Private, "a private network address (carrier-grade NAT)"),
    range("loopback", v4(127, 0, 0, 0, 8), Loopback, "an address of this computer (loopback)"),
    range("link-local", v4(169, 254, 0, 0, 16), LinkLocal, "a link-local address, such as a cloud metadata service's"),
    range("RFC 1918 private", v4(172, 16, 0, 0, 12), Private, PRIVATE),
    range("IETF protocol assignments", v4(192, 0, 0, 0, 24), Reserved, "an address reserved for IETF protocols"),
    range("TEST-NET-1", v4(192, 0, 2, 0, 24), Reserved, DOCUMENTATION),
    range("6to4 relay anycast (deprecated)", v4(192, 88, 99, 0, 24), Reserved, "a deprecated 6to4 relay address"),
    range("RFC 1918 private", v4(192, 168, 0, 0, 16), Private, PRIVATE),
    range("benchmarking", v4(198, 18, 0, 0, 15), Reserved, "an address reserved for benchmarking"),
    range("TEST-NET-2", v4(198, 51, 100, 0, 24), Reserved, DOCUMENTATION),
    range("TEST-NET-3", v4(203, 0, 113, 0, 24), Reserved, DOCUMENTATION),
    range("multicast", v4(224, 0, 0, 0, 4), Reserved, "a multicast address"),
    range("limited broadcast", v4(255, 255, 255, 255, 32), Reserved, "the broadcast address"),
    range("reserved for future use", v4(240, 0, 0, 0, 4), Reserved, "a reserved address"),
    // IPv6 (RFC 6890 and the IANA IPv6 special-purpose registry). The forms
    // that carry an IPv4 address (IPv4-mapped, IPv4-compatible, SIIT, 6to4,
    // NAT64 64:ff9b::/96) are judged by that address before this table.
    range("unspecified", v6([0; 8], 128), Reserved, "the unspecified address, which reaches this computer"),
    range("loopback", v6([0, 0, 0, 0, 0, 0, 0, 1], 128), Loopback, "an address of this computer (loopback)"),
    // RFC 8215 lets each network place the IPv4 address anywhere after its
    // own prefix (/48 to /96), so which bits are the address cannot be
    // known, and the prefix exists to reach the operator's own IPv4
    // network. rmcp refuses it outright; so does Gatehouse, for every
    // server.
    range("local-use NAT64 (RFC 8215)", v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), Reserved, "a local-use NAT64 address, which can stand for any IPv4 address of its network"),
    range("discard-only", v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), Reserved, "a discard-only address"),
    // Teredo carries two IPv4 addresses and tunnels through UDP to either
    // side of a NAT: refused outright, as rmcp does.
    range("Teredo", v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), Reserved, "a Teredo tunnel address, which can lead anywhere"),
    range("benchmarking", v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48), Reserved, "an address reserved for benchmarking"),
    range("ORCHID (deprecated)", v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28), Reserved, "an ORCHID identifier, not a network address"),
    range("ORCHIDv2", v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28), Reserved, "an ORCHID identifier, not a network address"),
    range("documentation", v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), Reserved, DOCUMENTATION),
    range("documentation (RFC 9637)", v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), Reserved, DOCUMENTATION),
    range("SRv6 segment identifiers", v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16), Reserved, "an SRv6 segment identifier, not a host address"),
    range("unique local", v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), Private, "a private network address (unique local)"),
    range("link-local", v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), LinkLocal, "a link-local address"),
    range("site-local (deprecated, RFC 3879)", v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), Reserved, "a site-local address (deprecated, not routable)"),
    range("multicast", v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Reserved, "a multicast address"),
    // Whatever else lies outside 2000::/3, the only range with Internet
    // unicast addresses.
    range("outside 2000::/3", v6([0; 8], 3), Reserved, NOT_UNICAST),
    range("outside 2000::/3", v6([0x4000, 0, 0, 0, 0, 0, 0, 0], 2), Reserved, NOT_UNICAST),
    range("outside 2000::/3", v6([0x8000, 0, 0, 0, 0, 0, 0, 0], 1), Reserved, NOT_UNICAST),
];

/// What an address is, and why, in words a person understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub class: AddressClass,
    /// "169.254.169.254 is a cloud metadata address".
    pub reason: String,
}

/// Classifies one address: by the IPv4 address it carries when it is one
/// of the forms that stand for an IPv4 address, else by the table.
pub fn classify(ip: IpAddr) -> Verdict {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some((inner, form)) => {
                let verdict = classify_v4(inner);
                if verdict.class == AddressClass::Public {
                    return verdict;
                }
                Verdict {
                    class: verdict.class,
                    reason: format!("{v6} stands for {inner} ({form}); {}", verdict.reason),
                }
            }
            None => classify_v6_in_table(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> Verdict {
    from_table(IpAddr::V4(ip))
}

fn classify_v6_in_table(ip: Ipv6Addr) -> Verdict {
    let mut verdict = from_table(IpAddr::V6(ip));
    // Teredo and local-use NAT64 are refused as such; name the most
    // telling IPv4 address they may carry (a metadata service before the
    // local link, before this computer, before a private network), so the
    // refusal says what the address was after.
    let hidden = hidden_ipv4_candidates(ip)
        .into_iter()
        .map(|inner| (inner, classify_v4(inner)))
        .filter(|(_, inner)| severity(inner.class) > 0)
        .fold(
            None,
            |best: Option<(Ipv4Addr, Verdict)>, candidate| match best {
                Some(best) if severity(best.1.class) >= severity(candidate.1.class) => Some(best),
                _ => Some(candidate),
            },
        );
    if let Some((inner, inner_verdict)) = hidden {
        verdict.reason = format!(
            "{}; it carries {inner}, and {}",
            verdict.reason, inner_verdict.reason
        );
    }
    verdict
}

/// How much a hidden address says about intent; 0 for what it says nothing
/// about (public addresses, and the zeros of unused bits).
fn severity(class: AddressClass) -> u8 {
    match class {
        AddressClass::Metadata => 4,
        AddressClass::LinkLocal => 3,
        AddressClass::Loopback => 2,
        AddressClass::Private => 1,
        AddressClass::Public | AddressClass::Reserved => 0,
    }
}

fn from_table(ip: IpAddr) -> Verdict {
    match RANGES.iter().find(|range| range.net.contains(&ip)) {
        Some(range) => Verdict {
            class: range.class,
            reason: format!("{ip} is {}", range.what),
        },
        None => Verdict {
            class: AddressClass::Public,
            reason: format!("{ip} is a public address"),
        },
    }
}

/// The IPv4 address of the IPv6 forms that stand for one, with the form's
/// name: IPv4-mapped (`::ffff:a.b.c.d`), SIIT / IPv4-translated
/// (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, not `::` or `::1`),
/// 6to4 (`2002:AABB:CCDD::/48`, bits 16..48) and well-known NAT64
/// (`64:ff9b::a.b.c.d`).
pub(super) fn embedded_ipv4(ip: Ipv6Addr) -> Option<(Ipv4Addr, &'static str)> {
    let [a, b, c, d, e, f, g, h] = ip.segments();
    let low = Ipv4Addr::from((u32::from(g) << 16) | u32::from(h));
    match [a, b, c, d, e, f] {
        [0, 0, 0, 0, 0, 0xffff] => Some((low, "IPv4-mapped")),
        [0, 0, 0, 0, 0xffff, 0] => Some((low, "SIIT, IPv4-translated")),
        [0, 0, 0, 0, 0, 0] if !ip.is_loopback() && !ip.is_unspecified() => {
            Some((low, "IPv4-compatible"))
        }
        [0x64, 0xff9b, 0, 0, 0, 0] => Some((low, "NAT64")),
        [0x2002, ..] => Some((Ipv4Addr::from((u32::from(b) << 16) | u32::from(c)), "6to4")),
        _ => None,
    }
}

/// IPv4 addresses that a Teredo or local-use NAT64 address may carry:
/// Teredo's server (bits 32..64) and client (the last 32 bits, inverted);
/// for local-use NAT64, the address at each RFC 6052 position a prefix of
/// /48, /56, /64 or /96 would put it.
fn hidden_ipv4_candidates(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    if s[0] == 0x2001 && s[1] == 0 {
        let server = Ipv4Addr::from((u32::from(s[2]) << 16) | u32::from(s[3]));
        let client = Ipv4Addr::from(!((u32::from(s[6]) << 16) | u32::from(s[7])));
        return vec![server, client];
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        // RFC 6052 §2.2: bits 64..72 are always zero and are skipped.
        return vec![
            Ipv4Addr::new(o[6], o[7], o[9], o[10]),
            Ipv4Addr::new(o[7], o[9], o[10], o[11]),
            Ipv4Addr::new(o[9], o[10], o[11], o[12]),
            Ipv4Addr::new(o[12], o[13], o[14], o[15]),
        ];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ip: &str) -> AddressClass {
        classify(ip.parse().unwrap()).class
    }

    #[test]
    fn a_range_comes_before_every_range_that_contains_it() {
        for (i, earlier) in RANGES.iter().enumerate() {
            for later in &RANGES[i + 1..] {
                assert!(
                    !earlier.net.contains(&later.net) || earlier.net == later.net,
                    "{} ({}) hides {} ({}) after it",
                    earlier.name,
                    earlier.net,
                    later.name,
                    later.net
                );
            }
        }
    }

    #[test]
    fn ordinary_addresses_are_public() {
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.255.255",
            "172.32.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "2002:808:808::1",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(class(ip), AddressClass::Public, "{ip}");
        }
    }

    #[test]
    fn the_classes_agree_with_rmcp() {
        // rmcp 3.11's `AddressClass::of` test cases, with the class each
        // has in rmcp: loopback and private the same, rmcp's "blocked" one
        // of the never-contacted classes here.
        for (ip, expected) in [
            ("127.0.0.1", Loopback),
            ("::1", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", Private),
            ("fd00::1", Private),
            ("::ffff:10.0.0.1", Private),
            ("64:ff9b::a00:1", Private),
            ("2002:a00:1::", Private),
            ("::a00:1", Private),
            ("2002:7f00:1::", Loopback),
            ("64:ff9b::a00:9", Private),
            ("64:ff9b::5db8:d822", AddressClass::Public),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
        for blocked in [
            "169.254.169.254",
            "169.254.1.1",
            "fe80::1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "ff02::1",
            "::",
            "2001::1",
            "64:ff9b:1::1",
            "198.18.0.1",
            "0.1.2.3",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::",
            "::169.254.169.254",
            "2001:0:4136:e378::1",
        ] {
            assert!(
                matches!(class(blocked), LinkLocal | Metadata | Reserved),
                "{blocked}"
            );
        }
    }

    #[test]
    fn local_use_nat64_names_what_it_may_carry() {
        // 169.254.169.254 at the /48, /56, /64 and /96 positions.
        for ip in [
            "64:ff9b:1:a9fe:a9:fe00::",
            "64:ff9b:1:a9:fe:a9fe::",
            "64:ff9b:1:0:a9:fea9:fe00:0",
            "64:ff9b:1::a9fe:a9fe",
        ] {
            let verdict = classify(ip.parse().unwrap());
            assert_eq!(verdict.class, Reserved, "{ip}");
            assert!(
                verdict.reason.contains(
                    "it carries 169.254.169.254, and 169.254.169.254 is a cloud metadata address"
                ),
                "{ip}: {}",
                verdict.reason
            );
        }
    }
}
