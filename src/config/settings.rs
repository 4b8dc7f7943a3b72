//! The settings as flags and environment variables name them, before validation.
use clap::Args;

use super::{ConfigError, invalid};

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
    /// Deliveries in flight at once to one webhook, so that a receiver that hangs holds a few
    /// of the delivery slots and the other webhooks keep theirs [default: 4].
    #[arg(long, env = "MEETPLANE_DELIVERY_PER_WEBHOOK_IN_FLIGHT", global = true)]
    pub delivery_per_webhook_in_flight: Option<String>,
    /// How long an admitted peer holds its seat before it first connects (the meeting page's
    /// socket); `0` keeps peers until they leave or are kicked [default: 60s].
    #[arg(long, env = "MEETPLANE_PEER_CONNECT_WINDOW", global = true)]
    pub peer_connect_window: Option<String>,
    /// How long a peer whose last connection dropped holds its seat [default: 20s].
    #[arg(long, env = "MEETPLANE_PEER_RECONNECT_GRACE", global = true)]
    pub peer_reconnect_grace: Option<String>,
    /// SQLite: how long a write waits for another process's write transaction (the CLI's)
    /// before failing; this process's own writers queue without it [default: 10s].
    #[arg(long, env = "MEETPLANE_SQLITE_BUSY_TIMEOUT", global = true)]
    pub sqlite_busy_timeout: Option<String>,
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
    /// Time a connection has to send a request's headers, and between requests to start the
    /// next one, before it is closed [default: 10s].
    #[arg(long, env = "MEETPLANE_HEADER_READ_TIMEOUT", global = true)]
    pub header_read_timeout: Option<String>,
    /// Bearer token required to read /metrics (at least 16 characters); unset: /metrics is
    /// open [default: none].
    #[arg(
        long,
        env = "MEETPLANE_METRICS_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub metrics_token: Option<String>,
    /// STUN/TURN servers given to meeting pages, comma separated (`stun:host:3478`,
    /// `turn:host:3478?transport=udp`, `turns:…`); unset: none, peers use host candidates
    /// only and nothing is sent to any public STUN server [default: none].
    #[arg(long, env = "MEETPLANE_ICE_SERVERS", global = true)]
    pub ice_servers: Option<String>,
    /// coturn's `static-auth-secret` (at least 16 characters): each peer gets TURN
    /// credentials for the turn:/turns: servers, minted as coturn's REST API expects
    /// [default: none].
    #[arg(
        long,
        env = "MEETPLANE_TURN_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub turn_secret: Option<String>,
    /// How long minted TURN credentials stay valid, e.g. `86400` (seconds) or `12h`
    /// [default: 86400].
    #[arg(long, env = "MEETPLANE_TURN_TTL", global = true)]
    pub turn_ttl: Option<String>,
    /// Largest room the browser mesh serves; a room with more present peers needs an SFU
    /// [default: 6].
    #[arg(long, env = "MEETPLANE_MESH_MAX_PEERS", global = true)]
    pub mesh_max_peers: Option<String>,
    /// Janus's WebSocket API, e.g. `ws://127.0.0.1:8188` (its loopback or a private network);
    /// set, every room's media goes through Janus and the other Janus settings are required;
    /// unset: browser mesh only [default: none].
    #[arg(long, env = "MEETPLANE_JANUS_WS_URL", global = true)]
    pub janus_ws_url: Option<String>,
    /// Janus's Admin API over HTTP, e.g. `http://127.0.0.1:7088/admin` [default: none].
    #[arg(long, env = "MEETPLANE_JANUS_ADMIN_URL", global = true)]
    pub janus_admin_url: Option<String>,
    /// Janus's `api_secret` (at least 16 characters) [default: none].
    #[arg(
        long,
        env = "MEETPLANE_JANUS_API_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub janus_api_secret: Option<String>,
    /// Janus's `admin_secret` (at least 16 characters) [default: none].
    #[arg(
        long,
        env = "MEETPLANE_JANUS_ADMIN_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub janus_admin_secret: Option<String>,
    /// The VideoRoom plugin's `admin_key` (at least 16 characters) [default: none].
    #[arg(
        long,
        env = "MEETPLANE_JANUS_ADMIN_KEY",
        hide_env_values = true,
        global = true
    )]
    pub janus_admin_key: Option<String>,
    /// Password of Janus's event handler posting to /internal/janus/events (Basic auth, user
    /// `janus`; at least 16 characters) [default: none].
    #[arg(
        long,
        env = "MEETPLANE_JANUS_EVENTS_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub janus_events_secret: Option<String>,
}

/// Secrets that may also come from a file named by `NAME_FILE` (Docker and Kubernetes
/// secrets), so they need not sit in the environment.
const SECRET_FILES: &[&str] = &[
    "DATABASE_URL",
    "MEETPLANE_MASTER_KEY",
    "MEETPLANE_XMPP_PASSWORD",
    "MEETPLANE_CHAT_SHARED_SECRET",
    "MEETPLANE_METRICS_TOKEN",
    "MEETPLANE_TURN_SECRET",
    "MEETPLANE_JANUS_API_SECRET",
    "MEETPLANE_JANUS_ADMIN_SECRET",
    "MEETPLANE_JANUS_ADMIN_KEY",
    "MEETPLANE_JANUS_EVENTS_SECRET",
];

impl Settings {
    fn secret_mut(&mut self, name: &str) -> &mut Option<String> {
        match name {
            "DATABASE_URL" => &mut self.database_url,
            "MEETPLANE_MASTER_KEY" => &mut self.master_key,
            "MEETPLANE_XMPP_PASSWORD" => &mut self.xmpp_password,
            "MEETPLANE_CHAT_SHARED_SECRET" => &mut self.chat_shared_secret,
            "MEETPLANE_TURN_SECRET" => &mut self.turn_secret,
            "MEETPLANE_JANUS_API_SECRET" => &mut self.janus_api_secret,
            "MEETPLANE_JANUS_ADMIN_SECRET" => &mut self.janus_admin_secret,
            "MEETPLANE_JANUS_ADMIN_KEY" => &mut self.janus_admin_key,
            "MEETPLANE_JANUS_EVENTS_SECRET" => &mut self.janus_events_secret,
            _ => &mut self.metrics_token,
        }
    }

    /// Fill secrets from the files `NAME_FILE` variables point at (a trailing newline is
    /// dropped). Giving both `NAME` and `NAME_FILE` is an error, not a silent choice.
    pub(super) fn with_secret_files(
        mut self,
        env: &[(String, String)],
    ) -> Result<Self, ConfigError> {
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
pub(super) const KNOWN_ENV: &[&str] = &[
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
    "MEETPLANE_DELIVERY_PER_WEBHOOK_IN_FLIGHT",
    "MEETPLANE_PEER_CONNECT_WINDOW",
    "MEETPLANE_PEER_RECONNECT_GRACE",
    "MEETPLANE_SQLITE_BUSY_TIMEOUT",
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
    "MEETPLANE_HEADER_READ_TIMEOUT",
    "MEETPLANE_METRICS_TOKEN",
    "MEETPLANE_MASTER_KEY_FILE",
    "MEETPLANE_XMPP_PASSWORD_FILE",
    "MEETPLANE_CHAT_SHARED_SECRET_FILE",
    "MEETPLANE_METRICS_TOKEN_FILE",
    "MEETPLANE_ICE_SERVERS",
    "MEETPLANE_TURN_SECRET",
    "MEETPLANE_TURN_SECRET_FILE",
    "MEETPLANE_TURN_TTL",
    "MEETPLANE_MESH_MAX_PEERS",
    "MEETPLANE_JANUS_WS_URL",
    "MEETPLANE_JANUS_ADMIN_URL",
    "MEETPLANE_JANUS_API_SECRET",
    "MEETPLANE_JANUS_API_SECRET_FILE",
    "MEETPLANE_JANUS_ADMIN_SECRET",
    "MEETPLANE_JANUS_ADMIN_SECRET_FILE",
    "MEETPLANE_JANUS_ADMIN_KEY",
    "MEETPLANE_JANUS_ADMIN_KEY_FILE",
    "MEETPLANE_JANUS_EVENTS_SECRET",
    "MEETPLANE_JANUS_EVENTS_SECRET_FILE",
];
