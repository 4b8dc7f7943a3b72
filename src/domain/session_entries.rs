//! Reading session entries: the org's attendance ledger, one session, and CSV export.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{room_model::PeerView, sessions::EntryView};
use crate::{
    error::{Error, Result},
    state::AppState,
    store::{self, Window},
};

pub use store::session_entries::EntryFilter;

pub async fn entries(
    state: &AppState,
    org_id: Uuid,
    filter: EntryFilter,
    window: Window,
) -> Result<(Vec<EntryView>, bool)> {
    check_range(filter.from, filter.to)?;
    if let Some(role) = &filter.role
        && role != "owner"
        && role != "guest"
    {
        return Err(Error::invalid("role", "must be owner or guest"));
    }
    let rows = store::session_entries::list(&state.db, org_id, filter, Some(window)).await?;
    let (rows, more) = window.split(rows);
    Ok((rows.into_iter().map(Into::into).collect(), more))
}

/// The entries of one subscription's sessions (owner and guests alike), newest first.
pub async fn of_subscription(
    state: &AppState,
    org_id: Uuid,
    subscription_id: Uuid,
    window: Window,
) -> Result<(Vec<EntryView>, bool)> {
    store::subscriptions::find_in_org(&state.db, org_id, subscription_id)
        .await?
        .ok_or(Error::not_found("subscription"))?;
    let filter = EntryFilter {
        subscription_id: Some(subscription_id),
        ..Default::default()
    };
    entries(state, org_id, filter, window).await
}

fn check_range(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<()> {
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(Error::invalid("to", "must be after from"));
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct SessionView {
    pub session_id: String,
    /// `domain/name` of its room.
    pub room: String,
    pub live: bool,
    pub entries: Vec<EntryView>,
    pub peers: Vec<PeerView>,
}

pub async fn session(state: &AppState, org_id: Uuid, sid: &str) -> Result<SessionView> {
    let rows = store::session_entries::for_session(&state.db, org_id, sid).await?;
    let Some(latest) = rows.first() else {
        return Err(Error::not_found("session"));
    };
    let room_id = latest.room_id;
    let room = store::rooms::find_by_id(&state.db, room_id).await?;
    let domain = match &room {
        Some(r) => store::domains::find_by_id(&state.db, r.domain_id).await?,
        None => None,
    };
    let peers = store::peers::active_in_rooms(&state.db, &[room_id]).await?;
    Ok(SessionView {
        session_id: sid.to_string(),
        room: match (&domain, &room) {
            (Some(d), Some(r)) => format!("{}/{}", d.name, r.name),
            _ => String::new(),
        },
        live: room.is_some_and(|r| r.removed_at.is_none()),
        entries: rows.into_iter().map(Into::into).collect(),
        peers: peers.into_iter().map(Into::into).collect(),
    })
}

/// Entries in `[from, to)`, oldest first, as CSV with a header row.
pub async fn csv(
    state: &AppState,
    org_id: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<String> {
    check_range(from, to)?;
    let filter = EntryFilter {
        from,
        to,
        ..Default::default()
    };
    let mut rows = store::session_entries::list(&state.db, org_id, filter, None).await?;
    rows.reverse();
    let header = [
        "entryTime",
        "entryId",
        "sessionId",
        "role",
        "name",
        "peerId",
        "subscriptionId",
        "clientId",
        "accessToken",
    ];
    let rows = rows.into_iter().map(|e| {
        [
            e.entry_time.to_rfc3339(),
            e.id.to_string(),
            e.session_id,
            e.role,
            e.name,
            e.peer_id.to_string(),
            e.subscription_id.to_string(),
            e.client_id.to_string(),
            e.access_token_id,
        ]
    });
    super::csv_export::table(&header, rows)
}
