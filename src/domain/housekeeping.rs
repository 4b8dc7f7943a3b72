//! Pruning what is no longer needed: spent or expired refresh tokens, and the replay cache of
//! revoked clients (a revoked client's signatures are refused anyway), chat-bridge checksums
//! past their time window, and stale dashboard sessions, and answers kept for Idempotency-Keys
//! past their day.
use chrono::TimeDelta;

use crate::{error::Result, state::AppState, store};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub refresh_tokens: u64,
    pub salts: u64,
    /// Chat-bridge checksums that can no longer be valid.
    pub checksums: u64,
    /// Expired dashboard sessions and sign-in failures older than a day.
    pub admin_sessions: u64,
    /// Idempotency-Keys older than a day.
    pub idempotency_keys: u64,
}

pub async fn run_once(state: &AppState) -> Result<Pruned> {
    state.limits.forget_idle();
    let now = state.now();
    // Spent tokens are kept a day so that a late replay is still recognised as reuse.
    let refresh_tokens =
        store::tokens::prune_refresh(&state.writer, now, now - TimeDelta::days(1)).await?;
    let salts = store::salts::prune_revoked_clients(&state.writer).await?;
    let checksums = store::checksums::prune(
        &state.db,
        now - super::chat_bridge_auth::remembered_for(state),
    )
    .await?;
    let admin_sessions = store::admins::purge(&state.db, now - TimeDelta::days(1)).await?;
    let idempotency_keys =
        store::idempotency::purge(&state.db, now - super::idempotency::KEPT_FOR).await?;
    if refresh_tokens + salts + checksums + admin_sessions + idempotency_keys > 0 {
        tracing::info!(
            refresh_tokens,
            salts,
            checksums,
            admin_sessions,
            idempotency_keys,
            "housekeeping pruned"
        );
    }
    Ok(Pruned {
        refresh_tokens,
        salts,
        checksums,
        admin_sessions,
        idempotency_keys,
    })
}
