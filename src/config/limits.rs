//! Request limits, the source address behind a proxy, and who may read `/metrics`.
use std::time::Duration;

use super::{
    ConfigError, SecretString, Settings, invalid, parse_bool, parse_duration, parse_number,
};

#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Requests per minute one API client or dashboard user may make; `None`: unlimited.
    pub per_client_per_minute: Option<u32>,
    /// Requests per minute from one source address; `None`: unlimited.
    pub per_address_per_minute: Option<u32>,
    /// Take the source address from the last `X-Forwarded-For` entry (the one the proxy in
    /// front of meetplane added) rather than the TCP peer.
    pub trust_forwarded_for: bool,
    /// Bearer token `/metrics` requires; `None`: `/metrics` is open.
    pub metrics_token: Option<SecretString>,
    /// How long a connection may take to send a request's headers (and, between requests,
    /// to start the next one) before it is closed, so idle or trickling connections cannot
    /// pile up.
    pub header_read_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_client_per_minute: Some(DEFAULT_PER_CLIENT),
            per_address_per_minute: Some(DEFAULT_PER_ADDRESS),
            trust_forwarded_for: false,
            metrics_token: None,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        }
    }
}

pub const DEFAULT_PER_CLIENT: u32 = 1200;
pub const DEFAULT_PER_ADDRESS: u32 = 3000;
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

impl LimitsConfig {
    pub fn from_settings(s: &Settings) -> Result<Self, ConfigError> {
        let per_minute = |name: &str, v: Option<&str>, default: u32| {
            parse_number(name, v, default, 0..=1_000_000).map(|n| (n > 0).then_some(n))
        };
        let metrics_token = match s.metrics_token.as_deref() {
            None => None,
            Some(v) if v.trim().len() < 16 => {
                return Err(invalid(
                    "MEETPLANE_METRICS_TOKEN",
                    "must be at least 16 characters",
                ));
            }
            Some(v) => Some(SecretString::new(v.trim())),
        };
        Ok(Self {
            per_client_per_minute: per_minute(
                "MEETPLANE_RATE_LIMIT_CLIENT (--rate-limit-client)",
                s.rate_limit_client.as_deref(),
                DEFAULT_PER_CLIENT,
            )?,
            per_address_per_minute: per_minute(
                "MEETPLANE_RATE_LIMIT_ADDRESS (--rate-limit-address)",
                s.rate_limit_address.as_deref(),
                DEFAULT_PER_ADDRESS,
            )?,
            trust_forwarded_for: parse_bool(
                "MEETPLANE_TRUST_FORWARDED_FOR (--trust-forwarded-for)",
                s.trust_forwarded_for.as_deref(),
            )?,
            metrics_token,
            header_read_timeout: parse_duration(
                "MEETPLANE_HEADER_READ_TIMEOUT (--header-read-timeout)",
                s.header_read_timeout.as_deref(),
                DEFAULT_HEADER_READ_TIMEOUT,
                Duration::from_millis(100)..=Duration::from_secs(600),
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_turns_a_limit_off_and_tokens_are_hidden() {
        let s = Settings {
            rate_limit_client: Some("0".into()),
            metrics_token: Some("scrape-me-please-0123".into()),
            ..Default::default()
        };
        let c = LimitsConfig::from_settings(&s).unwrap();
        assert_eq!(c.per_client_per_minute, None);
        assert_eq!(c.per_address_per_minute, Some(DEFAULT_PER_ADDRESS));
        assert!(!format!("{c:?}").contains("scrape-me"));
        let s = Settings {
            rate_limit_address: Some("lots".into()),
            ..Default::default()
        };
        let err = LimitsConfig::from_settings(&s).unwrap_err();
        assert!(err.to_string().contains("MEETPLANE_RATE_LIMIT_ADDRESS"));
    }
}
