//! Group commit: requests of one kind that arrive while earlier ones are being written wait
//! and go into the next transaction together. On a busy database the round trips and the
//! commit of a write, not its work, limit the rate (and writes to one room wait for its row
//! lock one after the other); a batch pays them once. A lone request is a batch of one and
//! waits for nothing. Each request still gets its own answer (see the users: `join_queue`,
//! `chat_queue`).
use std::sync::Mutex;

use tokio::sync::oneshot;

/// A request waiting for its batch, with where its answer goes.
#[derive(Debug)]
pub struct Waiting<J, R> {
    pub job: J,
    pub reply: oneshot::Sender<R>,
}

/// The requests of one kind waiting on this node.
#[derive(Debug)]
pub struct BatchQueue<J, R> {
    inner: Mutex<Queue<J, R>>,
    max_batch: usize,
    max_writers: usize,
}

#[derive(Debug)]
struct Queue<J, R> {
    waiting: Vec<Waiting<J, R>>,
    writers: usize,
}

impl<J, R> BatchQueue<J, R> {
    /// At most `max_batch` requests per transaction, `max_writers` transactions at a time.
    pub const fn new(max_batch: usize, max_writers: usize) -> Self {
        Self {
            inner: Mutex::new(Queue {
                waiting: Vec::new(),
                writers: 0,
            }),
            max_batch,
            max_writers,
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue<J, R>> {
        // The lock only guards pushes and drains, which cannot panic half-way.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queue a request; true when the caller is to start a writer (which then takes batches
    /// with [`Self::next_batch`] until it gets `None`).
    pub fn push(&self, job: J, reply: oneshot::Sender<R>) -> bool {
        let mut queue = self.queue();
        queue.waiting.push(Waiting { job, reply });
        let start = queue.writers < self.max_writers;
        if start {
            queue.writers += 1;
        }
        start
    }

    /// The next batch for a writer; `None` (and the writer stops) when nothing waits.
    pub fn next_batch(&self) -> Option<Vec<Waiting<J, R>>> {
        let mut queue = self.queue();
        if queue.waiting.is_empty() {
            queue.writers -= 1;
            return None;
        }
        Some(self.take(&mut queue))
    }

    /// The requests waiting now, for a writer that goes on either way.
    pub fn waiting_now(&self) -> Option<Vec<Waiting<J, R>>> {
        let mut queue = self.queue();
        (!queue.waiting.is_empty()).then(|| self.take(&mut queue))
    }

    fn take(&self, queue: &mut Queue<J, R>) -> Vec<Waiting<J, R>> {
        let n = queue.waiting.len().min(self.max_batch);
        queue.waiting.drain(..n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_takes_what_waits_in_batches_and_stops_when_nothing_does() {
        let q: BatchQueue<u32, ()> = BatchQueue::new(2, 1);
        let (tx, _rx) = oneshot::channel();
        assert!(q.push(1, tx), "the first request starts a writer");
        for n in 2..=3 {
            let (tx, _rx) = oneshot::channel();
            assert!(!q.push(n, tx), "a writer runs already");
        }
        let jobs = |b: Vec<Waiting<u32, ()>>| b.into_iter().map(|w| w.job).collect::<Vec<_>>();
        assert_eq!(jobs(q.next_batch().unwrap()), [1, 2]);
        assert_eq!(jobs(q.next_batch().unwrap()), [3]);
        assert!(q.next_batch().is_none());
        let (tx, _rx) = oneshot::channel();
        assert!(
            q.push(4, tx),
            "the writer stopped: the next request starts one"
        );
    }
}
