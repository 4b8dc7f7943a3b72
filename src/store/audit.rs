//! The audit log: inserts and reads only.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use uuid::Uuid;

use super::{
    Window,
    entities::audit_entry::{ActiveModel, Column, Entity, Model},
};

/// An entry to append; its id is the table's next. `detail` is JSON.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub org_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: String,
    pub actor_name: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub detail: Option<String>,
    pub source_ip: Option<String>,
}

pub async fn insert(db: &impl ConnectionTrait, e: NewAuditEntry) -> Result<Model, DbErr> {
    ActiveModel {
        id: NotSet,
        org_id: Set(e.org_id),
        at: Set(e.at),
        actor_type: Set(e.actor_type),
        actor_id: Set(e.actor_id),
        actor_name: Set(e.actor_name),
        action: Set(e.action),
        target_type: Set(e.target_type),
        target_id: Set(e.target_id),
        detail: Set(e.detail),
        source_ip: Set(e.source_ip),
    }
    .insert(db)
    .await
}

/// Which entries to list: within `[from, to)`, and of one action (`room.locked`) or of every
/// action under a prefix ending in `.` (`room.`).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub action: Option<String>,
}

/// The org's entries, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    filter: &AuditFilter,
    window: Option<Window>,
) -> Result<Vec<Model>, DbErr> {
    let mut q = Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .apply_if(filter.from, |q, t| q.filter(Column::At.gte(t)))
        .apply_if(filter.to, |q, t| q.filter(Column::At.lt(t)))
        .apply_if(filter.action.as_deref(), |q, a| match a.strip_suffix('.') {
            Some(prefix) => q.filter(Column::Action.starts_with(format!("{prefix}."))),
            None => q.filter(Column::Action.eq(a)),
        })
        .order_by_desc(Column::Id);
    if let Some(w) = window {
        q = q.offset(w.offset).limit(w.limit + 1);
    }
    q.all(db).await
}
