//! Postgres LISTEN/NOTIFY: every node hears the id of every committed event (its own too),
//! loads it and hands it to its local bus, so realtime sockets on any node see changes made
//! on any other, and each node's delivery worker wakes for new work.
use std::{sync::Arc, time::Duration};

use sea_orm::{DbBackend, sqlx::postgres::PgListener};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Event, tx::CHANNEL};
use crate::{state::AppState, store};

/// `listening` is told once LISTEN is in place (at once on SQLite, which needs no listener),
/// so the node can wait for it before serving: an event committed earlier would not be heard.
pub async fn run(state: AppState, cancel: CancellationToken, listening: oneshot::Sender<()>) {
    let mut listening = Some(listening);
    if state.db.get_database_backend() != DbBackend::Postgres {
        let _ = listening.take().map(|tx| tx.send(()));
        return;
    }
    while !cancel.is_cancelled() {
        match listen(&state, &cancel, &mut listening).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

async fn listen(
    state: &AppState,
    cancel: &CancellationToken,
    listening: &mut Option<oneshot::Sender<()>>,
) -> anyhow::Result<()> {
    let mut listener = PgListener::connect_with(state.db.get_postgres_connection_pool()).await?;
    listener.listen(CHANNEL).await?;
    let _ = listening.take().map(|tx| tx.send(()));
    loop {
        let notification = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            n = listener.recv() => n?,
        };
        state.bus.wake_delivery();
        let Ok(id) = Uuid::parse_str(notification.payload()) else {
            continue;
        };
        match store::events::find(&state.db, id).await {
            Ok(Some(model)) => state.bus.publish(Arc::new(Event::from_model(model))),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, event = %id, "cannot load a notified event"),
        }
    }
}
