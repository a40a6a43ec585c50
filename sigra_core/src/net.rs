//! Network facts about a request that every layer may need: which client sent it and
//! whether a redirect target stays on this site. A leaf module (it depends on nothing
//! else in Sigra), so [`config`](crate::config) can validate `trusted_proxies` with it
//! and the rate limiter and the web layer share one implementation.
//!
//! # Trust model
//!
//! The client IP is the socket peer unless that peer is a configured trusted proxy (an
//! IP address or a CIDR range). Only then is `X-Forwarded-For` read, and it is walked
//! from the right: each trusted proxy appends the address it received the request from,
//! so the right-most entries are the only ones we can believe. The walk skips entries
//! that are themselves trusted proxies and answers the first one that is not; everything
//! to its left is the client's to forge and is never read. An unparseable entry, a chain
//! longer than 32 hops or a header made only of trusted proxies falls back
//! to the socket IP, so a malformed or hostile header can never yield an address the
//! client chose. IPv4-mapped IPv6 addresses count as their IPv4 address.
//!
//! [`is_local_path`] decides whether a `return_to` target is a path on this site, so a
//! link cannot send users to another site after they log in.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The longest `X-Forwarded-For` chain walked; longer ones fall back to the socket IP.
const MAX_FORWARDED_HOPS: usize = 32;

/// The client IP to rate-limit on: the socket peer, unless it is a trusted proxy, in
/// which case the right-most `X-Forwarded-For` entry that is not itself a trusted proxy
/// (falling back to the socket IP).
///
/// `trusted_proxies` holds IP addresses or CIDR ranges (`"10.0.0.0/8"`, `"fd00::/8"`);
/// unparseable entries are ignored (configuration validation rejects them). IPv4-mapped
/// IPv6 addresses count as their IPv4 address. The header is walked from the right,
/// because only the entries appended by our own proxies can be believed; everything to
/// the left of the first untrusted entry is the client's to forge. The walk also falls
/// back to the socket IP at an unparseable entry or after 32 trusted hops. `None` only
/// when the socket address is unknown.
///
/// ```
/// use sigra_core::net::client_ip;
/// let proxies = ["10.0.0.0/8".to_string()];
/// let proxy = "10.0.0.2".parse().ok();
/// let client = client_ip(proxy, Some("198.51.100.1, 203.0.113.9"), &proxies);
/// assert_eq!(client, "203.0.113.9".parse().ok());
/// // A client talking to us directly cannot pick its own address.
/// let direct = "192.0.2.4".parse().ok();
/// assert_eq!(client_ip(direct, Some("203.0.113.9"), &proxies), direct);
/// ```
pub fn client_ip(
    socket: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted_proxies: &[String],
) -> Option<IpAddr> {
    let socket = socket?.to_canonical();
    let trusted = |ip: IpAddr| {
        trusted_proxies
            .iter()
            .filter_map(|proxy| parse_proxy(proxy))
            .any(|net| net.contains(ip))
    };
    if !trusted(socket) {
        return Some(socket);
    }
    let Some(header) = forwarded_for else {
        return Some(socket);
    };
    for entry in header
        .rsplit(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .take(MAX_FORWARDED_HOPS)
    {
        let Some(ip) = parse_forwarded_entry(entry) else {
            break;
        };
        if !trusted(ip) {
            return Some(ip);
        }
    }
    Some(socket)
}

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    fn contains(self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn same_prefix(a: u128, b: u128, prefix: u8, width: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(width.saturating_sub(prefix));
    a.checked_shr(shift) == b.checked_shr(shift)
}

/// Parses a trusted-proxy entry: an IP address or a CIDR range.
pub(crate) fn parse_proxy(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    let (addr, prefix) = match entry.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (entry, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let width = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u8>().ok().filter(|p| *p <= width)?
        }
        Some(_) => return None,
        None => width,
    };
    // `::ffff:10.0.0.0/104` is `10.0.0.0/8`: compare mapped addresses as IPv4.
    match addr {
        IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => Some(IpNet {
                addr: IpAddr::V4(v4),
                prefix: prefix - 96,
            }),
            None => Some(IpNet { addr, prefix }),
        },
        _ => Some(IpNet { addr, prefix }),
    }
}

/// One `X-Forwarded-For` entry: `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim().trim_matches('"');
    let ip = if let Ok(ip) = entry.parse::<IpAddr>() {
        ip
    } else if let Ok(addr) = entry.parse::<SocketAddr>() {
        addr.ip()
    } else {
        IpAddr::V6(
            entry
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<Ipv6Addr>()
                .ok()?,
        )
    };
    Some(ip.to_canonical())
}

/// Whether `path` is safe to redirect to: a path on this site (one leading `/`, not
/// `//`), at most 2048 characters, made only of the characters RFC 3986 allows in a URI
/// (so no backslash, whitespace, control characters, quotes, `<`, `>` or non-ASCII, which
/// browsers strip or rewrite and a `Location` header cannot carry; such characters must
/// arrive percent-encoded). Used for `return_to`, so a link cannot send users to another
/// site.
///
/// ```
/// use sigra_core::net::is_local_path;
/// assert!(is_local_path("/dashboard?tab=1"));
/// assert!(!is_local_path("//evil.example"));
/// assert!(!is_local_path("https://evil.example"));
/// assert!(!is_local_path("/\\evil.example"));
/// assert!(!is_local_path("/\t/evil.example"));
/// assert!(!is_local_path("/dash\"board"));
/// assert!(!is_local_path("/caf\u{e9}"));
/// assert!(is_local_path("/caf%C3%A9?q=a+b&x=%22"));
/// ```
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 2048
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn proxies(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rate_limit_client_ip_without_trusted_proxies_is_the_socket() {
        let none: Vec<String> = Vec::new();
        assert_eq!(client_ip(ip("192.0.2.1"), None, &none), ip("192.0.2.1"));
        // Spoofed header from a client talking to us directly: ignored.
        assert_eq!(
            client_ip(ip("192.0.2.1"), Some("203.0.113.5"), &none),
            ip("192.0.2.1")
        );
        assert_eq!(client_ip(None, Some("203.0.113.5"), &none), None);
        // IPv4-mapped IPv6 sockets are their IPv4 address.
        assert_eq!(
            client_ip(ip("::ffff:192.0.2.1"), None, &none),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn rate_limit_client_ip_ignores_header_from_untrusted_socket() {
        let p = proxies(&["10.0.0.1"]);
        assert_eq!(
            client_ip(ip("192.0.2.1"), Some("10.0.0.1, 203.0.113.5"), &p),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn rate_limit_client_ip_through_one_proxy() {
        let p = proxies(&["10.0.0.1"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), Some("203.0.113.5"), &p),
            ip("203.0.113.5")
        );
        // The client prepends a forged entry; the proxy appends the real address.
        assert_eq!(
            client_ip(ip("10.0.0.1"), Some("1.1.1.1, 203.0.113.5"), &p),
            ip("203.0.113.5")
        );
        // No header, empty header, garbage: the proxy itself.
        assert_eq!(client_ip(ip("10.0.0.1"), None, &p), ip("10.0.0.1"));
        assert_eq!(client_ip(ip("10.0.0.1"), Some(""), &p), ip("10.0.0.1"));
        assert_eq!(
            client_ip(ip("10.0.0.1"), Some("1.1.1.1, unknown"), &p),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn rate_limit_client_ip_through_a_chain_of_proxies() {
        let p = proxies(&["10.0.0.0/8", "2001:db8::/32", "198.51.100.7"]);
        // client → CDN (198.51.100.7) → LB (10.1.2.3) → app (socket 10.0.0.2)
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                Some("6.6.6.6, 203.0.113.5, 198.51.100.7, 10.1.2.3"),
                &p
            ),
            ip("203.0.113.5")
        );
        // Ports, brackets and spacing as some proxies write them.
        assert_eq!(
            client_ip(
                ip("2001:db8::1"),
                Some("[2001:db9::5]:4711 ,  10.9.9.9:80"),
                &p
            ),
            ip("2001:db9::5")
        );
        assert_eq!(
            client_ip(ip("2001:db8::1"), Some("2001:db9::6"), &p),
            ip("2001:db9::6")
        );
        // Every hop trusted: the socket.
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("10.3.3.3, 198.51.100.7"), &p),
            ip("10.0.0.2")
        );
        // Repeated header lines joined by the web layer.
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("203.0.113.8,10.3.3.3,"), &p),
            ip("203.0.113.8")
        );
    }

    #[test]
    fn rate_limit_client_ip_mapped_addresses_match_ipv4_proxies() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.2"), Some("::ffff:203.0.113.5"), &p),
            ip("203.0.113.5")
        );
        let p = proxies(&["::ffff:10.0.0.0/104"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("203.0.113.5"), &p),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn rate_limit_proxy_entries_parse() {
        assert!(parse_proxy("10.0.0.1").is_some());
        assert!(parse_proxy(" 10.0.0.0/8 ").is_some());
        assert!(parse_proxy("0.0.0.0/0").is_some_and(|n| n.contains("1.2.3.4".parse().unwrap())));
        assert!(parse_proxy("::/0").is_some_and(|n| n.contains("::1".parse().unwrap())));
        assert!(parse_proxy("fd00::/8").is_some());
        assert!(parse_proxy("10.0.0.0/33").is_none());
        assert!(parse_proxy("10.0.0.0/").is_none());
        assert!(parse_proxy("10.0.0.0/+8").is_none());
        assert!(parse_proxy("localhost").is_none());
        assert!(parse_proxy("").is_none());
        let net = parse_proxy("192.168.0.0/16").unwrap();
        assert!(net.contains("192.168.200.1".parse().unwrap()));
        assert!(!net.contains("192.169.0.1".parse().unwrap()));
        assert!(!net.contains("::ffff:192.168.0.1".parse().unwrap()));
    }
}
