//! What every background loop shares: one pass at a time, and a pass that panics is logged
//! and ends as a failed pass, so the loop around it keeps running. Without this a panic ends
//! the loop's task silently (tokio catches it), and the node stops doing that work.
use std::{
    future::Future,
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use futures_util::FutureExt;

/// Run one pass; `None` when it panicked (logged with `what`).
pub async fn guarded<T>(what: &'static str, pass: impl Future<Output = T>) -> Option<T> {
    match AssertUnwindSafe(pass).catch_unwind().await {
        Ok(value) => Some(value),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %message, "{what} panicked; the next pass runs as usual");
            None
        }
    }
}

/// Passes that must not overlap: a pass started while one runs is skipped. `busy` is reset
/// when the pass ends however it ends (returns, panics or is dropped), so neither the next
/// pass nor a shutdown waiting for `idle` hangs on a pass that died.
#[derive(Clone, Default)]
pub struct OneAtATime {
    busy: Arc<AtomicBool>,
}

impl OneAtATime {
    /// Run `pass` unless one is running; `None` when skipped or when it panicked.
    pub async fn run<T>(&self, what: &'static str, pass: impl Future<Output = T>) -> Option<T> {
        if self.busy.swap(true, Ordering::AcqRel) {
            return None;
        }
        let _idle = Idle(&self.busy);
        guarded(what, pass).await
    }

    /// No pass is running.
    pub fn idle(&self) -> bool {
        !self.busy.load(Ordering::Acquire)
    }
}

struct Idle<'a>(&'a AtomicBool);

impl Drop for Idle<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_pass_is_reported_and_leaves_the_next_one_free_to_run() {
        let passes = OneAtATime::default();
        let panicked = passes
            .run("test pass", async { panic!("injected failure") })
            .await;
        assert_eq!(panicked, None::<()>);
        assert!(passes.idle());
        assert_eq!(passes.run("test pass", async { 7 }).await, Some(7));
    }

    #[tokio::test]
    async fn a_pass_started_while_one_runs_is_skipped() {
        let passes = OneAtATime::default();
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let (finish, finish_rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn({
            let passes = passes.clone();
            async move {
                passes
                    .run("first", async move {
                        let _ = started_tx.send(());
                        let _ = finish_rx.await;
                        1
                    })
                    .await
            }
        });
        started.await.unwrap();
        assert_eq!(passes.run("second", async { 2 }).await, None);
        finish.send(()).unwrap();
        assert_eq!(running.await.unwrap(), Some(1));
        assert!(passes.idle());
    }

    #[tokio::test]
    async fn a_dropped_pass_does_not_stay_busy() {
        let passes = OneAtATime::default();
        // Polled once (it starts and marks the passes busy), then dropped unfinished.
        let started = passes
            .run("dropped", std::future::pending::<()>())
            .now_or_never();
        assert_eq!(started, None);
        assert!(passes.idle());
    }
}
