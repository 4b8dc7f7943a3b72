//! Events recorded by a build that did not seal secrets carry a room's password and host key
//! in clear in `payload`. The server seals them at start-up, since a migration has no master
//! key; then it notes that this is done, so later starts skip the scan.
use serde_json::Value;

use crate::{error::Result, state::AppState, store};

/// The server setting that says every event's secrets are sealed.
const DONE: &str = "events.secrets_sealed";
const BATCH: u64 = 500;

/// Seal the secrets of events written unsealed; returns how many were sealed.
pub async fn seal_clear_secrets(state: &AppState) -> Result<u64> {
    if store::settings::get(&state.db, DONE).await?.is_some() {
        return Ok(0);
    }
    let mut sealed = 0;
    let mut after = None;
    loop {
        let rows = store::events::room_created_unsealed(&state.db, after, BATCH).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        let txn = store::connect::begin_write(&state.writer).await?;
        store::events::erase_freed_content(&txn, true).await?;
        for row in rows {
            let payload: Value = serde_json::from_str(&row.payload).unwrap_or(Value::Null);
            let (stored, secrets) = super::seal_secrets(row.id, &payload, &state.sealer);
            if let Some(secrets) = secrets {
                store::events::seal_payload(&txn, row.id, stored, secrets).await?;
                sealed += 1;
            }
        }
        store::events::erase_freed_content(&txn, false).await?;
        txn.commit().await?;
    }
    if sealed > 0 {
        store::events::truncate_wal(&state.db).await?;
        tracing::info!(
            sealed,
            "sealed the secrets of events recorded by an older version"
        );
    }
    store::settings::get_or_insert(&state.db, DONE, state.now().to_rfc3339(), state.now()).await?;
    Ok(sealed)
}
