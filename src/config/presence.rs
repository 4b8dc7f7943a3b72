//! How long a peer's seat is held without a live connection.
use std::time::Duration;

use super::{ConfigError, Settings, parse_duration};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceConfig {
    /// An admitted peer that never connects leaves after this long; zero turns presence
    /// tracking off (peers stay until they leave or are kicked).
    pub connect_window: Duration,
    /// A peer whose last connection dropped leaves after this long unless it reconnects.
    pub reconnect_grace: Duration,
}

impl PresenceConfig {
    pub fn from_settings(s: &Settings) -> Result<Self, ConfigError> {
        Ok(Self {
            connect_window: parse_duration(
                "MEETPLANE_PEER_CONNECT_WINDOW (--peer-connect-window)",
                s.peer_connect_window.as_deref(),
                Duration::from_secs(60),
                Duration::ZERO..=Duration::from_secs(86400),
            )?,
            reconnect_grace: parse_duration(
                "MEETPLANE_PEER_RECONNECT_GRACE (--peer-reconnect-grace)",
                s.peer_reconnect_grace.as_deref(),
                Duration::from_secs(20),
                Duration::from_secs(1)..=Duration::from_secs(86400),
            )?,
        })
    }

    /// Whether seats lapse without a connection.
    pub fn tracked(&self) -> bool {
        !self.connect_window.is_zero()
    }
}
