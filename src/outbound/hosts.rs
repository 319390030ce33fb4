//! Which push services the server posts to (`PUSH_ENDPOINT_HOSTS`), so that a subscription can
//! never make it post to an address a client chose freely: the endpoint's host must be on the
//! list, an IP-address host only if listed itself, and a listed name that resolves to a private,
//! loopback or link-local address is refused at delivery unless that name is listed exactly.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

/// The browser vendors' push services.
pub const DEFAULT_PUSH_HOSTS: &str =
    "fcm.googleapis.com,*.push.services.mozilla.com,*.push.apple.com,*.notify.windows.com";

/// Longest endpoint accepted.
pub const MAX_ENDPOINT_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Exact(String),
    /// `*.example.com`: any name ending in `.example.com`.
    Suffix(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushHosts(Vec<Entry>);

/// How a host is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Named on the list itself (a name or an address): every address it resolves to is fine.
    Exactly,
    /// Under a `*.` entry: only public addresses.
    BySuffix,
}

impl PushHosts {
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for raw in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let e = raw.to_ascii_lowercase();
            let bare = e.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = bare.parse::<IpAddr>() {
                entries.push(Entry::Ip(ip));
            } else if let Some(rest) = e.strip_prefix("*.") {
                if rest.is_empty() || rest.contains('*') {
                    return Err(format!("PUSH_ENDPOINT_HOSTS: bad entry {raw}"));
                }
                entries.push(Entry::Suffix(format!(".{rest}")));
            } else if e.contains('*') || e.contains('/') || e.contains(':') {
                return Err(format!(
                    "PUSH_ENDPOINT_HOSTS: bad entry {raw} (a host name, *.suffix or an IP address)"
                ));
            } else {
                entries.push(Entry::Exact(e));
            }
        }
        Ok(Self(entries))
    }

    pub fn allows(&self, host: &Host<&str>) -> Option<Allowed> {
        match host {
            Host::Domain(d) => {
                let d = d.to_ascii_lowercase();
                let d = d.trim_end_matches('.');
                self.0.iter().find_map(|e| match e {
                    Entry::Exact(x) if x == d => Some(Allowed::Exactly),
                    Entry::Suffix(s) if d.ends_with(s.as_str()) => Some(Allowed::BySuffix),
                    _ => None,
                })
            }
            Host::Ipv4(ip) => self.has_ip(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => self.has_ip(IpAddr::V6(*ip)),
        }
    }

    fn has_ip(&self, ip: IpAddr) -> Option<Allowed> {
        self.0.contains(&Entry::Ip(ip)).then_some(Allowed::Exactly)
    }

    /// A subscription's endpoint, checked: an absolute `https` URL on an allowed host.
    pub fn check_endpoint(&self, endpoint: &str) -> Result<Url, String> {
        if endpoint.len() > MAX_ENDPOINT_LEN {
            return Err(format!(
                "endpoint must be at most {MAX_ENDPOINT_LEN} characters"
            ));
        }
        let url = Url::parse(endpoint)
            .map_err(|_| "endpoint must be an absolute https URL of a push service".to_owned())?;
        if url.scheme() != "https" {
            return Err("endpoint must be an https URL of a push service".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("endpoint must not carry a user name or password".into());
        }
        let host = url
            .host()
            .ok_or_else(|| "endpoint must name a host".to_owned())?;
        if self.allows(&host).is_none() {
            return Err(format!(
                "endpoint host {host} is not an allowed push service (PUSH_ENDPOINT_HOSTS)"
            ));
        }
        Ok(url)
    }

    /// The resolver of the push client: names under a `*.` entry resolve to public addresses
    /// only.
    pub fn resolver(self: &Arc<Self>) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver {
            hosts: self.clone(),
        })
    }
}

/// Not for a push service chosen by a client: loopback, private, link-local, unspecified,
/// multicast and the like.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 100.64.0.0/10, carrier-grade NAT.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

pub struct GuardedResolver {
    hosts: Arc<PushHosts>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let hosts = self.hosts.clone();
        Box::pin(async move {
            let allowed = hosts.allows(&Host::Domain(host.as_str()));
            let Some(allowed) = allowed else {
                return Err(format!("{host} is not an allowed push service").into());
            };
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allowed == Allowed::Exactly || !is_internal(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> PushHosts {
        PushHosts::parse(DEFAULT_PUSH_HOSTS).unwrap()
    }

    #[test]
    fn vendors_are_allowed_by_default() {
        let h = hosts();
        assert!(
            h.check_endpoint("https://fcm.googleapis.com/fcm/send/abc")
                .is_ok()
        );
        assert!(
            h.check_endpoint("https://updates.push.services.mozilla.com/wpush/v2/x")
                .is_ok()
        );
        assert!(h.check_endpoint("https://web.push.apple.com/Q").is_ok());
        assert!(
            h.check_endpoint("https://wns2-par02p.notify.windows.com/w/?token=1")
                .is_ok()
        );
    }

    #[test]
    fn anything_else_is_refused() {
        let h = hosts();
        for bad in [
            "http://fcm.googleapis.com/fcm/send/abc",
            "https://evil.example.com/x",
            "https://push.apple.com.evil.example/x",
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://10.0.0.1/x",
            "https://user:pw@fcm.googleapis.com/x",
            "fcm.googleapis.com/x",
            "",
        ] {
            assert!(h.check_endpoint(bad).is_err(), "{bad} was accepted");
        }
        let long = format!("https://fcm.googleapis.com/{}", "a".repeat(1100));
        assert!(h.check_endpoint(&long).is_err());
    }

    #[test]
    fn listed_addresses_and_names_are_allowed() {
        let h = PushHosts::parse("127.0.0.1, localhost, [::1]").unwrap();
        assert!(h.check_endpoint("https://127.0.0.1:8443/push/1").is_ok());
        assert!(h.check_endpoint("https://[::1]:8443/push/1").is_ok());
        assert!(h.check_endpoint("https://localhost:1/p").is_ok());
        assert!(h.check_endpoint("https://127.0.0.2/p").is_err());
        assert_eq!(h.allows(&Host::Domain("localhost")), Some(Allowed::Exactly));
        assert!(PushHosts::parse("https://x").is_err());
        assert!(PushHosts::parse("*.").is_err());
    }

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["142.250.1.1", "2a00:1450::1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
