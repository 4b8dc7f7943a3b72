//! The queue of session links waiting to be opened on this node. Links that arrive while
//! earlier ones are being written wait and go in the next batch (see
//! [`crate::domain::session_joins`]). On a busy Postgres the round trips of a join, not its work,
//! limit the rate (twelve per link when each goes alone); a lone link is a batch of one and
//! waits for nothing. While a batch commits, the writer already takes the links that arrived
//! and runs their checks that need no transaction, so the next transaction begins as soon as
//! the last one is answered.
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tokio::sync::oneshot;

use crate::{
    batch_queue::{BatchQueue, Waiting},
    domain::{
        link_signatures::{Signed, check_signatures},
        session_joins::enter_signed,
        sessions::Entered,
    },
    error::{Error, Result},
    state::AppState,
};

/// At most this many links go in one transaction.
const MAX_BATCH: usize = 64;
/// Batches one node writes at the same time. One: its batches then never wait for each
/// other's row locks, and the benchmark's p99 was lower than with two (19 against 23 ms).
const MAX_WRITERS: usize = 1;

/// The links waiting to be opened on this node.
#[derive(Debug)]
pub struct JoinQueue(BatchQueue<String, Result<Entered>>);

impl Default for JoinQueue {
    fn default() -> Self {
        Self(BatchQueue::new(MAX_BATCH, MAX_WRITERS))
    }
}

type Link = Waiting<String, Result<Entered>>;

/// A batch taken from the queue, with its checks before the transaction done.
type Checked = (Vec<Link>, Result<Signed>);

/// Check a session link at join time and, when it holds, admit its bearer.
pub async fn enter(state: &AppState, token: &str) -> Result<Entered> {
    let (reply, answer) = oneshot::channel();
    if state.joins.0.push(token.to_string(), reply) {
        // A task of its own, so that a caller going away does not stop the others' batch.
        let state = state.clone();
        tokio::spawn(async move {
            let mut ready: Option<Checked> = None;
            loop {
                let taken = ready.take();
                let step = async {
                    let (batch, signed) = match taken {
                        Some(checked) => checked,
                        None => {
                            let batch = state.joins.0.next_batch()?;
                            let signed = check(&state, &batch).await;
                            (batch, signed)
                        }
                    };
                    Some(write(&state, batch, signed).await)
                };
                // A panic drops this batch's replies (its callers get an error), not the writer.
                match AssertUnwindSafe(step).catch_unwind().await {
                    Ok(None) => break,
                    Ok(Some(next)) => ready = next,
                    Err(_) => {}
                }
            }
        });
    }
    answer
        .await
        .map_err(|_| Error::Internal(anyhow::anyhow!("the join was dropped unanswered")))?
}

async fn check(state: &AppState, batch: &[Link]) -> Result<Signed> {
    let tokens: Vec<&str> = batch.iter().map(|w| w.job.as_str()).collect();
    check_signatures(state, &tokens).await
}

/// Writes one batch. While its transaction commits, the writer takes the links that arrived
/// meanwhile and runs their checks that need no transaction (two reads), so that the next
/// transaction can begin as soon as this one is answered; it returns them.
async fn write(state: &AppState, batch: Vec<Link>, signed: Result<Signed>) -> Option<Checked> {
    let tokens: Vec<&str> = batch.iter().map(|w| w.job.as_str()).collect();
    state.metrics.join_batch(tokens.len());
    let meanwhile = async {
        let next = state.joins.0.waiting_now()?;
        let signed = check(state, &next).await;
        Some((next, signed))
    };
    let (results, next) = enter_signed(state, &tokens, signed, meanwhile).await;
    for (waiting, result) in batch.into_iter().zip(results) {
        // The caller may have gone away; its join stands.
        let _ = waiting.reply.send(result);
    }
    next.flatten()
}
