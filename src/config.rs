//! One typed configuration, read from command-line flags and the environment.
//!
//! Every setting has a flag and an environment variable (the flag wins). A malformed value,
//! or an unknown `MEETPLANE_*` variable (usually a typo), stops start-up with a message that
//! names the setting. Secrets (the database password, the master key) are never printed.
use std::{net::SocketAddr, path::PathBuf, time::Duration};

use url::Url;

use crate::auth::seal::MasterKey;

mod chat;
mod database_url;
mod janus;
mod limits;
mod media;
mod presence;
mod settings;
mod values;
pub use chat::{ChatConfig, SecretString, XmppConfig};
pub use database_url::DatabaseUrl;
use database_url::parse_database_url;
pub use janus::JanusConfig;
pub use limits::LimitsConfig;
pub use media::{MediaConfig, is_turn_url};
pub use presence::PresenceConfig;
use settings::KNOWN_ENV;
pub use settings::Settings;
pub(crate) use values::{parse_bool, parse_duration, parse_number};

#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {reason}")]
pub struct ConfigError {
    pub setting: String,
    pub reason: String,
}

pub(crate) fn invalid(setting: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_string(),
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration, passed to everything through the application state.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub listen: SocketAddr,
    pub public_url: Url,
    pub data_dir: PathBuf,
    /// From the environment/flag; `None` means the key file in the data dir is used.
    pub master_key: Option<MasterKey>,
    pub default_domain: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub max_room_capacity: u32,
    pub db_max_connections: u32,
    /// How long a SQLite writer waits for another process's write transaction.
    pub sqlite_busy_timeout: Duration,
    pub max_body_bytes: u64,
    pub allow_private_targets: bool,
    pub webhook_timeout: Duration,
    pub webhook_disable_after: Duration,
    pub delivery_lease: Duration,
    pub delivery_concurrency: usize,
    /// Deliveries one webhook may have in flight at once.
    pub delivery_per_webhook_in_flight: usize,
    /// Run the delivery worker, event listener and scheduler with the server (tests may
    /// drive them by hand instead).
    pub background_workers: bool,
    pub log_sql: bool,
    pub log_format: LogFormat,
    pub chat: ChatConfig,
    pub limits: LimitsConfig,
    pub presence: PresenceConfig,
    pub media: MediaConfig,
    /// The Janus SFU, when configured (`None`: browser mesh only).
    pub janus: Option<JanusConfig>,
}

impl Config {
    /// Validate raw settings, refusing unknown `MEETPLANE_*` variables in `env`. Settings are
    /// checked in the order `--help` lists them, so the first mistake is the one reported.
    pub fn from_settings(
        s: &Settings,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let settings = s.clone().with_secret_files(&env)?;
        let s = &settings;
        refuse_unknown_env(&env)?;
        let listen = listen_address(s)?;
        let public_url = match &s.public_url {
            None => Url::parse(&format!("http://{listen}")).expect("an address forms a URL"),
            Some(v) => parse_public_url(v)?,
        };
        let (data_dir, database_url) = storage(s)?;
        let master_key = s
            .master_key
            .as_deref()
            .map(|v| MasterKey::parse(v).map_err(|reason| invalid("MEETPLANE_MASTER_KEY", reason)))
            .transpose()?;
        let default_domain = match &s.default_domain {
            None => "localhost".to_string(),
            Some(v) => crate::domain::domains::normalise_name(v).map_err(|e| {
                invalid("MEETPLANE_DEFAULT_DOMAIN (--default-domain)", e.to_string())
            })?,
        };
        let (access_token_ttl, refresh_token_ttl) = token_lifetimes(s)?;
        let (max_room_capacity, db_max_connections, max_body_bytes) = sizes(s)?;
        let allow_private_targets = parse_bool(
            "MEETPLANE_ALLOW_PRIVATE_TARGETS (--allow-private-targets)",
            s.allow_private_targets.as_deref(),
        )?;
        let webhooks = Webhooks::from_settings(s)?;
        let log_sql = parse_bool("MEETPLANE_LOG_SQL (--log-sql)", s.log_sql.as_deref())?;
        let sqlite_busy_timeout = parse_duration(
            "MEETPLANE_SQLITE_BUSY_TIMEOUT (--sqlite-busy-timeout)",
            s.sqlite_busy_timeout.as_deref(),
            crate::store::connect::SQLITE_BUSY_TIMEOUT,
            Duration::ZERO..=Duration::from_secs(300),
        )?;
        Ok(Config {
            database_url,
            listen,
            public_url,
            data_dir,
            master_key,
            default_domain,
            access_token_ttl,
            refresh_token_ttl,
            max_room_capacity,
            db_max_connections,
            sqlite_busy_timeout,
            max_body_bytes,
            allow_private_targets,
            webhook_timeout: webhooks.timeout,
            webhook_disable_after: webhooks.disable_after,
            delivery_lease: webhooks.lease,
            delivery_concurrency: webhooks.concurrency,
            delivery_per_webhook_in_flight: webhooks.per_webhook_in_flight,
            background_workers: true,
            log_sql,
            log_format: log_format(s)?,
            chat: ChatConfig::from_settings(s)?,
            limits: LimitsConfig::from_settings(s)?,
            presence: PresenceConfig::from_settings(s)?,
            media: MediaConfig::from_settings(s)?,
            janus: JanusConfig::from_settings(s)?,
        })
    }
}

/// An unknown `MEETPLANE_*` variable is usually a typo, which would otherwise be ignored.
fn refuse_unknown_env(env: &[(String, String)]) -> Result<(), ConfigError> {
    for (name, _) in env {
        if name.starts_with("MEETPLANE_")
            && !name.starts_with("MEETPLANE_TEST_")
            && !name.starts_with("MEETPLANE_BUILD_")
            && !KNOWN_ENV.contains(&name.as_str())
        {
            return Err(invalid(
                name,
                "unknown setting (known: see `meetplane --help`)",
            ));
        }
    }
    Ok(())
}

fn listen_address(s: &Settings) -> Result<SocketAddr, ConfigError> {
    match &s.listen {
        None => Ok(SocketAddr::from(([127, 0, 0, 1], 8080))),
        Some(v) => v.trim().parse().map_err(|_| {
            invalid(
                "MEETPLANE_LISTEN (--listen)",
                format!("{v:?} is not an address like 127.0.0.1:8080"),
            )
        }),
    }
}

/// The data directory, and the database (by default a SQLite file in it).
fn storage(s: &Settings) -> Result<(PathBuf, DatabaseUrl), ConfigError> {
    let data_dir = PathBuf::from(s.data_dir.as_deref().unwrap_or("./data"));
    if data_dir.as_os_str().is_empty() {
        return Err(invalid("MEETPLANE_DATA_DIR (--data-dir)", "is empty"));
    }
    let database_url = match &s.database_url {
        None => DatabaseUrl::new(format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("meetplane.db").display()
        )),
        Some(v) => parse_database_url(v)?,
    };
    Ok((data_dir, database_url))
}

/// Access and refresh token lifetimes; a refresh token outlives its access token.
fn token_lifetimes(s: &Settings) -> Result<(Duration, Duration), ConfigError> {
    let access = parse_duration(
        "MEETPLANE_ACCESS_TOKEN_TTL (--access-token-ttl)",
        s.access_token_ttl.as_deref(),
        Duration::from_secs(3600),
        Duration::from_secs(60)..=Duration::from_secs(24 * 3600),
    )?;
    let refresh = parse_duration(
        "MEETPLANE_REFRESH_TOKEN_TTL (--refresh-token-ttl)",
        s.refresh_token_ttl.as_deref(),
        Duration::from_secs(30 * 24 * 3600),
        access..=Duration::from_secs(365 * 24 * 3600),
    )?;
    Ok((access, refresh))
}

/// Room capacity, database pool size and request body size.
fn sizes(s: &Settings) -> Result<(u32, u32, u64), ConfigError> {
    let max_room_capacity = parse_number(
        "MEETPLANE_MAX_ROOM_CAPACITY (--max-room-capacity)",
        s.max_room_capacity.as_deref(),
        256,
        1..=100_000,
    )?;
    let db_max_connections = parse_number(
        "MEETPLANE_DB_MAX_CONNECTIONS (--db-max-connections)",
        s.db_max_connections.as_deref(),
        10,
        1..=1000,
    )?;
    let max_body_bytes = u64::from(parse_number(
        "MEETPLANE_MAX_BODY_BYTES (--max-body-bytes)",
        s.max_body_bytes.as_deref(),
        1024 * 1024,
        1024..=64 * 1024 * 1024,
    )?);
    Ok((max_room_capacity, db_max_connections, max_body_bytes))
}

/// How webhooks are delivered.
struct Webhooks {
    timeout: Duration,
    disable_after: Duration,
    lease: Duration,
    concurrency: usize,
    per_webhook_in_flight: usize,
}

impl Webhooks {
    fn from_settings(s: &Settings) -> Result<Self, ConfigError> {
        let timeout = parse_duration(
            "MEETPLANE_WEBHOOK_TIMEOUT (--webhook-timeout)",
            s.webhook_timeout.as_deref(),
            Duration::from_secs(10),
            Duration::from_millis(100)..=Duration::from_secs(120),
        )?;
        let disable_after = parse_duration(
            "MEETPLANE_WEBHOOK_DISABLE_AFTER (--webhook-disable-after)",
            s.webhook_disable_after.as_deref(),
            Duration::from_secs(5 * 86400),
            Duration::from_secs(3600)..=Duration::from_secs(365 * 86400),
        )?;
        let lease = parse_duration(
            "MEETPLANE_DELIVERY_LEASE (--delivery-lease)",
            s.delivery_lease.as_deref(),
            Duration::from_secs(60),
            Duration::from_secs(1)..=Duration::from_secs(3600),
        )?;
        if lease <= timeout {
            return Err(invalid(
                "MEETPLANE_DELIVERY_LEASE (--delivery-lease)",
                "must be longer than MEETPLANE_WEBHOOK_TIMEOUT, or a slow delivery would be retried while in flight",
            ));
        }
        let concurrency = parse_number(
            "MEETPLANE_DELIVERY_CONCURRENCY (--delivery-concurrency)",
            s.delivery_concurrency.as_deref(),
            64,
            1..=4096,
        )? as usize;
        let per_webhook_in_flight = parse_number(
            "MEETPLANE_DELIVERY_PER_WEBHOOK_IN_FLIGHT (--delivery-per-webhook-in-flight)",
            s.delivery_per_webhook_in_flight.as_deref(),
            4,
            1..=4096,
        )? as usize;
        Ok(Self {
            timeout,
            disable_after,
            lease,
            concurrency,
            per_webhook_in_flight,
        })
    }
}

fn log_format(s: &Settings) -> Result<LogFormat, ConfigError> {
    match s.log_format.as_deref().map(str::trim) {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(invalid(
            "MEETPLANE_LOG_FORMAT (--log-format)",
            format!("{other:?} is neither \"text\" nor \"json\""),
        )),
    }
}

fn parse_public_url(v: &str) -> Result<Url, ConfigError> {
    const NAME: &str = "MEETPLANE_PUBLIC_URL (--public-url)";
    let url = Url::parse(v.trim()).map_err(|e| invalid(NAME, format!("{v:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(NAME, format!("{v:?} is not an http(s) URL")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(NAME, "must not have a query or fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(s: Settings) -> Result<Config, ConfigError> {
        Config::from_settings(&s, Vec::new())
    }

    #[test]
    fn defaults_are_documented_values() {
        let c = load(Settings::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(
            c.database_url.expose(),
            "sqlite://./data/meetplane.db?mode=rwc"
        );
        assert_eq!(c.default_domain, "localhost");
        assert_eq!(c.access_token_ttl, Duration::from_secs(3600));
    }

    #[test]
    fn malformed_values_name_the_setting() {
        let err = load(Settings {
            listen: Some("nowhere".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("MEETPLANE_LISTEN"), "{err}");
        let err = load(Settings {
            access_token_ttl: Some("soon".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("MEETPLANE_ACCESS_TOKEN_TTL"),
            "{err}"
        );
        let err = load(Settings {
            database_url: Some("mysql://u:hunter2@h/db".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn unknown_meetplane_variables_are_refused() {
        let env = vec![("MEETPLANE_LISTN".to_string(), "x".to_string())];
        let err = Config::from_settings(&Settings::default(), env).unwrap_err();
        assert!(err.to_string().contains("MEETPLANE_LISTN"), "{err}");
        let env = vec![("MEETPLANE_TEST_DATABASE_URL".to_string(), "x".to_string())];
        Config::from_settings(&Settings::default(), env).unwrap();
    }

    #[test]
    fn secrets_come_from_files_but_not_from_both_places() {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::generate();
        let path = dir.path().join("master.key");
        std::fs::write(&path, format!("{}\n", key.to_hex())).unwrap();
        let env = vec![(
            "MEETPLANE_MASTER_KEY_FILE".to_string(),
            path.display().to_string(),
        )];
        let c = Config::from_settings(&Settings::default(), env.clone()).unwrap();
        assert_eq!(c.master_key.unwrap().to_hex(), key.to_hex());
        let both = Settings {
            master_key: Some(key.to_hex()),
            ..Default::default()
        };
        let err = Config::from_settings(&both, env).unwrap_err();
        assert!(err.to_string().contains("not both"), "{err}");
        let env = vec![(
            "DATABASE_URL_FILE".to_string(),
            "/nonexistent/db-url".to_string(),
        )];
        let err = Config::from_settings(&Settings::default(), env).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL_FILE"), "{err}");
    }

    #[test]
    fn database_password_is_redacted() {
        let url = DatabaseUrl::new("postgres://meet:hunter2@db:5432/meetplane");
        assert_eq!(url.redacted(), "postgres://meet:***@db:5432/meetplane");
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn master_key_errors_do_not_echo_the_value() {
        let err = load(Settings {
            master_key: Some("zzzz-not-a-key".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("MEETPLANE_MASTER_KEY"));
        assert!(!err.to_string().contains("zzzz"));
    }
}
