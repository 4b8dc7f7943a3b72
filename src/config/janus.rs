//! Settings of the Janus SFU meetplane drives: where its WebSocket and Admin APIs are, and the
//! secrets only meetplane knows. Janus is on when `MEETPLANE_JANUS_WS_URL` is set; the rest is
//! then required. Unset, media stays browser to browser (mesh).
use url::Url;

use super::{ConfigError, SecretString, Settings, invalid};

#[derive(Debug, Clone)]
pub struct JanusConfig {
    /// Janus's WebSocket API (`ws://127.0.0.1:8188`), which browsers reach through meetplane.
    pub ws_url: Url,
    /// Janus's Admin API over HTTP (`http://127.0.0.1:7088/admin`).
    pub admin_url: Url,
    /// `api_secret`: every Janus API request carries it.
    pub api_secret: SecretString,
    /// `admin_secret`: every Admin API request carries it.
    pub admin_secret: SecretString,
    /// The VideoRoom plugin's `admin_key`: needed to create rooms.
    pub admin_key: SecretString,
    /// The password Janus's event handler posts events with (Basic `janus:<secret>`).
    pub events_secret: SecretString,
}

const WS: &str = "MEETPLANE_JANUS_WS_URL (--janus-ws-url)";
const ADMIN: &str = "MEETPLANE_JANUS_ADMIN_URL (--janus-admin-url)";

impl JanusConfig {
    /// `None` without `MEETPLANE_JANUS_WS_URL`; an error when it is set but another setting
    /// is missing or malformed, or when a Janus setting is given without it.
    pub fn from_settings(s: &Settings) -> Result<Option<Self>, ConfigError> {
        let secrets = [
            ("MEETPLANE_JANUS_API_SECRET", &s.janus_api_secret),
            ("MEETPLANE_JANUS_ADMIN_SECRET", &s.janus_admin_secret),
            ("MEETPLANE_JANUS_ADMIN_KEY", &s.janus_admin_key),
            ("MEETPLANE_JANUS_EVENTS_SECRET", &s.janus_events_secret),
        ];
        let Some(ws) = s.janus_ws_url.as_deref() else {
            let given = secrets
                .iter()
                .find(|(_, v)| v.is_some())
                .map(|(n, _)| *n)
                .or(s.janus_admin_url.as_ref().map(|_| ADMIN));
            return match given {
                Some(name) => Err(invalid(
                    name,
                    "set, but MEETPLANE_JANUS_WS_URL is not (Janus is on only with it)",
                )),
                None => Ok(None),
            };
        };
        let ws_url = parse_url(WS, ws, &["ws", "wss"])?;
        let admin = s
            .janus_admin_url
            .as_deref()
            .ok_or_else(|| invalid(ADMIN, "required with MEETPLANE_JANUS_WS_URL"))?;
        let admin_url = parse_url(ADMIN, admin, &["http", "https"])?;
        let mut values = secrets.iter().map(|(name, v)| secret(name, v.as_deref()));
        let mut next = || values.next().expect("four secrets");
        Ok(Some(Self {
            ws_url,
            admin_url,
            api_secret: next()?,
            admin_secret: next()?,
            admin_key: next()?,
            events_secret: next()?,
        }))
    }
}

fn parse_url(name: &str, v: &str, schemes: &[&str]) -> Result<Url, ConfigError> {
    let url = Url::parse(v.trim()).map_err(|e| invalid(name, format!("{v:?}: {e}")))?;
    if !schemes.contains(&url.scheme()) || url.host().is_none() {
        return Err(invalid(
            name,
            format!("{v:?} is not a {} URL", schemes.join("/")),
        ));
    }
    Ok(url)
}

/// A required secret: long enough to resist guessing, and plain enough to be written into
/// Janus's configuration files as a quoted string.
fn secret(name: &str, v: Option<&str>) -> Result<SecretString, ConfigError> {
    let v = v.ok_or_else(|| invalid(name, "required with MEETPLANE_JANUS_WS_URL"))?;
    if v.len() < 16 {
        return Err(invalid(name, "must be at least 16 characters"));
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    {
        return Err(invalid(
            name,
            "must be printable ASCII without quotes, backslashes or spaces",
        ));
    }
    Ok(SecretString::new(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Settings {
        Settings {
            janus_ws_url: Some("ws://127.0.0.1:8188".into()),
            janus_admin_url: Some("http://127.0.0.1:7088/admin".into()),
            janus_api_secret: Some("api-secret-0123456789".into()),
            janus_admin_secret: Some("admin-secret-0123456789".into()),
            janus_admin_key: Some("admin-key-0123456789".into()),
            janus_events_secret: Some("events-secret-0123456789".into()),
            ..Default::default()
        }
    }

    #[test]
    fn off_without_the_websocket_url_and_complete_with_it() {
        assert!(
            JanusConfig::from_settings(&Settings::default())
                .unwrap()
                .is_none()
        );
        let c = JanusConfig::from_settings(&full()).unwrap().unwrap();
        assert_eq!(c.ws_url.as_str(), "ws://127.0.0.1:8188/");
        assert_eq!(c.admin_url.as_str(), "http://127.0.0.1:7088/admin");
        assert_eq!(c.admin_key.expose(), "admin-key-0123456789");
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret-0123"), "{shown}");
    }

    #[test]
    fn mistakes_name_the_setting_and_not_the_value() {
        let err = |s: Settings| JanusConfig::from_settings(&s).unwrap_err().to_string();
        let e = err(Settings {
            janus_admin_key: None,
            ..full()
        });
        assert!(e.contains("MEETPLANE_JANUS_ADMIN_KEY"), "{e}");
        let e = err(Settings {
            janus_ws_url: Some("http://127.0.0.1:8188".into()),
            ..full()
        });
        assert!(e.contains("MEETPLANE_JANUS_WS_URL"), "{e}");
        let e = err(Settings {
            janus_api_secret: Some("short-secret".into()),
            ..full()
        });
        assert!(
            e.contains("API_SECRET") && !e.contains("short-secret"),
            "{e}"
        );
        let e = err(Settings {
            janus_admin_secret: Some("with \"quotes\" inside it".into()),
            ..full()
        });
        assert!(e.contains("ADMIN_SECRET"), "{e}");
        let e = err(Settings {
            janus_ws_url: None,
            ..full()
        });
        assert!(e.contains("is not"), "{e}");
    }
}
