//! The queue of session links waiting to be opened on this node. Links that arrive while
//! earlier ones are being written wait and go in the next batch (see
//! [`super::session_joins`]). On a busy Postgres the round trips of a join, not its work,
//! limit the rate (twelve per link when each goes alone); a lone link is a batch of one and
//! waits for nothing.
use std::{panic::AssertUnwindSafe, sync::Mutex};

use futures_util::FutureExt;
use tokio::sync::oneshot;

use super::{session_joins::enter_together, sessions::Entered};
use crate::{
    error::{Error, Result},
    state::AppState,
};

/// At most this many links go in one transaction.
const MAX_BATCH: usize = 64;
/// Batches one node writes at the same time. One: its batches then never wait for each
/// other's row locks, and the benchmark's p99 was lower than with two (19 against 23 ms).
const MAX_WRITERS: usize = 1;

/// The links waiting to be opened on this node.
#[derive(Debug, Default)]
pub struct JoinQueue(Mutex<Queue>);

#[derive(Debug, Default)]
struct Queue {
    waiting: Vec<Waiting>,
    writers: usize,
}

#[derive(Debug)]
struct Waiting {
    token: String,
    reply: oneshot::Sender<Result<Entered>>,
}

impl JoinQueue {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // The lock only guards pushes and drains, which cannot panic half-way.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queue a link; true when the caller is to start a writer.
    fn push(&self, waiting: Waiting) -> bool {
        let mut queue = self.queue();
        queue.waiting.push(waiting);
        let start = queue.writers < MAX_WRITERS;
        if start {
            queue.writers += 1;
        }
        start
    }

    /// The next batch for a writer; `None` (and the writer stops) when no link waits.
    fn next_batch(&self) -> Option<Vec<Waiting>> {
        let mut queue = self.queue();
        if queue.waiting.is_empty() {
            queue.writers -= 1;
            return None;
        }
        let n = queue.waiting.len().min(MAX_BATCH);
        Some(queue.waiting.drain(..n).collect())
    }
}

/// Check a session link at join time and, when it holds, admit its bearer.
pub async fn enter(state: &AppState, token: &str) -> Result<Entered> {
    let (reply, answer) = oneshot::channel();
    let waiting = Waiting {
        token: token.to_string(),
        reply,
    };
    if state.joins.push(waiting) {
        // A task of its own, so that a caller going away does not stop the others' batch.
        let state = state.clone();
        tokio::spawn(async move {
            while let Some(batch) = state.joins.next_batch() {
                // A panic drops this batch's replies (its callers get an error), not the writer.
                let _ = AssertUnwindSafe(write(&state, batch)).catch_unwind().await;
            }
        });
    }
    answer
        .await
        .map_err(|_| Error::Internal(anyhow::anyhow!("the join was dropped unanswered")))?
}

async fn write(state: &AppState, batch: Vec<Waiting>) {
    let tokens: Vec<&str> = batch.iter().map(|w| w.token.as_str()).collect();
    state.metrics.join_batch(tokens.len());
    let results = enter_together(state, &tokens).await;
    for (waiting, result) in batch.into_iter().zip(results) {
        // The caller may have gone away; its join stands.
        let _ = waiting.reply.send(result);
    }
}
