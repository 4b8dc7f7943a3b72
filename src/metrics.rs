//! Prometheus metrics of one node. Counters and histograms are updated where the work
//! happens; figures that live in the database (outbox depth, overdue bookings) and the pool's
//! state are read when `/metrics` is scraped, so they are never stale.
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::{error::Result, store, xmpp::BridgeStatus};

/// Latency buckets in seconds: fine below 100 ms, where an API call should be.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Lateness of booking transitions in seconds: the scheduler aims at well under a second.
const LAG_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 30.0, 60.0, 300.0,
];

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    deliveries: IntCounterVec,
    scheduler_lag: Histogram,
    join_batches: Histogram,
    join_fallbacks: IntCounter,
    chat_batches: Histogram,
    realtime: IntGauge,
    outbox_depth: IntGauge,
    overdue: IntGauge,
    pool: IntGaugeVec,
    bridge_connected: IntGauge,
    bridge_rooms: IntGauge,
    snapshot_queries: IntCounter,
    janus_up: IntGauge,
    media_rooms: IntGauge,
    media_peers: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique and valid");
    metric
}

/// Makes the node's metrics, each registered as it is made. Names and help texts are
/// constants, so making one cannot fail.
struct Maker(Registry);

impl Maker {
    fn counter(&self, name: &str, help: &str) -> IntCounter {
        register(&self.0, IntCounter::new(name, help).expect("valid"))
    }
    fn counters(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        register(
            &self.0,
            IntCounterVec::new(Opts::new(name, help), labels).expect("valid"),
        )
    }
    fn gauge(&self, name: &str, help: &str) -> IntGauge {
        register(&self.0, IntGauge::new(name, help).expect("valid"))
    }
    fn gauges(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        register(
            &self.0,
            IntGaugeVec::new(Opts::new(name, help), labels).expect("valid"),
        )
    }
    fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
        register(&self.0, Histogram::with_opts(opts).expect("valid"))
    }
    fn histograms(&self, name: &str, help: &str, buckets: &[f64], labels: &[&str]) -> HistogramVec {
        let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
        register(&self.0, HistogramVec::new(opts, labels).expect("valid"))
    }
}

impl Metrics {
    pub fn new() -> Self {
        let m = Maker(
            Registry::new_custom(Some("meetplane".into()), None)
                .expect("the prefix is a valid metric name"),
        );
        Self {
            http_requests: m.counters(
                "http_requests_total",
                "HTTP requests answered",
                &["method", "route", "status"],
            ),
            http_duration: m.histograms(
                "http_request_duration_seconds",
                "Time to answer an HTTP request",
                LATENCY_BUCKETS,
                &["method", "route"],
            ),
            deliveries: m.counters(
                "webhook_delivery_attempts_total",
                "Webhook delivery attempts made by this node, by outcome",
                &["outcome"],
            ),
            scheduler_lag: m.histogram(
                "scheduler_lag_seconds",
                "How late booking transitions ran after they were due",
                LAG_BUCKETS,
            ),
            join_batches: m.histogram(
                "session_join_batch_size",
                "Session links opened together in one transaction by this node",
                &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0],
            ),
            join_fallbacks: m.counter(
                "session_join_batch_fallbacks_total",
                "Batches of session links that failed as a whole and were redone link by link",
            ),
            chat_batches: m.histogram(
                "chat_batch_size",
                "Chat messages written together in one transaction by this node",
                &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0],
            ),
            realtime: m.gauge("realtime_connections", "Open realtime WebSockets on this node"),
            outbox_depth: m.gauge(
                "outbox_depth",
                "Webhook deliveries waiting to be made (all nodes)",
            ),
            overdue: m.gauge(
                "scheduler_overdue_seconds",
                "Age of the most overdue booking transition, 0 when none is overdue",
            ),
            pool: m.gauges(
                "db_pool_connections",
                "Database pool connections by state",
                &["state"],
            ),
            bridge_connected: m.gauge(
                "xmpp_bridge_connected",
                "1 when this node bridges XMPP and is connected, else 0 (summed over nodes: 1 when the bridge is up)",
            ),
            bridge_rooms: m.gauge("xmpp_bridge_rooms_joined", "MUCs this node's XMPP bridge is in"),
            snapshot_queries: m.counter(
                "read_snapshot_queries_total",
                "Snapshot queries the cached reads asked Postgres",
            ),
            janus_up: m.gauge(
                "janus_up",
                "1 when the Janus SFU answered this node's last call, else 0 (0 without Janus)",
            ),
            media_rooms: m.gauge("media_rooms", "Rooms on the Janus SFU (all nodes)"),
            media_peers: m.gauge(
                "media_peers_connected",
                "Peers with a PeerConnection up on the Janus SFU (all nodes)",
            ),
            registry: m.0,
        }
    }

    /// One answered request. `route` is the route's template, never the raw path, so the
    /// number of series stays bounded.
    pub fn http_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.http_duration
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// One delivery attempt: `delivered`, `retrying`, `failed` (given up) or `disabled`.
    pub fn delivery_attempt(&self, outcome: &str) {
        self.deliveries.with_label_values(&[outcome]).inc();
    }

    pub fn booking_transition(&self, late_seconds: f64) {
        self.scheduler_lag.observe(late_seconds.max(0.0));
    }

    /// A batch of session links written together.
    pub fn join_batch(&self, links: usize) {
        self.join_batches.observe(links as f64);
    }

    /// A batch of session links that failed as a whole (a statement's error, such as a race
    /// with a path that opens rooms without claiming their names) and was redone link by link.
    pub fn join_batch_fallback(&self) {
        self.join_fallbacks.inc();
    }

    pub fn chat_batch(&self, messages: usize) {
        self.chat_batches.observe(messages as f64);
    }

    /// Counts an open realtime socket until the guard is dropped.
    pub fn realtime_connection(&self) -> RealtimeGuard {
        self.realtime.inc();
        RealtimeGuard(self.realtime.clone())
    }

    /// The text exposition, after reading the figures kept in the database.
    pub async fn render(
        &self,
        db: &store::Db,
        now: chrono::DateTime<chrono::Utc>,
        bridge: &BridgeStatus,
        snapshot_queries: Option<u64>,
        janus_up: Option<bool>,
    ) -> Result<String> {
        if let Some(up) = janus_up {
            self.janus_up.set(i64::from(up));
            let rooms = store::media_rooms::room_count(db).await?;
            self.media_rooms
                .set(i64::try_from(rooms).unwrap_or(i64::MAX));
            let peers =
                store::presence::peers_on_node(db, crate::domain::presence::JANUS_NODE).await?;
            self.media_peers
                .set(i64::try_from(peers).unwrap_or(i64::MAX));
        }
        if let Some(queries) = snapshot_queries {
            // The watch keeps a running total; the counter catches up to it.
            self.snapshot_queries
                .inc_by(queries.saturating_sub(self.snapshot_queries.get()));
        }
        self.bridge_connected
            .set(i64::from(bridge.leader && bridge.state == "connected"));
        self.bridge_rooms
            .set(i64::try_from(bridge.rooms_joined.len()).unwrap_or(i64::MAX));
        let depth = store::deliveries::pending_count(db).await?;
        self.outbox_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
        let overdue = store::bookings::next_due(db)
            .await?
            .map(|due| (now - due).num_seconds().max(0))
            .unwrap_or(0);
        self.overdue.set(overdue);
        let (size, idle, max) = store::connect::pool_state(db);
        self.pool.with_label_values(&["open"]).set(size);
        self.pool.with_label_values(&["idle"]).set(idle);
        self.pool.with_label_values(&["max"]).set(max);
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(anyhow::Error::from)?;
        String::from_utf8(out).map_err(|e| anyhow::Error::from(e).into())
    }
}

pub struct RealtimeGuard(IntGauge);

impl Drop for RealtimeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
