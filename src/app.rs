//! Building the application: state (database, keys, clock), routes, and the HTTP server.
use std::{future::Future, sync::Arc, time::Duration};

use poem::{
    EndpointExt, IntoEndpoint, Route,
    endpoint::BoxEndpoint,
    middleware::{CookieJarManager, NormalizePath, TrailingSlash},
};
use tokio::net::TcpListener;

use crate::{
    api::{self, limits::BodyLimit, problem::render_poem_error},
    auth::seal::{KeyFileStatus, MasterKey, Sealer},
    clock::{Clock, SystemClock},
    config::Config,
    domain::{
        domains::DomainView,
        orgs::{self, OrgView},
        server_keys,
    },
    events::{bus::EventBus, listener},
    outbound::Outbound,
    scheduler,
    state::{AppState, Inner},
    store::{change_watch::ChangeWatch, connect},
};
use tokio_util::sync::CancellationToken;

/// Open the database, apply migrations, load the master and signing keys. Used by `serve`
/// and by every CLI command that touches data.
pub async fn open_state(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let master_key = match &config.master_key {
        Some(key) => key.clone(),
        None => {
            let (key, status) = MasterKey::load_or_create(&config.data_dir)?;
            if let KeyFileStatus::Created(path) = status {
                tracing::warn!(
                    path = %path.display(),
                    "generated a new master key; back it up: without it no sealed secret can be read"
                );
            }
            key
        }
    };
    let sealer = Sealer::new(&master_key);
    tracing::info!(database = %config.database_url, "opening database");
    let db = connect::connect_with(
        &config.database_url,
        config.db_max_connections,
        config.log_sql,
        config.sqlite_busy_timeout,
    )
    .await?;
    connect::migrate(&db)
        .await
        .map_err(|e| anyhow::anyhow!("applying migrations failed: {e}"))?;
    let writer = connect::connect_writer(
        &config.database_url,
        &db,
        config.log_sql,
        config.sqlite_busy_timeout,
    )
    .await?;
    let now = clock.now();
    server_keys::check_master_key(&db, &sealer, now).await?;
    let signing_key = server_keys::signing_key(&db, &sealer, now).await?;
    let bus = EventBus::new(connect::is_postgres(&db));
    let outbound = Outbound::new(config.allow_private_targets, config.webhook_timeout);
    let limits = crate::rate_limits::RateLimits::new(&config.limits);
    // After the pool opened (and created) the database, which the SQLite watch needs.
    let watch = ChangeWatch::for_database(&config.database_url, config.log_sql).await;
    let reads = crate::cached_reads::CachedReads::new(watch);
    let janus = config.janus.as_ref().map(crate::media::JanusPlane::new);
    Ok(AppState::new(Inner {
        db,
        writer,
        config,
        sealer,
        signing_key,
        clock,
        bus,
        outbound,
        bridge: Default::default(),
        metrics: Default::default(),
        limits,
        reads,
        joins: Default::default(),
        chat_posts: Default::default(),
        node_id: uuid::Uuid::new_v4(),
        janus,
    }))
}

/// Every route of the server, with the state attached and errors rendered as problems.
pub fn routes(state: AppState) -> BoxEndpoint<'static> {
    let max_body = state.config.max_body_bytes;
    let service = api::service();
    let labels = std::sync::Arc::new(api::metrics::RouteLabels::from_api());
    let service = std::sync::Arc::new(service.into_endpoint());
    Route::new()
        .at("/assets/*file", poem::get(api::dashboard::asset))
        .at("/openapi.json", poem::get(api::docs::openapi_document))
        .at("/v1/realtime", api::realtime::realtime)
        .at(
            "/internal/janus/events",
            poem::post(api::janus_events::janus_events),
        )
        .at(
            "/v1/rooms/:domain/:room/janus",
            poem::get(api::janus_socket::janus_socket),
        )
        .at("/join/:domain/:room", api::join_page::join_page)
        .at(
            "/api/startChatForRoom",
            poem::post(crate::compat::bbb_chat::start_chat),
        )
        .at(
            "/api/sendChatMessage/:jid",
            poem::post(crate::compat::bbb_chat::send_message),
        )
        .at(
            "/api/endChatForRoom",
            poem::post(crate::compat::bbb_chat::end_chat),
        )
        .nest("/imbachat/v1", crate::compat::imbachat::routes())
        .at(
            "/api/:collection",
            poem::post(crate::compat::xroom::endpoint),
        )
        .at("/docs", poem::get(api::docs::swagger_ui))
        // The API's own paths, kept whole (a nest at `/` would also claim `/` itself, which
        // is the dashboard's).
        .nest_no_strip("/v1", service.clone().around(api::idempotency::around))
        .at("/healthz", service.clone())
        .at("/readyz", service)
        .at("/", poem::get(api::dashboard::index))
        .at("/metrics", poem::get(api::metrics::metrics))
        .around(api::source_address::limit_by_address)
        .data(state.clone())
        .with(BodyLimit::new(max_body))
        // The dashboard's session cookie is read through the request's cookie jar.
        .with(CookieJarManager::new())
        .with(NormalizePath::new(TrailingSlash::Trim))
        .around(api::nul::around)
        .catch_all_error(|err| async move { render_poem_error(err) })
        .around(move |ep, req| api::request_id::around(ep, req, state.clone(), labels.clone()))
        .into_endpoint()
        .boxed()
}

/// A bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
    /// The default organisation, when this start created it (fresh database).
    pub bootstrapped: Option<(OrgView, DomainView)>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let listen = config.listen;
        let state = open_state(config, clock).await?;
        let bootstrapped = orgs::bootstrap(&state).await?;
        crate::events::legacy::seal_clear_secrets(&state).await?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let port = listener.local_addr().map_or(listen.port(), |a| a.port());
        Ok(Self {
            listener,
            port,
            state,
            bootstrapped,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until `shutdown` completes, then finish in-flight requests (up to 30 s) and the
    /// delivery pass in progress.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let cancel = CancellationToken::new();
        let mut workers = Vec::new();
        let mut jobs = None;
        // Missed transitions are caught up before the first request is served.
        scheduler::catch_up(&self.state).await;
        if self.state.config.background_workers {
            jobs = Some(
                scheduler::start(self.state.clone())
                    .await
                    .map_err(std::io::Error::other)?,
            );
            workers.push(tokio::spawn(crate::domain::delivery_worker::run(
                self.state.clone(),
                cancel.clone(),
            )));
            let (listening_tx, listening) = tokio::sync::oneshot::channel();
            workers.push(tokio::spawn(listener::run(
                self.state.clone(),
                cancel.clone(),
                listening_tx,
            )));
            // Serve once this node hears committed events (Postgres LISTEN), so a realtime
            // socket opened right after start-up misses none.
            if tokio::time::timeout(Duration::from_secs(10), listening)
                .await
                .is_err()
            {
                tracing::warn!("the event listener is not listening yet; serving anyway");
            }
            workers.push(tokio::spawn(crate::xmpp::run(
                self.state.clone(),
                cancel.clone(),
            )));
            workers.push(tokio::spawn(crate::domain::media_sweep::run(
                self.state.clone(),
                cancel.clone(),
            )));
        }
        let state = self.state.clone();
        let header_read_timeout = state.config.limits.header_read_timeout;
        let served = api::server::serve(
            self.listener,
            routes(self.state),
            header_read_timeout,
            shutdown,
            Duration::from_secs(30),
        )
        .await;
        if let Some(jobs) = jobs {
            jobs.stop().await;
        }
        cancel.cancel();
        for worker in workers {
            let _ = worker.await;
        }
        served
    }
}
