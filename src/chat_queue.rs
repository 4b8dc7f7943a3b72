//! The chat messages waiting to be written on this node: room messages of the native API and
//! the chat bridge's `sendChatMessage`. Messages that arrive while a batch is being written go
//! into the next one together (`crate::batch_queue`), so many senders in one room no longer
//! wait for its row lock one commit at a time; each still gets its own answer
//! (`domain::chat_batches`).
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tokio::sync::oneshot;

use crate::{
    batch_queue::{BatchQueue, Waiting},
    domain::{
        chat::MessageView,
        chat_batches::{self, Post},
    },
    error::{Error, Result},
    state::AppState,
};

/// At most this many messages go in one transaction.
const MAX_BATCH: usize = 64;
/// One writer per node: its batches never wait for each other's room locks.
const MAX_WRITERS: usize = 1;

#[derive(Debug)]
pub struct ChatQueue(BatchQueue<Post, Result<MessageView>>);

impl Default for ChatQueue {
    fn default() -> Self {
        Self(BatchQueue::new(MAX_BATCH, MAX_WRITERS))
    }
}

/// Write a checked message; answered once its transaction committed.
pub async fn post(state: &AppState, post: Post) -> Result<MessageView> {
    let (reply, answer) = oneshot::channel();
    if state.chat_posts.0.push(post, reply) {
        // A task of its own, so that a caller going away does not stop the others' batch.
        let state = state.clone();
        tokio::spawn(async move {
            while let Some(batch) = state.chat_posts.0.next_batch() {
                // A panic drops this batch's replies (its callers get an error), not the writer.
                let _ = AssertUnwindSafe(write(&state, batch)).catch_unwind().await;
            }
        });
    }
    answer
        .await
        .map_err(|_| Error::Internal(anyhow::anyhow!("the message was dropped unanswered")))?
}

async fn write(state: &AppState, batch: Vec<Waiting<Post, Result<MessageView>>>) {
    state.metrics.chat_batch(batch.len());
    let (posts, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|w| (w.job, w.reply)).unzip();
    let results = chat_batches::post_all(state, posts).await;
    for (reply, result) in replies.into_iter().zip(results) {
        // The caller may have gone away; its message stands.
        let _ = reply.send(result);
    }
}
