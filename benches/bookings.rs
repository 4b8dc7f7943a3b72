//! Booking activation lag: 10,000 bookings whose starts fall within one minute, activated by
//! the running scheduler; prints p50/p99/max of (activation time - start time). Run with
//! `cargo bench --bench bookings` (SQLite) or with `MEETPLANE_BENCH_DATABASE_URL` pointing at a
//! Postgres server; `MEETPLANE_BENCH_BOOKINGS` changes the count.
//!
//! Creating the bookings takes a while, so the bench's clock is shifted: bookings are made for
//! a minute starting two minutes ahead, then the clock jumps to just before the first start and
//! runs at real speed from there.
mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt;
use meetplane::{
    app::Application,
    clock::Clock,
    domain::audit::By,
    domain::{
        bookings::{self, MeetingOptions, NewBooking},
        clients, orgs,
        principal::{Actor, Principal},
    },
    scheduler,
    store::{self, entities::booking},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Real time plus an adjustable offset (milliseconds).
#[derive(Debug, Default)]
struct ShiftedClock(AtomicI64);

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        let t = Utc::now() + TimeDelta::milliseconds(self.0.load(Ordering::Relaxed));
        t - TimeDelta::nanoseconds(i64::from(t.timestamp_subsec_nanos() % 1_000_000))
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    meetplane::install_crypto_provider();
    let n = common::env_number("MEETPLANE_BENCH_BOOKINGS", 10_000);
    let dir = tempfile::tempdir()?;
    let bench_db = common::BenchDb::create(dir.path()).await?;
    let mut config = common::config(dir.path(), &bench_db)?;
    config.background_workers = false;
    let clock = Arc::new(ShiftedClock::default());
    let app = Application::build_with_clock(config, clock.clone()).await?;
    let state = app.state().clone();
    let org = orgs::resolve(&state.db, "Default").await?.id;
    let client = clients::create(&state, &By::cli(org), "bench")
        .await?
        .client;
    let principal = Principal {
        org_id: org,
        actor: Actor::Client {
            client_id: client.id,
            api_key: client.api_key,
        },
        source_ip: None,
        via: None,
    };

    println!("backend: {}", bench_db.backend());
    let first = clock.now() + TimeDelta::minutes(2);
    let spread_ms = 60_000 / n.max(1) as i64;
    let started = Instant::now();
    let adds = futures_util::stream::iter(0..n).map(|i| {
        let (state, principal) = (state.clone(), principal.clone());
        async move {
            bookings::add(
                &state,
                &principal,
                NewBooking {
                    domain: "localhost".into(),
                    room_name: format!("room-{i}"),
                    start_time: first + TimeDelta::milliseconds(spread_ms * i as i64),
                    options: MeetingOptions {
                        duration: Some(30),
                        ..Default::default()
                    },
                    grace_minutes: None,
                },
            )
            .await
        }
    });
    for r in adds.buffer_unordered(8).collect::<Vec<_>>().await {
        r?;
    }
    println!(
        "created {n} bookings due within one minute in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // Jump to one second before the first start; from here time runs at real speed.
    let jump = (first - TimeDelta::seconds(1) - Utc::now()).num_milliseconds();
    clock.0.store(jump, Ordering::Relaxed);
    let jobs = scheduler::start(state.clone()).await?;
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let active = booking::Entity::find()
            .filter(booking::Column::State.eq(bookings::BookingState::Active))
            .all(&state.db)
            .await?
            .len();
        println!(
            "{:>6.0}s  {active:>6} of {n} active",
            started.elapsed().as_secs_f64()
        );
        if active == n {
            break;
        }
    }
    jobs.stop().await;
    let rows = booking::Entity::find().all(&state.db).await?;
    let mut lags: Vec<i64> = rows
        .iter()
        .filter_map(|b| {
            b.activated_at
                .map(|a| (a - b.start_time).num_milliseconds())
        })
        .collect();
    lags.sort_unstable();
    let early = lags.iter().filter(|l| **l < 0).count();
    println!(
        "activation lag over {} bookings: p50 {} ms, p99 {} ms, max {} ms ({early} early)",
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or_default()
    );
    println!(
        "still due: {}",
        store::bookings::due_count(&state.db, clock.now()).await?
    );
    state.db.clone().close().await?;
    bench_db.drop_scratch().await?;
    Ok(())
}
