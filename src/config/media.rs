//! Settings of browser media: the ICE servers peers are given, TURN credentials minted per
//! peer, and the largest room the browser mesh serves.
use std::time::Duration;

use super::{ConfigError, SecretString, Settings, invalid, parse_duration, parse_number};

#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// STUN/TURN URLs handed to peers, in the order given. Empty (the default): host
    /// candidates only, no traffic to any STUN or TURN server.
    pub ice_servers: Vec<String>,
    /// coturn's `static-auth-secret`: with it each peer gets a username and credential for
    /// the `turn:`/`turns:` URLs (coturn's "TURN REST API").
    pub turn_secret: Option<SecretString>,
    /// How long minted TURN credentials stay valid.
    pub turn_ttl: Duration,
    /// Rooms with more present peers than this need an SFU; the mesh serves up to this many.
    pub mesh_max_peers: u32,
}

pub const DEFAULT_TURN_TTL: Duration = Duration::from_secs(86_400);
pub const DEFAULT_MESH_MAX_PEERS: u32 = 6;

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            turn_secret: None,
            turn_ttl: DEFAULT_TURN_TTL,
            mesh_max_peers: DEFAULT_MESH_MAX_PEERS,
        }
    }
}

/// Whether a URL names a TURN server (which needs credentials) rather than a STUN server.
pub fn is_turn_url(url: &str) -> bool {
    url.starts_with("turn:") || url.starts_with("turns:")
}

impl MediaConfig {
    pub fn from_settings(s: &Settings) -> Result<Self, ConfigError> {
        const SERVERS: &str = "MEETPLANE_ICE_SERVERS (--ice-servers)";
        let ice_servers = parse_ice_servers(SERVERS, s.ice_servers.as_deref().unwrap_or(""))?;
        let turn_secret = match s.turn_secret.as_deref() {
            None => None,
            Some(v) if v.len() < 16 => {
                return Err(invalid(
                    "MEETPLANE_TURN_SECRET",
                    "must be at least 16 characters",
                ));
            }
            Some(v) => Some(SecretString::new(v)),
        };
        let has_turn = ice_servers.iter().any(|u| is_turn_url(u));
        if has_turn && turn_secret.is_none() {
            return Err(invalid(
                SERVERS,
                "a turn: or turns: URL needs MEETPLANE_TURN_SECRET (browsers refuse TURN \
                 servers without credentials)",
            ));
        }
        if turn_secret.is_some() && !has_turn {
            return Err(invalid(
                "MEETPLANE_TURN_SECRET",
                "set, but MEETPLANE_ICE_SERVERS names no turn: or turns: URL to use it with",
            ));
        }
        Ok(Self {
            ice_servers,
            turn_secret,
            turn_ttl: parse_duration(
                "MEETPLANE_TURN_TTL (--turn-ttl)",
                s.turn_ttl.as_deref(),
                DEFAULT_TURN_TTL,
                Duration::from_secs(60)..=Duration::from_secs(30 * 86_400),
            )?,
            mesh_max_peers: parse_number(
                "MEETPLANE_MESH_MAX_PEERS (--mesh-max-peers)",
                s.mesh_max_peers.as_deref(),
                DEFAULT_MESH_MAX_PEERS,
                2..=64,
            )?,
        })
    }
}

/// Comma-separated `stun:`, `stuns:`, `turn:` and `turns:` URLs (RFC 7064, RFC 7065).
fn parse_ice_servers(name: &str, v: &str) -> Result<Vec<String>, ConfigError> {
    let mut urls = Vec::new();
    for url in v.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        let (scheme, rest) = url.split_once(':').unwrap_or(("", ""));
        let host = rest.split(['?', ':']).next().unwrap_or("");
        let known = matches!(scheme, "stun" | "stuns" | "turn" | "turns");
        if !known || host.is_empty() || rest.starts_with('/') || url.contains(char::is_whitespace) {
            return Err(invalid(
                name,
                format!(
                    "{url:?} is not a STUN or TURN URL like stun:stun.example.org:3478 or \
                     turn:turn.example.org:3478?transport=udp"
                ),
            ));
        }
        urls.push(url.to_string());
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(s: Settings) -> Result<MediaConfig, ConfigError> {
        MediaConfig::from_settings(&s)
    }

    #[test]
    fn defaults_name_no_servers_at_all() {
        let c = load(Settings::default()).unwrap();
        assert!(c.ice_servers.is_empty());
        assert!(c.turn_secret.is_none());
        assert_eq!(c.turn_ttl, Duration::from_secs(86_400));
        assert_eq!(c.mesh_max_peers, 6);
    }

    #[test]
    fn urls_are_checked_and_turn_goes_with_its_secret() {
        let c = load(Settings {
            ice_servers: Some(" stun:a.example:3478, turn:b.example?transport=tcp ,".into()),
            turn_secret: Some("a-long-enough-secret".into()),
            turn_ttl: Some("1h".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            c.ice_servers,
            ["stun:a.example:3478", "turn:b.example?transport=tcp"]
        );
        assert_eq!(c.turn_ttl, Duration::from_secs(3600));
        assert!(!format!("{c:?}").contains("a-long-enough-secret"));
        for bad in ["http://a.example", "stun:", "turn://a.example", "a.example"] {
            let err = load(Settings {
                ice_servers: Some(bad.into()),
                ..Default::default()
            })
            .unwrap_err();
            assert!(err.to_string().contains("MEETPLANE_ICE_SERVERS"), "{err}");
        }
        let err = load(Settings {
            ice_servers: Some("turn:b.example".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("MEETPLANE_TURN_SECRET"), "{err}");
        let err = load(Settings {
            ice_servers: Some("stun:a.example".into()),
            turn_secret: Some("a-long-enough-secret".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("no turn:"), "{err}");
        let err = load(Settings {
            ice_servers: Some("turn:b.example".into()),
            turn_secret: Some("short-Secret".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(!err.to_string().contains("short-Secret"), "{err}");
        let err = load(Settings {
            mesh_max_peers: Some("1".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("MEETPLANE_MESH_MAX_PEERS"),
            "{err}"
        );
    }
}
