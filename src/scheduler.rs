//! The scheduler: tokio-cron-scheduler starts a pass over due booking transitions every
//! second (its finest granularity), a presence sweep every second (peers whose seat lapsed
//! leave), and hourly housekeeping. A pass keeps going while any
//! transition is due within the next tick, sleeping until each one, and ends only when the
//! next is at least a tick away; so a transition is late by its processing time, not by up to
//! a tick. `run_once` is what tests call.
use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::{
    background::{self, OneAtATime},
    domain::{booking_schedule, housekeeping, presence},
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
    if store::connect::is_postgres(&state.db) {
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
    let stop_when_done = AtomicBool::new(true);
    let caught_up = background::guarded("catching up", pass(state, &stop_when_done));
    let total = caught_up.await.unwrap_or(0);
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
    passes: OneAtATime,
    stopping: Arc<AtomicBool>,
}

pub async fn start(state: AppState) -> anyhow::Result<Scheduler> {
    let stopping = Arc::new(AtomicBool::new(false));
    let (s, st) = (state.clone(), stopping.clone());
    let scheduler = every_tick(stopping, move || {
        let (state, stopping) = (s.clone(), st.clone());
        async move {
            pass(&state, &stopping).await;
        }
    })
    .await?;
    // Peers whose seat lapsed without a connection leave within a second of it.
    let sweeps = OneAtATime::default();
    let state_for_sweeps = state.clone();
    scheduler
        .jobs
        .add(Job::new_async("* * * * * *", move |_, _| {
            let (state, sweeps) = (state_for_sweeps.clone(), sweeps.clone());
            Box::pin(async move {
                let swept = sweeps.run("the presence sweep", presence::run_once(&state));
                if let Some(Err(e)) = swept.await {
                    tracing::error!(error = ?e, "the presence sweep failed");
                }
            })
        })?)
        .await?;
    scheduler
        .jobs
        .add(Job::new_async("0 17 * * * *", move |_, _| {
            let state = state.clone();
            Box::pin(async move {
                let pruned = background::guarded("housekeeping", housekeeping::run_once(&state));
                if let Some(Err(e)) = pruned.await {
                    tracing::error!(error = ?e, "housekeeping failed");
                }
            })
        })?)
        .await?;
    scheduler.jobs.start().await?;
    Ok(scheduler)
}

/// A scheduler that starts `pass` every tick, unless the last one still runs. A pass that
/// panics is logged, and the next tick starts another.
async fn every_tick<P, F>(stopping: Arc<AtomicBool>, pass: P) -> anyhow::Result<Scheduler>
where
    P: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let jobs = JobScheduler::new().await?;
    let passes = OneAtATime::default();
    let running = passes.clone();
    let pass = Arc::new(pass);
    jobs.add(Job::new_repeated_async(TICK, move |_, _| {
        let (passes, pass) = (running.clone(), pass.clone());
        Box::pin(async move {
            passes.run("a booking transition pass", pass()).await;
        })
    })?)
    .await?;
    Ok(Scheduler {
        jobs,
        passes,
        stopping,
    })
}

impl Scheduler {
    pub async fn stop(mut self) {
        self.stopping.store(true, Ordering::Release);
        let _ = self.jobs.shutdown().await;
        while !self.passes.idle() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// The first pass fails with a panic; the scheduler must go on ticking, and `stop` must
    /// return rather than wait for the failed pass forever.
    #[tokio::test]
    async fn a_pass_that_panics_does_not_stop_the_scheduler() {
        let started = Arc::new(AtomicUsize::new(0));
        let (ran_tx, mut ran) = tokio::sync::mpsc::unbounded_channel();
        let counter = started.clone();
        let scheduler = every_tick(Arc::default(), move || {
            let (nth, ran) = (counter.fetch_add(1, Ordering::SeqCst), ran_tx.clone());
            async move {
                if nth == 0 {
                    panic!("injected failure in a booking pass");
                }
                let _ = ran.send(nth);
            }
        })
        .await
        .unwrap();
        scheduler.jobs.start().await.unwrap();
        // A few ticks at most: the deadline only bounds a failure.
        let next = tokio::time::timeout(TICK * 10, ran.recv()).await;
        assert!(
            matches!(next, Ok(Some(n)) if n >= 1),
            "no pass ran after the one that panicked: {next:?}"
        );
        tokio::time::timeout(TICK * 10, scheduler.stop())
            .await
            .expect("stop waits for no pass");
    }
}
