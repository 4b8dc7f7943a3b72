//! The audit log: who changed what, when and from where, paged and as CSV.
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
    hal::{HalPage, Paging},
    problem::ApiResult,
    security::ClientAuth,
};
use crate::{
    domain::audit::{self, AuditEntryView, AuditFilter},
    state::AppState,
};

pub struct AuditApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `client`, `admin`, `host` or `cli`.
    pub actor_type: String,
    /// The API client's or admin's id, or the host's peer id.
    pub actor_id: String,
    /// The API key, the admin's email or the host's name at the time.
    #[oai(nullable)]
    pub actor_name: Option<String>,
    /// e.g. `client.created`, `room.locked`, `booking.cancelled`, `admin.signed_in`.
    pub action: String,
    /// e.g. `client`, `room`, `booking`, `webhook`, `admin`.
    pub target_type: String,
    pub target_id: String,
    /// What changed, when there is more to say than the action.
    #[oai(nullable)]
    pub detail: Option<serde_json::Value>,
    /// Where the request came from.
    #[oai(nullable)]
    pub source_ip: Option<String>,
}

impl From<AuditEntryView> for AuditEntry {
    fn from(e: AuditEntryView) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            detail: e.detail,
            source_ip: e.source_ip,
        }
    }
}

#[derive(ApiResponse)]
pub enum AuditCsv {
    /// Entries as CSV, oldest first, with a header row.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(
        PlainText<String>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

#[OpenApi(tag = "Tag::Audit")]
impl AuditApi {
    /// List audit log entries, newest first
    #[oai(
        path = "/v1/orgs/:orgId/audit",
        method = "get",
        operation_id = "listAuditEntries"
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
        /// One action (`room.locked`), or every action under a prefix ending in `.` (`room.`).
        #[oai(validator(max_length = 64))]
        action: Query<Option<String>>,
    ) -> ApiResult<Json<HalPage<AuditEntry>>> {
        auth.principal().require_org(org_id.0)?;
        let paging = Paging::new(page.0, count.0);
        let carried = [
            ("from", from.0.map(|t| t.to_rfc3339())),
            ("to", to.0.map(|t| t.to_rfc3339())),
            ("action", action.0.clone()),
        ];
        let filter = AuditFilter {
            from: from.0,
            to: to.0,
            action: action.0.filter(|a| !a.trim().is_empty()),
        };
        let (rows, more) = audit::list(&state, org_id.0, filter, paging.window()).await?;
        Ok(Json(HalPage::new(
            rows.into_iter().map(AuditEntry::from).collect(),
            paging,
            &format!("/v1/orgs/{}/audit", org_id.0),
            &carried,
            more,
        )))
    }

    /// Export the audit log as CSV
    #[oai(
        path = "/v1/orgs/:orgId/audit.csv",
        method = "get",
        operation_id = "exportAuditCsv"
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
        /// One action, or every action under a prefix ending in `.`.
        #[oai(validator(max_length = 64))]
        action: Query<Option<String>>,
    ) -> ApiResult<AuditCsv> {
        auth.principal().require_org(org_id.0)?;
        let filter = AuditFilter {
            from: from.0,
            to: to.0,
            action: action.0.filter(|a| !a.trim().is_empty()),
        };
        let text = audit::csv(&state, org_id.0, filter).await?;
        Ok(AuditCsv::Csv(
            PlainText(text),
            "attachment; filename=\"audit.csv\"".into(),
        ))
    }
}
