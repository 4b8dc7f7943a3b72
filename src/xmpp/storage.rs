//! The bridge's database work, in a task of its own so that the XMPP loop never waits for the
//! database (a ping answered late looks like a dead connection): it reads the bindings and
//! their pending messages for the loop, and writes what the loop hands it, in order.
use std::{collections::VecDeque, sync::Arc, time::Duration};

use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use xmpp_parsers::jid::BareJid;

use crate::{
    domain::chat_bridge,
    error::{Error, Result},
    state::AppState,
    store,
};

/// How often bindings and pending messages are read without a wake-up (bindings made on other
/// nodes).
const READ_EVERY: Duration = Duration::from_secs(1);
/// Pending messages read per room at a time.
const PAGE: u64 = 200;
/// Longest wait for the last writes when a term ends.
const LAST_WRITES: Duration = Duration::from_secs(5);

/// What the loop hands over to be written.
#[derive(Debug)]
pub(super) enum Write {
    /// The MUC has the message.
    Sent(i64),
    /// Given up on, and why.
    Failed(i64, String),
    /// Someone said something in a MUC.
    Heard {
        room: String,
        nick: String,
        body: String,
    },
}

/// A bound MUC and its pending messages, as the database had them.
#[derive(Debug)]
pub(super) struct Bound {
    pub(super) jid: BareJid,
    pub(super) room_id: Uuid,
    /// Id and MUC text, oldest first.
    pub(super) pending: Vec<(i64, String)>,
    /// `pending` holds all of the room's pending messages.
    pub(super) complete: bool,
}

pub(super) type Snapshot = Arc<Vec<Bound>>;

/// Run until `term` ends (then write what is left): reads on a wake-up, on `read_now` and
/// every `READ_EVERY`, published through `out`; `writes` written as they come.
pub(super) async fn run(
    state: AppState,
    term: CancellationToken,
    mut writes: mpsc::UnboundedReceiver<Write>,
    read_now: Arc<Notify>,
    out: watch::Sender<Snapshot>,
) {
    let wake = state.bus.bridge_wake();
    let mut tick = tokio::time::interval(READ_EVERY);
    let mut backlog = VecDeque::new();
    loop {
        let read = tokio::select! {
            _ = term.cancelled() => break,
            write = writes.recv() => match write {
                Some(w) => {
                    backlog.push_back(w);
                    false
                }
                None => break,
            },
            _ = wake.notified() => true,
            _ = read_now.notified() => true,
            _ = tick.tick() => true,
        };
        while let Ok(w) = writes.try_recv() {
            backlog.push_back(w);
        }
        let pass = async {
            write_all(&state, &mut backlog).await;
            if read {
                match read_bound(&state).await {
                    Ok(bound) => {
                        out.send_replace(Arc::new(bound));
                    }
                    Err(e) => state.bridge.error(
                        state.now(),
                        format!("cannot read chat bindings or pending messages: {e}"),
                    ),
                }
            }
        };
        // The session has no other storage: a panic must not end this task.
        crate::background::guarded("an xmpp bridge storage pass", pass).await;
    }
    while let Ok(w) = writes.try_recv() {
        backlog.push_back(w);
    }
    let _ = tokio::time::timeout(LAST_WRITES, write_all(&state, &mut backlog)).await;
}

async fn read_bound(state: &AppState) -> Result<Vec<Bound>> {
    let mut bound = Vec::new();
    for b in store::chat::all_bindings(&state.db).await? {
        let Ok(jid) = BareJid::new(&b.jid) else {
            continue;
        };
        let rows = store::chat::pending_page(&state.db, b.room_id, PAGE).await?;
        bound.push(Bound {
            jid,
            room_id: b.room_id,
            complete: (rows.len() as u64) < PAGE,
            pending: rows
                .into_iter()
                .map(|m| (m.id, chat_bridge::muc_text(&m.display_name, &m.text)))
                .collect(),
        });
    }
    Ok(bound)
}

/// Write the backlog in order; what fails for want of the database stays for the next round.
async fn write_all(state: &AppState, backlog: &mut VecDeque<Write>) {
    while !backlog.is_empty() {
        // Consecutive `Sent`s go in one statement.
        let sent: Vec<i64> = backlog
            .iter()
            .map_while(|w| match w {
                Write::Sent(id) => Some(*id),
                _ => None,
            })
            .collect();
        let result = if sent.is_empty() {
            write_one(state, &backlog[0]).await
        } else {
            store::chat::mark_sent(&state.writer, &sent)
                .await
                .map_err(Error::from)
        };
        match result {
            Err(Error::Database(e)) => {
                state
                    .bridge
                    .error(state.now(), format!("cannot write chat messages: {e}"));
                return;
            }
            Err(e) => tracing::warn!(error = %e, "xmpp bridge: not written"),
            Ok(()) => {}
        }
        backlog.drain(..sent.len().max(1));
    }
}

async fn write_one(state: &AppState, write: &Write) -> Result<()> {
    match write {
        Write::Sent(id) => store::chat::mark_sent(&state.writer, &[*id]).await?,
        Write::Failed(id, why) => {
            tracing::warn!(message = id, why, "xmpp bridge gave up on a message");
            store::chat::mark_failed(&state.writer, *id, why).await?
        }
        Write::Heard { room, nick, body } => {
            chat_bridge::from_xmpp(state, room, nick, body).await?;
        }
    }
    Ok(())
}
