//! Settings of the chat-bridge API and the XMPP bridge.
use std::{fmt, time::Duration};

use xmpp_parsers::jid::BareJid;

use super::{ConfigError, Settings, invalid, parse_duration};

/// A secret setting: kept for use, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// The chat-bridge API's shared secret for callers that are not API clients.
    pub shared_secret: Option<SecretString>,
    /// Org (id or name) owning chats started under the shared secret.
    pub org: Option<String>,
    /// Accepted distance between a checksum's time and now.
    pub time_delta: Duration,
    /// The XMPP bridge, when configured.
    pub xmpp: Option<XmppConfig>,
    /// How long a widget's site users (names, avatars) are cached.
    pub users_info_ttl: Duration,
    /// Timeout of one users-info request.
    pub users_info_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct XmppConfig {
    pub jid: BareJid,
    pub password: SecretString,
    /// `host:port` for a plaintext connection; `None`: DNS SRV of the JID's domain + STARTTLS.
    pub server: Option<String>,
    pub nick: String,
}

impl ChatConfig {
    pub fn from_settings(s: &Settings) -> Result<Self, ConfigError> {
        let shared_secret = match s.chat_shared_secret.as_deref() {
            None => None,
            Some(v) if v.len() < 8 => {
                return Err(invalid(
                    "MEETPLANE_CHAT_SHARED_SECRET",
                    "must be at least 8 characters",
                ));
            }
            Some(v) => Some(SecretString(v.to_string())),
        };
        let time_delta = parse_duration(
            "MEETPLANE_CHAT_TIME_DELTA (--chat-time-delta)",
            s.chat_time_delta.as_deref(),
            Duration::from_secs(5),
            Duration::ZERO..=Duration::from_secs(300),
        )?;
        let xmpp = match (s.xmpp_jid.as_deref(), s.xmpp_password.as_deref()) {
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(invalid(
                    "MEETPLANE_XMPP_JID / MEETPLANE_XMPP_PASSWORD",
                    "give both to enable the XMPP bridge, or neither",
                ));
            }
            (Some(jid), Some(password)) => Some(XmppConfig {
                jid: BareJid::new(jid.trim())
                    .ok()
                    .filter(|j| j.node().is_some())
                    .ok_or_else(|| {
                        invalid(
                            "MEETPLANE_XMPP_JID (--xmpp-jid)",
                            format!("{jid:?} is not an account JID like bridge@example.org"),
                        )
                    })?,
                password: SecretString(password.to_string()),
                server: s
                    .xmpp_server
                    .as_deref()
                    .map(|v| parse_host_port("MEETPLANE_XMPP_SERVER (--xmpp-server)", v))
                    .transpose()?,
                nick: match s.xmpp_nick.as_deref().map(str::trim) {
                    None => "meetplane".to_string(),
                    Some("") => return Err(invalid("MEETPLANE_XMPP_NICK", "is empty")),
                    Some(n) => n.to_string(),
                },
            }),
        };
        if xmpp.is_none() && (s.xmpp_server.is_some() || s.xmpp_nick.is_some()) {
            return Err(invalid(
                "MEETPLANE_XMPP_SERVER / MEETPLANE_XMPP_NICK",
                "set without MEETPLANE_XMPP_JID and MEETPLANE_XMPP_PASSWORD",
            ));
        }
        Ok(ChatConfig {
            shared_secret,
            org: s.chat_org.clone(),
            time_delta,
            xmpp,
            users_info_ttl: parse_duration(
                "MEETPLANE_WIDGET_USERS_TTL (--widget-users-ttl)",
                s.widget_users_ttl.as_deref(),
                Duration::from_secs(300),
                Duration::ZERO..=Duration::from_secs(7 * 86_400),
            )?,
            users_info_timeout: parse_duration(
                "MEETPLANE_WIDGET_USERS_TIMEOUT (--widget-users-timeout)",
                s.widget_users_timeout.as_deref(),
                Duration::from_secs(5),
                Duration::from_millis(100)..=Duration::from_secs(60),
            )?,
        })
    }
}

fn parse_host_port(name: &str, v: &str) -> Result<String, ConfigError> {
    let v = v.trim();
    match v.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
            Ok(v.to_string())
        }
        _ => Err(invalid(
            name,
            format!("{v:?} is not host:port like 127.0.0.1:5222"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmpp_needs_jid_and_password_and_hides_them() {
        let mut s = Settings {
            xmpp_jid: Some("bridge@localhost".into()),
            ..Default::default()
        };
        assert!(ChatConfig::from_settings(&s).is_err());
        s.xmpp_password = Some("pa55word".into());
        s.xmpp_server = Some("127.0.0.1:5222".into());
        let c = ChatConfig::from_settings(&s).unwrap();
        let x = c.xmpp.as_ref().unwrap();
        assert_eq!(
            (x.jid.to_string(), x.nick.as_str()),
            ("bridge@localhost".into(), "meetplane")
        );
        assert!(!format!("{c:?}").contains("pa55word"));
        s.xmpp_jid = Some("not a jid@@".into());
        assert!(ChatConfig::from_settings(&s).is_err());
        s.xmpp_jid = Some("bridge@localhost".into());
        s.xmpp_server = Some("localhost".into());
        assert!(ChatConfig::from_settings(&s).is_err());
    }

    #[test]
    fn shared_secret_and_delta() {
        let s = Settings {
            chat_shared_secret: Some("change_me".into()),
            chat_time_delta: Some("0".into()),
            ..Default::default()
        };
        let c = ChatConfig::from_settings(&s).unwrap();
        assert_eq!(c.time_delta, Duration::ZERO);
        assert!(!format!("{c:?}").contains("change_me"));
        let s = Settings {
            chat_time_delta: Some("1h".into()),
            ..Default::default()
        };
        assert!(ChatConfig::from_settings(&s).is_err());
    }
}
