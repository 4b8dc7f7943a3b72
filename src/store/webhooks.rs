use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    Window,
    entities::webhook::{ActiveModel, Column, Entity, Model, WebhookStatus},
};

/// Chat-bridge callbacks live in this table for their deliveries, but are not webhooks.
const CALLBACK: &str = "callback";

/// A webhook (or a chat-bridge callback) to add, active from the start; `events` is the
/// JSON list of the event names it wants (`None`: all).
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub org_id: Uuid,
    pub domain_id: Uuid,
    pub room_name: Option<String>,
    pub kind: String,
    pub url: Option<String>,
    pub robot_id: Option<i64>,
    pub events: Option<String>,
    pub validated: bool,
    pub secret_sealed: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, hook: NewWebhook) -> Result<Model, DbErr> {
    ActiveModel {
        org_id: Set(hook.org_id),
        domain_id: Set(hook.domain_id),
        room_name: Set(hook.room_name),
        kind: Set(hook.kind),
        url: Set(hook.url),
        robot_id: Set(hook.robot_id),
        events: Set(hook.events),
        validated: Set(hook.validated),
        status: Set(WebhookStatus::Active),
        disabled_reason: Set(None),
        disabled_at: Set(None),
        failing_since: Set(None),
        created_at: Set(hook.created_at),
        updated_at: Set(hook.created_at),
        secret_sealed: Set(hook.secret_sealed),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Store the outcome of a validation handshake: a validated webhook is also active again,
/// with its failures forgotten.
pub async fn set_validated(
    db: &impl ConnectionTrait,
    hook: Model,
    validated: bool,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut active: ActiveModel = hook.into();
    active.validated = Set(validated);
    if validated {
        active.status = Set(WebhookStatus::Active);
        active.disabled_reason = Set(None);
        active.disabled_at = Set(None);
        active.failing_since = Set(None);
    }
    active.updated_at = Set(now);
    active.update(db).await
}

pub async fn find_in_org(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    id: i64,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id)
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::Kind.ne(CALLBACK))
        .one(db)
        .await
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Active webhooks of a domain (url webhooks only once validated).
pub async fn active_for_domain(
    db: &impl ConnectionTrait,
    domain_id: Uuid,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::DomainId.eq(domain_id))
        .filter(Column::Status.eq(WebhookStatus::Active))
        .filter(Column::Validated.eq(true))
        .filter(Column::Kind.ne(CALLBACK))
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub domain_id: Option<Uuid>,
    /// Substring of the URL or room name.
    pub token: Option<String>,
    pub validated: Option<bool>,
}

pub async fn list(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    filter: Filter,
    window: Window,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::Kind.ne(CALLBACK));
    if let Some(domain_id) = filter.domain_id {
        query = query.filter(Column::DomainId.eq(domain_id));
    }
    if let Some(validated) = filter.validated {
        query = query.filter(Column::Validated.eq(validated));
    }
    if let Some(token) = filter.token {
        query = query.filter(
            Condition::any()
                .add(Column::Url.contains(&token))
                .add(Column::RoomName.contains(&token)),
        );
    }
    query
        .order_by_asc(Column::Id)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(db)
        .await
}

/// Record a failure time (kept from the first failure of a streak).
pub async fn mark_failing(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::FailingSince, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::FailingSince.is_null())
        .exec(db)
        .await?;
    Ok(())
}

pub async fn clear_failing(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(
            Column::FailingSince,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Id.eq(id))
        .filter(Column::FailingSince.is_not_null())
        .exec(db)
        .await?;
    Ok(())
}

pub async fn disable(
    db: &impl ConnectionTrait,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(
            Column::Status,
            Expr::value(WebhookStatus::Disabled.as_str()),
        )
        .col_expr(Column::DisabledReason, Expr::value(reason))
        .col_expr(Column::DisabledAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(WebhookStatus::Active))
        .exec(db)
        .await?;
    Ok(())
}
