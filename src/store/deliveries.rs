use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
    sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, Query},
};

use super::{
    Window,
    connect::begin_write,
    entities::{
        delivery::{ActiveModel, Column, Entity, Model, Relation},
        event, webhook,
    },
};
use crate::domain::deliveries::PENDING;

pub async fn insert_many(db: &impl ConnectionTrait, rows: Vec<ActiveModel>) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// Claim up to `limit` due deliveries for one worker until `lease_until`.
///
/// A delivery is due when it is pending, its next attempt has come, nobody holds a live
/// lease on it, its webhook is active, and no earlier pending delivery exists for the same
/// webhook and room (so a room's events reach a webhook in order, also across retries). On
/// Postgres the rows are locked `FOR UPDATE SKIP LOCKED`, so concurrent workers on several
/// nodes never claim the same delivery; on SQLite the write transaction serialises claims.
pub async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<(Model, webhook::Model, event::Model)>, DbErr> {
    let earlier = Alias::new("earlier");
    let table = Alias::new("deliveries");
    let blocked_by_earlier = Query::select()
        .expr(Expr::val(1))
        .from_as(Entity, earlier.clone())
        .and_where(
            Expr::col((earlier.clone(), Column::WebhookId))
                .equals((table.clone(), Column::WebhookId)),
        )
        .and_where(
            Expr::col((earlier.clone(), Column::OrderKey))
                .equals((table.clone(), Column::OrderKey)),
        )
        .and_where(Expr::col((earlier.clone(), Column::Status)).eq(PENDING))
        .and_where(
            Expr::col((earlier.clone(), Column::Id)).lt(Expr::col((table.clone(), Column::Id))),
        )
        .to_owned();
    let txn = begin_write(db).await?;
    let mut select = Entity::find()
        .join(JoinType::InnerJoin, Relation::Webhook.def())
        .filter(Column::Status.eq(PENDING))
        .filter(Column::NextAttemptAt.lte(now))
        .filter(
            sea_orm::Condition::any()
                .add(Column::LeaseUntil.is_null())
                .add(Column::LeaseUntil.lt(now)),
        )
        .filter(webhook::Column::Status.eq(webhook::WebhookStatus::Active))
        .filter(Expr::not_exists(blocked_by_earlier))
        .order_by_asc(Column::Id)
        .limit(limit);
    QueryTrait::query(&mut select).lock_with_tables_behavior(
        LockType::Update,
        [table],
        LockBehavior::SkipLocked,
    );
    let rows = select.all(&txn).await?;
    if rows.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(lease_until))
        .filter(Column::Id.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    let hook_ids: Vec<i64> = rows.iter().map(|d| d.webhook_id).collect();
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::Id.is_in(hook_ids))
        .all(&txn)
        .await?;
    let event_ids: Vec<uuid::Uuid> = rows.iter().map(|d| d.event_id).collect();
    let events = event::Entity::find()
        .filter(event::Column::Id.is_in(event_ids))
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|d| {
            let hook = hooks.iter().find(|h| h.id == d.webhook_id)?.clone();
            let event = events.iter().find(|e| e.id == d.event_id)?.clone();
            Some((d, hook, event))
        })
        .collect())
}

pub async fn update(db: &impl ConnectionTrait, row: ActiveModel) -> Result<Model, DbErr> {
    row.update(db).await
}

pub async fn find_for_webhook(
    db: &impl ConnectionTrait,
    webhook_id: i64,
    id: i64,
) -> Result<Option<(Model, Option<event::Model>)>, DbErr> {
    Entity::find_by_id(id)
        .filter(Column::WebhookId.eq(webhook_id))
        .find_also_related(event::Entity)
        .one(db)
        .await
}

/// A webhook's deliveries, newest first.
pub async fn list_for_webhook(
    db: &impl ConnectionTrait,
    webhook_id: i64,
    status: Option<&str>,
    window: Window,
) -> Result<Vec<(Model, Option<event::Model>)>, DbErr> {
    let mut query = Entity::find().filter(Column::WebhookId.eq(webhook_id));
    if let Some(status) = status {
        query = query.filter(Column::Status.eq(status));
    }
    query
        .find_also_related(event::Entity)
        .order_by_desc(Column::Id)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(db)
        .await
}

/// Put finished deliveries of a webhook created in `[since, until)` back in the queue.
pub async fn requeue_range(
    db: &impl ConnectionTrait,
    webhook_id: i64,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = requeue_query(now)
        .filter(Column::WebhookId.eq(webhook_id))
        .filter(Column::CreatedAt.gte(since))
        .filter(Column::CreatedAt.lt(until))
        .filter(Column::Status.ne(PENDING))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

pub async fn requeue_one(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = requeue_query(now)
        .filter(Column::Id.eq(id))
        .filter(Column::Status.ne(PENDING))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

fn requeue_query(now: DateTime<Utc>) -> sea_orm::UpdateMany<Entity> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(PENDING))
        .col_expr(Column::Attempts, Expr::value(0))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(
            Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
}

/// Deliveries still to be made (the outbox depth).
pub async fn pending_count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::Status.eq(PENDING))
        .count(db)
        .await
}
