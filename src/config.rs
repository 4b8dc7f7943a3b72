//! One typed configuration, read from command-line flags and the environment.
//!
//! Every setting has a flag and an environment variable (the flag wins). A malformed value,
//! or an unknown `MEETPLANE_*` variable (usually a typo), stops start-up with a message that
//! names the setting. Secrets (the database password, the master key) are never printed.
use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;
use url::Url;

use crate::auth::seal::MasterKey;

mod chat;
mod limits;
pub use chat::{ChatConfig, SecretString, XmppConfig};
pub use limits::LimitsConfig;

/// The settings as given on the command line or in the environment, before validation.
#[derive(Args, Debug, Clone, Default)]
pub struct Settings {
    /// Database URL: `sqlite://PATH` (embedded) or `postgres://USER:PASS@HOST/DB`.
    /// Default: an SQLite file `meetplane.db` in the data dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "MEETPLANE_LISTEN", global = true)]
    pub listen: Option<String>,
    /// URL under which users reach this server, used in printed links
    /// [default: http://LISTEN].
    #[arg(long, env = "MEETPLANE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Folder for the SQLite file and the generated master key [default: ./data].
    #[arg(long, env = "MEETPLANE_DATA_DIR", global = true)]
    pub data_dir: Option<String>,
    /// 32-byte key (64 hex characters or base64) sealing secrets at rest. Default: generated
    /// on first start into DATA_DIR/master.key (mode 0600) and reused after.
    #[arg(
        long,
        env = "MEETPLANE_MASTER_KEY",
        hide_env_values = true,
        global = true
    )]
    pub master_key: Option<String>,
    /// Name of the domain created with the default organisation on a fresh database
    /// [default: localhost].
    #[arg(long, env = "MEETPLANE_DEFAULT_DOMAIN", global = true)]
    pub default_domain: Option<String>,
    /// Lifetime of OAuth2 access tokens, e.g. `15m`, `1h` [default: 1h].
    #[arg(long, env = "MEETPLANE_ACCESS_TOKEN_TTL", global = true)]
    pub access_token_ttl: Option<String>,
    /// Lifetime of OAuth2 refresh tokens [default: 30d].
    #[arg(long, env = "MEETPLANE_REFRESH_TOKEN_TTL", global = true)]
    pub refresh_token_ttl: Option<String>,
    /// Largest capacity a room may have [default: 256].
    #[arg(long, env = "MEETPLANE_MAX_ROOM_CAPACITY", global = true)]
    pub max_room_capacity: Option<String>,
    /// Size of the database connection pool [default: 10].
    #[arg(long, env = "MEETPLANE_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<String>,
    /// Largest request body accepted, in bytes [default: 1048576].
    #[arg(long, env = "MEETPLANE_MAX_BODY_BYTES", global = true)]
    pub max_body_bytes: Option<String>,
    /// Allow webhook and callback URLs on loopback, private and link-local addresses
    /// (on-prem receivers, tests) [default: false].
    #[arg(long, env = "MEETPLANE_ALLOW_PRIVATE_TARGETS", global = true)]
    pub allow_private_targets: Option<String>,
    /// Time limit of one webhook request (delivery or validation) [default: 10s].
    #[arg(long, env = "MEETPLANE_WEBHOOK_TIMEOUT", global = true)]
    pub webhook_timeout: Option<String>,
    /// A webhook failing without a success for this long is disabled [default: 5d].
    #[arg(long, env = "MEETPLANE_WEBHOOK_DISABLE_AFTER", global = true)]
    pub webhook_disable_after: Option<String>,
    /// How long a worker holds a claimed delivery before another may retry it; longer than
    /// the webhook timeout [default: 60s].
    #[arg(long, env = "MEETPLANE_DELIVERY_LEASE", global = true)]
    pub delivery_lease: Option<String>,
    /// Deliveries in flight at once per node [default: 64].
    #[arg(long, env = "MEETPLANE_DELIVERY_CONCURRENCY", global = true)]
    pub delivery_concurrency: Option<String>,
    /// Log every SQL statement (target `sqlx::query`; RUST_LOG must let it through)
    /// [default: false].
    #[arg(long, env = "MEETPLANE_LOG_SQL", global = true)]
    pub log_sql: Option<String>,
    /// Log format: `text` or `json` [default: text]. The filter comes from RUST_LOG.
    #[arg(long, env = "MEETPLANE_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    /// Shared secret of the chat-bridge API (`/api/startChatForRoom` …) for clients that are
    /// not API clients; API clients use their own secret [default: none].
    #[arg(
        long,
        env = "MEETPLANE_CHAT_SHARED_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub chat_shared_secret: Option<String>,
    /// Organisation (id or name) that owns chats started with the shared secret
    /// [default: the only organisation, if there is one].
    #[arg(long, env = "MEETPLANE_CHAT_ORG", global = true)]
    pub chat_org: Option<String>,
    /// How far a chat-bridge checksum's time may be from the server's, in seconds [default: 5].
    #[arg(long, env = "MEETPLANE_CHAT_TIME_DELTA", global = true)]
    pub chat_time_delta: Option<String>,
    /// JID of the XMPP account the chat bridge logs in with; with the password it enables the
    /// bridge [default: none].
    #[arg(long, env = "MEETPLANE_XMPP_JID", global = true)]
    pub xmpp_jid: Option<String>,
    /// Password of the XMPP account.
    #[arg(
        long,
        env = "MEETPLANE_XMPP_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub xmpp_password: Option<String>,
    /// XMPP server as `host:port`, connected without TLS (loopback or a private network only);
    /// unset: the JID's domain via DNS SRV with STARTTLS [default: none].
    #[arg(long, env = "MEETPLANE_XMPP_SERVER", global = true)]
    pub xmpp_server: Option<String>,
    /// Nickname of the bridge in the multi-user chats [default: meetplane].
    #[arg(long, env = "MEETPLANE_XMPP_NICK", global = true)]
    pub xmpp_nick: Option<String>,
    /// How long names and avatars from a widget's users-info URL are cached [default: 5m].
    #[arg(long, env = "MEETPLANE_WIDGET_USERS_TTL", global = true)]
    pub widget_users_ttl: Option<String>,
    /// Timeout of one users-info request to a widget's site [default: 5s].
    #[arg(long, env = "MEETPLANE_WIDGET_USERS_TIMEOUT", global = true)]
    pub widget_users_timeout: Option<String>,
    /// Requests per minute one API client or dashboard user may make on this node; 0 turns
    /// the limit off [default: 1200].
    #[arg(long, env = "MEETPLANE_RATE_LIMIT_CLIENT", global = true)]
    pub rate_limit_client: Option<String>,
    /// Requests per minute from one source address on this node; 0 turns the limit off
    /// [default: 3000].
    #[arg(long, env = "MEETPLANE_RATE_LIMIT_ADDRESS", global = true)]
    pub rate_limit_address: Option<String>,
    /// Behind a reverse proxy: take the source address from the last X-Forwarded-For entry
    /// (for rate limits, sign-in throttling and the audit log) [default: false].
    #[arg(long, env = "MEETPLANE_TRUST_FORWARDED_FOR", global = true)]
    pub trust_forwarded_for: Option<String>,
    /// Bearer token required to read /metrics (at least 16 characters); unset: /metrics is
    /// open [default: none].
    #[arg(
        long,
        env = "MEETPLANE_METRICS_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub metrics_token: Option<String>,
}

/// Secrets that may also come from a file named by `NAME_FILE` (Docker and Kubernetes
/// secrets), so they need not sit in the environment.
const SECRET_FILES: &[&str] = &[
    "DATABASE_URL",
    "MEETPLANE_MASTER_KEY",
    "MEETPLANE_XMPP_PASSWORD",
    "MEETPLANE_CHAT_SHARED_SECRET",
    "MEETPLANE_METRICS_TOKEN",
];

impl Settings {
    fn secret_mut(&mut self, name: &str) -> &mut Option<String> {
        match name {
            "DATABASE_URL" => &mut self.database_url,
            "MEETPLANE_MASTER_KEY" => &mut self.master_key,
            "MEETPLANE_XMPP_PASSWORD" => &mut self.xmpp_password,
            "MEETPLANE_CHAT_SHARED_SECRET" => &mut self.chat_shared_secret,
            _ => &mut self.metrics_token,
        }
    }

    /// Fill secrets from the files `NAME_FILE` variables point at (a trailing newline is
    /// dropped). Giving both `NAME` and `NAME_FILE` is an error, not a silent choice.
    fn with_secret_files(mut self, env: &[(String, String)]) -> Result<Self, ConfigError> {
        for name in SECRET_FILES {
            let file_var = format!("{name}_FILE");
            let Some((_, path)) = env.iter().find(|(k, _)| *k == file_var) else {
                continue;
            };
            let slot = self.secret_mut(name);
            if slot.is_some() {
                return Err(invalid(
                    &file_var,
                    format!("give {name} or {file_var}, not both"),
                ));
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| invalid(&file_var, format!("cannot read {path:?}: {e}")))?;
            *slot = Some(text.trim_end_matches(['\r', '\n']).to_string());
        }
        Ok(self)
    }
}

/// Environment variables meetplane reads; any other `MEETPLANE_*` variable is refused.
/// `MEETPLANE_TEST_*` belongs to the test suite and `MEETPLANE_BUILD_*` to build.rs (the
/// dashboard build); both are ignored here.
const KNOWN_ENV: &[&str] = &[
    "MEETPLANE_LISTEN",
    "MEETPLANE_PUBLIC_URL",
    "MEETPLANE_DATA_DIR",
    "MEETPLANE_MASTER_KEY",
    "MEETPLANE_DEFAULT_DOMAIN",
    "MEETPLANE_ACCESS_TOKEN_TTL",
    "MEETPLANE_REFRESH_TOKEN_TTL",
    "MEETPLANE_MAX_ROOM_CAPACITY",
    "MEETPLANE_DB_MAX_CONNECTIONS",
    "MEETPLANE_MAX_BODY_BYTES",
    "MEETPLANE_ALLOW_PRIVATE_TARGETS",
    "MEETPLANE_WEBHOOK_TIMEOUT",
    "MEETPLANE_WEBHOOK_DISABLE_AFTER",
    "MEETPLANE_DELIVERY_LEASE",
    "MEETPLANE_DELIVERY_CONCURRENCY",
    "MEETPLANE_LOG_SQL",
    "MEETPLANE_LOG_FORMAT",
    "MEETPLANE_CHAT_SHARED_SECRET",
    "MEETPLANE_CHAT_ORG",
    "MEETPLANE_CHAT_TIME_DELTA",
    "MEETPLANE_XMPP_JID",
    "MEETPLANE_XMPP_PASSWORD",
    "MEETPLANE_XMPP_SERVER",
    "MEETPLANE_XMPP_NICK",
    "MEETPLANE_WIDGET_USERS_TTL",
    "MEETPLANE_WIDGET_USERS_TIMEOUT",
    "MEETPLANE_RATE_LIMIT_CLIENT",
    "MEETPLANE_RATE_LIMIT_ADDRESS",
    "MEETPLANE_TRUST_FORWARDED_FOR",
    "MEETPLANE_METRICS_TOKEN",
    "MEETPLANE_MASTER_KEY_FILE",
    "MEETPLANE_XMPP_PASSWORD_FILE",
    "MEETPLANE_CHAT_SHARED_SECRET_FILE",
    "MEETPLANE_METRICS_TOKEN_FILE",
];

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

/// A database URL whose `Debug`/`Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }
    /// The URL with its password; only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }
    /// The file an SQLite URL points at (None for `:memory:` and non-SQLite URLs).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.0.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }
    pub fn redacted(&self) -> String {
        match Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            Ok(_) => self.0.clone(),
            Err(_) => "<unparseable database url>".to_string(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.redacted())
    }
}
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.redacted())
    }
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
    pub max_body_bytes: u64,
    pub allow_private_targets: bool,
    pub webhook_timeout: Duration,
    pub webhook_disable_after: Duration,
    pub delivery_lease: Duration,
    pub delivery_concurrency: usize,
    /// Run the delivery worker, event listener and scheduler with the server (tests may
    /// drive them by hand instead).
    pub background_workers: bool,
    pub log_sql: bool,
    pub log_format: LogFormat,
    pub chat: ChatConfig,
    pub limits: LimitsConfig,
}

impl Config {
    /// Validate raw settings, refusing unknown `MEETPLANE_*` variables in `env`.
    pub fn from_settings(
        s: &Settings,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let settings = s.clone().with_secret_files(&env)?;
        let s = &settings;
        for (name, _) in &env {
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

        let listen: SocketAddr = match &s.listen {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => v.trim().parse().map_err(|_| {
                invalid(
                    "MEETPLANE_LISTEN (--listen)",
                    format!("{v:?} is not an address like 127.0.0.1:8080"),
                )
            })?,
        };
        let public_url = match &s.public_url {
            None => Url::parse(&format!("http://{listen}")).expect("an address forms a URL"),
            Some(v) => parse_public_url(v)?,
        };
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
        let access_token_ttl = parse_duration(
            "MEETPLANE_ACCESS_TOKEN_TTL (--access-token-ttl)",
            s.access_token_ttl.as_deref(),
            Duration::from_secs(3600),
            Duration::from_secs(60)..=Duration::from_secs(24 * 3600),
        )?;
        let refresh_token_ttl = parse_duration(
            "MEETPLANE_REFRESH_TOKEN_TTL (--refresh-token-ttl)",
            s.refresh_token_ttl.as_deref(),
            Duration::from_secs(30 * 24 * 3600),
            access_token_ttl..=Duration::from_secs(365 * 24 * 3600),
        )?;
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
        let allow_private_targets = parse_bool(
            "MEETPLANE_ALLOW_PRIVATE_TARGETS (--allow-private-targets)",
            s.allow_private_targets.as_deref(),
        )?;
        let webhook_timeout = parse_duration(
            "MEETPLANE_WEBHOOK_TIMEOUT (--webhook-timeout)",
            s.webhook_timeout.as_deref(),
            Duration::from_secs(10),
            Duration::from_millis(100)..=Duration::from_secs(120),
        )?;
        let webhook_disable_after = parse_duration(
            "MEETPLANE_WEBHOOK_DISABLE_AFTER (--webhook-disable-after)",
            s.webhook_disable_after.as_deref(),
            Duration::from_secs(5 * 86400),
            Duration::from_secs(3600)..=Duration::from_secs(365 * 86400),
        )?;
        let delivery_lease = parse_duration(
            "MEETPLANE_DELIVERY_LEASE (--delivery-lease)",
            s.delivery_lease.as_deref(),
            Duration::from_secs(60),
            Duration::from_secs(1)..=Duration::from_secs(3600),
        )?;
        if delivery_lease <= webhook_timeout {
            return Err(invalid(
                "MEETPLANE_DELIVERY_LEASE (--delivery-lease)",
                "must be longer than MEETPLANE_WEBHOOK_TIMEOUT, or a slow delivery would be retried while in flight",
            ));
        }
        let delivery_concurrency = parse_number(
            "MEETPLANE_DELIVERY_CONCURRENCY (--delivery-concurrency)",
            s.delivery_concurrency.as_deref(),
            64,
            1..=4096,
        )? as usize;
        let log_sql = parse_bool("MEETPLANE_LOG_SQL (--log-sql)", s.log_sql.as_deref())?;
        let log_format = match s.log_format.as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "MEETPLANE_LOG_FORMAT (--log-format)",
                    format!("{other:?} is neither \"text\" nor \"json\""),
                ));
            }
        };
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
            max_body_bytes,
            allow_private_targets,
            webhook_timeout,
            webhook_disable_after,
            delivery_lease,
            delivery_concurrency,
            background_workers: true,
            log_sql,
            log_format,
            chat: ChatConfig::from_settings(s)?,
            limits: LimitsConfig::from_settings(s)?,
        })
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

fn parse_database_url(v: &str) -> Result<DatabaseUrl, ConfigError> {
    const NAME: &str = "DATABASE_URL (--database-url)";
    let v = v.trim();
    if v.starts_with("sqlite:") {
        let url = DatabaseUrl::new(v);
        if url.sqlite_path().is_none() && !v.contains(":memory:") {
            return Err(invalid(NAME, "an sqlite URL needs a file path"));
        }
        return Ok(url);
    }
    if v.starts_with("postgres://") || v.starts_with("postgresql://") {
        // Parse to catch typos early; the error text never includes the URL (it may hold a
        // password).
        let url = Url::parse(v).map_err(|e| invalid(NAME, format!("not a valid URL: {e}")))?;
        if url.host().is_none() {
            return Err(invalid(NAME, "a postgres URL needs a host"));
        }
        return Ok(DatabaseUrl::new(v));
    }
    Err(invalid(
        NAME,
        "must start with sqlite: or postgres:// (other databases are not supported)",
    ))
}

pub(crate) fn parse_duration(
    name: &str,
    v: Option<&str>,
    default: Duration,
    range: std::ops::RangeInclusive<Duration>,
) -> Result<Duration, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    let v = v.trim();
    let d = match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(v)
            .map_err(|e| invalid(name, format!("{v:?} is not a duration like 15m or 1h: {e}")))?,
    };
    if !range.contains(&d) {
        return Err(invalid(
            name,
            format!(
                "{v:?} is outside {}..={}",
                humantime::format_duration(*range.start()),
                humantime::format_duration(*range.end())
            ),
        ));
    }
    Ok(d)
}

pub(crate) fn parse_bool(name: &str, v: Option<&str>) -> Result<bool, ConfigError> {
    match v.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(other) => Err(invalid(
            name,
            format!("{other:?} is neither true nor false"),
        )),
    }
}

pub(crate) fn parse_number(
    name: &str,
    v: Option<&str>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    let n: u32 = v
        .trim()
        .parse()
        .map_err(|_| invalid(name, format!("{v:?} is not a whole number")))?;
    if !range.contains(&n) {
        return Err(invalid(
            name,
            format!("{n} is outside {}..={}", range.start(), range.end()),
        ));
    }
    Ok(n)
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
