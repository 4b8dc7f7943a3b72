//! Outbound HTTP (webhook deliveries, validation handshakes, later callbacks), guarded
//! against server-side request forgery: by default no request may reach a loopback, private,
//! link-local, shared, multicast or metadata address. The check runs when a URL is
//! registered and again at every connection (through the resolver, so a DNS answer that
//! changes after registration cannot redirect a delivery inward). Redirects are not followed.
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TargetError {
    #[error("{0}")]
    InvalidUrl(String),
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    Unresolvable(String),
}

/// Addresses no outbound request may reach unless private targets are allowed.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            let embedded = embedded_v4(v6);
            if !embedded.is_empty() {
                return embedded.into_iter().any(forbidden_v4);
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local (incl. fd00:ec2::254 metadata)
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        }
    }
}

/// The IPv4 addresses an IPv6 address stands for, when it embeds any: such an address
/// reaches (or is routed towards) that IPv4 host, so it is judged by it.
fn embedded_v4(v6: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = v6.segments();
    let v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match s {
        // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d (deprecated, but some
        // stacks still route it to the IPv4 host; `::` and `::1` land on 0.0.0.x).
        [0, 0, 0, 0, 0, 0 | 0xffff, hi, lo] => vec![v4(hi, lo)],
        // IPv4-translated ::ffff:0:a.b.c.d (SIIT).
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => vec![v4(hi, lo)],
        // NAT64: the well-known 64:ff9b::/96 and the local-use 64:ff9b:1::/48.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => vec![v4(hi, lo)],
        [0x64, 0xff9b, 1, ..] => vec![v4(s[6], s[7])],
        // 6to4 2002:a.b.c.d::/48.
        [0x2002, hi, lo, ..] => vec![v4(hi, lo)],
        // Teredo 2001:0::/32: the server's address, and the client's with its bits inverted.
        [0x2001, 0, server_hi, server_lo, _, _, hi, lo] => {
            vec![v4(server_hi, server_lo), v4(!hi, !lo)]
        }
        _ => Vec::new(),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, with the cloud metadata address
        || ip.is_broadcast()
        || ip.is_multicast()
        || a >= 240 // reserved
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
}

/// Parse and vet a target URL: http(s) with a host, no credentials, and (unless private
/// targets are allowed) resolving only to public addresses.
pub async fn check_target(raw: &str, allow_private: bool) -> Result<Url, TargetError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| TargetError::InvalidUrl(format!("not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::InvalidUrl(
            "must be an http or https URL".into(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::InvalidUrl(
            "must not contain credentials".into(),
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| TargetError::InvalidUrl("must have a host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if allow_private {
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| TargetError::Unresolvable(format!("cannot resolve {host}: {e}")))?
            .collect(),
    };
    if let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
        return Err(TargetError::NotAllowed(format!(
            "{host} resolves to {}, a private, loopback, link-local or otherwise internal \
             address (set MEETPLANE_ALLOW_PRIVATE_TARGETS=true to allow internal receivers)",
            bad.ip()
        )));
    }
    Ok(url)
}

/// A resolver that drops internal addresses, so connections are checked at connect time.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                all.into_iter().filter(|a| !is_forbidden(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to internal addresses").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The shared outbound client.
#[derive(Debug, Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
}

impl Outbound {
    pub fn new(allow_private: bool, timeout: Duration) -> Self {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(64)
            .user_agent(concat!("meetplane/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        Self {
            client: builder.build().expect("the outbound HTTP client builds"),
            allow_private,
        }
    }

    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    /// Vet a URL again right before use (IP literals bypass the resolver).
    pub fn vet(&self, url: &Url) -> Result<(), TargetError> {
        if self.allow_private {
            return Ok(());
        }
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        match host.parse::<IpAddr>() {
            Ok(ip) if is_forbidden(ip) => Err(TargetError::NotAllowed(format!(
                "{ip} is an internal address"
            ))),
            _ => Ok(()),
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// At most the first `limit` bytes of an answer's body, and whether the body ended within
/// them. Reads chunk by chunk, so an answer that sends no Content-Length (or a false one) is
/// never held in memory beyond `limit` and a chunk.
pub async fn body_up_to(
    resp: &mut reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            body.truncate(limit);
            return Ok((body, false));
        }
    }
    Ok((body, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a9fe:a9fe",
            // IPv4-compatible, IPv4-translated, 6to4 and Teredo forms of internal addresses.
            "::127.0.0.1",
            "::10.0.0.1",
            "::ffff:0:127.0.0.1",
            "::ffff:0:169.254.169.254",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:101:1::1",
            // Teredo: client 127.0.0.1 (inverted: 80ff:fffe), server public.
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            // Teredo: server 10.0.0.1, client 8.8.8.8.
            "2001:0:a00:1:0:0:f7f7:f7f7",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "::8.8.8.8",
            "::ffff:0:8.8.8.8",
            "2002:808:808::1",
            // Teredo: server 65.54.227.120, client 8.8.8.8.
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
        ] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn urls_are_vetted() {
        for url in [
            "http://127.0.0.1/hook",
            "http://169.254.169.254/",
            "http://10.0.0.1",
            "http://[::1]:8080/x",
            "http://localhost:9/x",
        ] {
            assert!(
                matches!(
                    check_target(url, false).await,
                    Err(TargetError::NotAllowed(_))
                ),
                "{url}"
            );
        }
        assert!(check_target("http://127.0.0.1/hook", true).await.is_ok());
        for url in [
            "ftp://example.org",
            "not a url",
            "http://user:pw@example.org/",
        ] {
            assert!(
                matches!(
                    check_target(url, false).await,
                    Err(TargetError::InvalidUrl(_))
                ),
                "{url}"
            );
        }
    }
}
