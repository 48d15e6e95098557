//! Which URLs webhooks may be sent to, checked when an endpoint is saved and again on every
//! delivery (a DNS name can change its answer after the check: DNS rebinding).
//!
//! Live endpoints must be `https` and must resolve only to public addresses. Test endpoints
//! may also use `http`, and loopback addresses when the operator allows it (the default), so
//! that a developer can receive events on `http://127.0.0.1:…`. Private, link-local (cloud
//! metadata services live there), multicast and unspecified addresses are never allowed.
//!
//! At delivery the HTTP client resolves names through [`GuardedResolver`], which refuses the
//! whole name if any address it resolves to is not allowed; the client then connects to the
//! addresses that were checked, never to a second lookup's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Longest URL accepted, in bytes.
pub const URL_BYTES_MAX: usize = 2_048;

/// What a URL may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Whether plain `http` is allowed (test mode).
    pub allow_http: bool,
    /// Whether loopback addresses and `localhost` are allowed (test mode, by configuration).
    pub allow_loopback: bool,
}

impl UrlPolicy {
    /// The policy for an endpoint of this mode.
    pub fn for_mode(livemode: bool, allow_loopback_in_test_mode: bool) -> UrlPolicy {
        UrlPolicy {
            allow_http: !livemode,
            allow_loopback: !livemode && allow_loopback_in_test_mode,
        }
    }
}

/// Why a URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL, or too long.
    #[error("not a valid absolute URL of at most {URL_BYTES_MAX} bytes")]
    Malformed,
    /// Not http(s), or http where https is required.
    #[error("live endpoints must use https (test endpoints may use http)")]
    Scheme,
    /// User name or password in the URL.
    #[error("URLs with a user name or password are not accepted")]
    Credentials,
    /// Resolves to an address that is not allowed.
    #[error("{0} resolves to a private, loopback or link-local address")]
    Blocked(String),
    /// The name does not resolve.
    #[error("{0} does not resolve")]
    Unresolvable(String),
}

impl UrlPolicy {
    /// Parses and checks the URL's form, and any IP address written in it. Names are checked
    /// by [`UrlPolicy::check_resolved`] or, at delivery, by [`GuardedResolver`].
    pub fn parse(&self, raw: &str) -> Result<Url, UrlError> {
        if raw.len() > URL_BYTES_MAX {
            return Err(UrlError::Malformed);
        }
        let url = Url::parse(raw).map_err(|_| UrlError::Malformed)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            _ => return Err(UrlError::Scheme),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Credentials);
        }
        match url.host() {
            None => return Err(UrlError::Malformed),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip), raw)?,
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip), raw)?,
            Some(url::Host::Domain(name)) => {
                if is_localhost(name) && !self.allow_loopback {
                    return Err(UrlError::Blocked(name.to_string()));
                }
            }
        }
        Ok(url)
    }

    /// Parses the URL and resolves its host now, refusing it if any address is not allowed.
    pub async fn check_resolved(&self, raw: &str) -> Result<Url, UrlError> {
        let url = self.parse(raw)?;
        if let Some(url::Host::Domain(name)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(443);
            let addrs = tokio::net::lookup_host((name, port))
                .await
                .map_err(|_| UrlError::Unresolvable(name.to_string()))?;
            let mut any = false;
            for addr in addrs {
                self.check_ip(addr.ip(), name)?;
                any = true;
            }
            if !any {
                return Err(UrlError::Unresolvable(name.to_string()));
            }
        }
        Ok(url)
    }

    fn check_ip(&self, ip: IpAddr, shown: &str) -> Result<(), UrlError> {
        if is_public(ip) || (self.allow_loopback && ip.to_canonical().is_loopback()) {
            Ok(())
        } else {
            Err(UrlError::Blocked(shown.chars().take(200).collect()))
        }
    }
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether an address is globally reachable: not private, loopback, link-local, shared
/// (CGNAT), documentation, benchmarking, multicast, broadcast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, RFC 6890
        || (a == 198 && (18..20).contains(&b)) // benchmarking, RFC 2544
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 could reach private v4
}

/// A DNS resolver for the delivery client that refuses names resolving to addresses the
/// policy does not allow. The client connects only to the addresses returned here.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// The policy applied.
    pub policy: UrlPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_string();
            if is_localhost(&host) && !policy.allow_loopback {
                return Err(Box::new(UrlError::Blocked(host)) as _);
            }
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(Box::new(UrlError::Unresolvable(host)) as _);
            }
            for addr in &addrs {
                policy.check_ip(addr.ip(), &host).map_err(Box::new)?;
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LIVE: UrlPolicy = UrlPolicy {
        allow_http: false,
        allow_loopback: false,
    };
    const TEST: UrlPolicy = UrlPolicy {
        allow_http: true,
        allow_loopback: true,
    };

    #[test]
    fn live_endpoints_need_https_and_a_public_address() {
        assert!(LIVE.parse("https://hooks.example.com/cajero").is_ok());
        assert!(LIVE.parse("https://93.184.216.34/x").is_ok());
        let refused = [
            ("http://hooks.example.com/", UrlError::Scheme),
            ("ftp://hooks.example.com/", UrlError::Scheme),
            ("https://user:pw@hooks.example.com/", UrlError::Credentials),
            ("not a url", UrlError::Malformed),
        ];
        for (url, error) in refused {
            assert_eq!(LIVE.parse(url).unwrap_err(), error, "{url}");
        }
        for url in [
            "https://127.0.0.1/",
            "https://localhost:8443/",
            "https://api.localhost/",
            "https://10.0.0.8/",
            "https://172.16.4.4/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:10.0.0.1]/",
        ] {
            assert!(
                matches!(LIVE.parse(url), Err(UrlError::Blocked(_))),
                "{url}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(URL_BYTES_MAX));
        assert_eq!(LIVE.parse(&long).unwrap_err(), UrlError::Malformed);
    }

    #[test]
    fn test_endpoints_may_use_http_on_loopback_but_never_private_networks() {
        assert!(TEST.parse("http://127.0.0.1:4000/hooks").is_ok());
        assert!(TEST.parse("http://localhost:4000/hooks").is_ok());
        assert!(TEST.parse("http://[::1]:4000/hooks").is_ok());
        for url in [
            "http://10.1.2.3/",
            "http://169.254.169.254/",
            "http://[fe80::1]/",
        ] {
            assert!(
                matches!(TEST.parse(url), Err(UrlError::Blocked(_))),
                "{url}"
            );
        }
        let strict = UrlPolicy::for_mode(false, false);
        assert!(matches!(
            strict.parse("http://127.0.0.1:4000/"),
            Err(UrlError::Blocked(_))
        ));
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        // `localhost.` with a trailing dot bypasses the name check but not the address check.
        let err = LIVE
            .check_resolved("https://localhost./")
            .await
            .unwrap_err();
        assert!(matches!(err, UrlError::Blocked(_)), "{err:?}");
        let resolver = GuardedResolver { policy: LIVE };
        let name: Name = "localhost".parse().unwrap();
        assert!(resolver.resolve(name).await.is_err());
        let allowed = GuardedResolver { policy: TEST };
        let name: Name = "localhost".parse().unwrap();
        let addrs: Vec<SocketAddr> = allowed.resolve(name).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
