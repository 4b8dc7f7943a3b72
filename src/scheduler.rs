//! The scheduler: tokio-cron-scheduler starts a pass over due booking transitions every
//! second (its finest granularity), and hourly housekeeping. A pass keeps going while any
//! transition is due within the next tick, sleeping until each one, and ends only when the
//! next is at least a tick away; so a transition is late by its processing time, not by up to
//! a tick. `run_once` is what tests call.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sea_orm::DbBackend;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::{
    domain::{booking_schedule, housekeeping},
    error::Result,
    state::AppState,
    store,
};

/// Transitions per pass and worker, so one pass never runs unbounded.
const MAX_PER_PASS: usize = 1000;
const TICK: Duration = Duration::from_secs(1);

/// Perform every due booking transition (most overdue first). Returns how many.
pub async fn run_once(state: &AppState) -> Result<usize> {
    let mut done = 0;
    while done < MAX_PER_PASS {
        match booking_schedule::process_next(state).await? {
            Some(_) => done += 1,
            None => break,
        }
    }
    Ok(done)
}

/// Concurrent passes: Postgres lets several transactions claim different bookings; SQLite
/// serialises writers anyway.
fn workers(state: &AppState) -> usize {
    if state.db.get_database_backend() == DbBackend::Postgres {
        4
    } else {
        1
    }
}

async fn pass(state: &AppState, stopping: &AtomicBool) -> usize {
    let tick = chrono::TimeDelta::from_std(TICK).unwrap_or_default();
    let mut total = 0;
    loop {
        let results =
            futures_util::future::join_all((0..workers(state)).map(|_| run_once(state))).await;
        total += results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|e| {
                    tracing::error!(error = ?e, "booking transition failed");
                    0
                })
            })
            .sum::<usize>();
        if stopping.load(Ordering::Acquire) {
            break;
        }
        match store::bookings::next_due(&state.db).await {
            Ok(Some(next)) if next - state.now() < tick => {
                let wait = (next - state.now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
            }
            Ok(_) => break,
            Err(e) => {
                tracing::error!(error = ?e, "reading the next booking transition failed");
                break;
            }
        }
    }
    total
}

/// Catch up on transitions missed while no node ran (called before serving).
pub async fn catch_up(state: &AppState) -> usize {
    // Only what is overdue: stop rather than wait for the next transition.
    let total = pass(state, &AtomicBool::new(true)).await;
    if total > 0 {
        tracing::info!(
            transitions = total,
            "caught up on missed booking transitions"
        );
    }
    total
}

/// The running scheduler; `stop` waits for a pass in progress.
pub struct Scheduler {
    jobs: JobScheduler,
    busy: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
}

pub async fn start(state: AppState) -> anyhow::Result<Scheduler> {
    let jobs = JobScheduler::new().await?;
    let busy = Arc::new(AtomicBool::new(false));
    let stopping = Arc::new(AtomicBool::new(false));
    let (s, b, st) = (state.clone(), busy.clone(), stopping.clone());
    jobs.add(Job::new_repeated_async(TICK, move |_, _| {
        let (state, busy, stopping) = (s.clone(), b.clone(), st.clone());
        Box::pin(async move {
            // A pass still running is not joined by another.
            if busy.swap(true, Ordering::AcqRel) {
                return;
            }
            pass(&state, &stopping).await;
            busy.store(false, Ordering::Release);
        })
    })?)
    .await?;
    let s = state.clone();
    jobs.add(Job::new_async("0 17 * * * *", move |_, _| {
        let state = s.clone();
        Box::pin(async move {
            if let Err(e) = housekeeping::run_once(&state).await {
                tracing::error!(error = ?e, "housekeeping failed");
            }
        })
    })?)
    .await?;
    jobs.start().await?;
    Ok(Scheduler {
        jobs,
        busy,
        stopping,
    })
}

impl Scheduler {
    pub async fn stop(mut self) {
        self.stopping.store(true, Ordering::Release);
        let _ = self.jobs.shutdown().await;
        while self.busy.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
