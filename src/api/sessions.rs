//! Session entries (Coviu): the attendance ledger, one session, CSV export.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::{Json, PlainText},
};
use uuid::Uuid;

use super::{
    Tag,
    hal::{Hal, HalPage, Paging, links},
    problem::ApiResult,
    rooms::Peer,
    security::ClientAuth,
};
use crate::{
    domain::sessions::{self, EntryFilter, EntryView},
    state::AppState,
};

pub struct SessionsApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct SessionEntry {
    /// The entrant's name (`un`).
    pub name: String,
    /// The id of the peer token issued (never the token).
    pub access_token: String,
    pub client_id: Uuid,
    pub session_id: String,
    pub org_id: Uuid,
    /// Epoch milliseconds.
    pub entry_time: i64,
    pub entry_id: Uuid,
    pub subscription_id: Uuid,
    /// `owner` or `guest`.
    pub role: String,
    pub peer_id: Uuid,
    /// `denied` (a host turned the knock away) or `withdrawn` (the guest gave up waiting);
    /// absent when the entry got in or still waits.
    #[oai(skip_serializing_if_is_none)]
    pub outcome: Option<String>,
}

impl From<EntryView> for SessionEntry {
    fn from(e: EntryView) -> Self {
        Self {
            name: e.name,
            access_token: e.access_token,
            client_id: e.client_id,
            session_id: e.session_id,
            org_id: e.org_id,
            entry_time: e.entry_time.timestamp_millis(),
            entry_id: e.entry_id,
            subscription_id: e.subscription_id,
            role: e.role,
            peer_id: e.peer_id,
            outcome: e.outcome,
        }
    }
}

pub(super) fn entry_resource(e: EntryView) -> Hal<SessionEntry> {
    let org = format!("/v1/orgs/{}", e.org_id);
    let l = links([
        ("org", org.clone()),
        ("self", format!("{org}/sessions/{}", e.session_id)),
        ("client", format!("{org}/clients/{}", e.client_id)),
        (
            "subscription",
            format!("{org}/subscriptions/{}", e.subscription_id),
        ),
    ]);
    Hal::new(e.into(), l)
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Session {
    pub session_id: String,
    /// `domain/name` of the session's room.
    pub room: String,
    /// Whether the session's room is open.
    pub live: bool,
    /// Peers in the session now.
    pub peers: Vec<Peer>,
    /// Entries, newest first.
    pub entries: Vec<SessionEntry>,
}

#[derive(ApiResponse)]
pub enum CsvExport {
    /// Entries as CSV, oldest first, with a header row.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(
        PlainText<String>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

/// The list's filters, as query parameters (also carried by the paging links).
struct Filters {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    session_id: Option<String>,
    role: Option<String>,
    name: Option<String>,
}

async fn list_entries(
    state: &AppState,
    auth: ClientAuth,
    org_id: Uuid,
    (page, count): (Option<u64>, Option<u64>),
    f: Filters,
    path: &str,
) -> ApiResult<Json<HalPage<Hal<SessionEntry>>>> {
    auth.principal().require_org(org_id)?;
    let paging = Paging::new(page, count);
    let carried = [
        ("from", f.from.map(|t| t.to_rfc3339())),
        ("to", f.to.map(|t| t.to_rfc3339())),
        ("sessionId", f.session_id.clone()),
        ("role", f.role.clone()),
        ("name", f.name.clone()),
    ];
    let filter = EntryFilter {
        from: f.from,
        to: f.to,
        session_id: f.session_id,
        role: f.role,
        name: f.name.filter(|n| !n.trim().is_empty()),
        subscription_id: None,
    };
    let (views, more) = sessions::entries(state, org_id, filter, paging.window()).await?;
    Ok(Json(HalPage::new(
        views.into_iter().map(entry_resource).collect(),
        paging,
        &format!("/v1/orgs/{org_id}/{path}"),
        &carried,
        more,
    )))
}

#[OpenApi(tag = "Tag::Sessions")]
impl SessionsApi {
    /// List session entries, newest first
    #[oai(
        path = "/v1/orgs/:orgId/sessions",
        method = "get",
        operation_id = "listSessionEntries"
    )]
    #[allow(clippy::too_many_arguments)] // one per extractor
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
        /// Entries at or after this time (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Entries before this time (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Only this session's entries.
        #[oai(name = "sessionId", validator(max_length = 256))]
        session_id: Query<Option<String>>,
        /// `owner` or `guest`.
        role: Query<Option<String>>,
        /// Entrants whose name contains this text (any case).
        #[oai(validator(max_length = 256))]
        name: Query<Option<String>>,
    ) -> ApiResult<Json<HalPage<Hal<SessionEntry>>>> {
        let filters = Filters {
            from: from.0,
            to: to.0,
            session_id: session_id.0,
            role: role.0,
            name: name.0,
        };
        list_entries(
            &state,
            auth,
            org_id.0,
            (page.0, count.0),
            filters,
            "sessions",
        )
        .await
    }

    /// List session entries (the path of the Coviu documentation)
    #[oai(
        path = "/v1/orgs/:orgId/session",
        method = "get",
        operation_id = "listSessionEntriesCoviuPath"
    )]
    #[allow(clippy::too_many_arguments)] // one per extractor
    async fn list_alias(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
        /// Entries at or after this time (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Entries before this time (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Only this session's entries.
        #[oai(name = "sessionId", validator(max_length = 256))]
        session_id: Query<Option<String>>,
        /// `owner` or `guest`.
        role: Query<Option<String>>,
        /// Entrants whose name contains this text (any case).
        #[oai(validator(max_length = 256))]
        name: Query<Option<String>>,
    ) -> ApiResult<Json<HalPage<Hal<SessionEntry>>>> {
        let filters = Filters {
            from: from.0,
            to: to.0,
            session_id: session_id.0,
            role: role.0,
            name: name.0,
        };
        list_entries(
            &state,
            auth,
            org_id.0,
            (page.0, count.0),
            filters,
            "session",
        )
        .await
    }

    /// One session: its entries and the peers in it now
    #[oai(
        path = "/v1/orgs/:orgId/sessions/:sessionId",
        method = "get",
        operation_id = "getSessionEntry"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(name = "sessionId")] session_id: Path<String>,
    ) -> ApiResult<Json<Hal<Session>>> {
        auth.principal().require_org(org_id.0)?;
        let s = sessions::session(&state, org_id.0, &session_id.0).await?;
        let org = format!("/v1/orgs/{}", org_id.0);
        let l = links([
            ("self", format!("{org}/sessions/{}", s.session_id)),
            ("org", org.clone()),
            ("room", format!("{org}/rooms/{}", s.room)),
        ]);
        Ok(Json(Hal::new(
            Session {
                session_id: s.session_id,
                room: s.room,
                live: s.live,
                peers: s.peers.into_iter().map(Peer::from).collect(),
                entries: s.entries.into_iter().map(SessionEntry::from).collect(),
            },
            l,
        )))
    }

    /// Export session entries as CSV (the attendance ledger)
    #[oai(
        path = "/v1/orgs/:orgId/session-entries.csv",
        method = "get",
        operation_id = "exportSessionEntriesCsv"
    )]
    async fn csv(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        /// Entries at or after this time.
        from: Query<Option<DateTime<Utc>>>,
        /// Entries before this time.
        to: Query<Option<DateTime<Utc>>>,
    ) -> ApiResult<CsvExport> {
        auth.principal().require_org(org_id.0)?;
        let text = sessions::csv(&state, org_id.0, from.0, to.0).await?;
        Ok(CsvExport::Csv(
            PlainText(text),
            "attachment; filename=\"session-entries.csv\"".into(),
        ))
    }
}
