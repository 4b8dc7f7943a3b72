//! What every request handler, background job and CLI command shares. No HTTP types here.
use std::{ops::Deref, sync::Arc};

use chrono::{DateTime, Utc};

use crate::{
    auth::{access_token::SigningKey, seal::Sealer},
    cached_reads::CachedReads,
    chat_queue::ChatQueue,
    clock::Clock,
    config::Config,
    events::bus::EventBus,
    join_queue::JoinQueue,
    metrics::Metrics,
    outbound::Outbound,
    rate_limits::RateLimits,
    store,
    xmpp::StatusCell,
};

#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub db: store::Db,
    /// Where write transactions run (`store::connect::connect_writer`): on SQLite one
    /// connection this process's writers queue for; on Postgres the same pool as `db`.
    pub writer: store::Db,
    pub config: Config,
    pub sealer: Sealer,
    pub signing_key: SigningKey,
    pub clock: Arc<dyn Clock>,
    pub bus: EventBus,
    pub outbound: Outbound,
    /// This node's XMPP bridge status.
    pub bridge: StatusCell,
    /// This node's Prometheus metrics.
    pub metrics: Metrics,
    /// This node's request rate limits.
    pub limits: RateLimits,
    /// Hot reads kept in memory while the database is unchanged.
    pub reads: CachedReads,
    /// Session links waiting to be opened together.
    pub joins: JoinQueue,
    /// Chat messages waiting to be written together (group commit).
    pub chat_posts: ChatQueue,
    /// This process's identity as a delivery node (its leases name it; see
    /// `domain::delivery_worker`), new at every start.
    pub node_id: uuid::Uuid,
    /// The Janus SFU this node drives, when configured.
    pub janus: Option<crate::media::JanusPlane>,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
