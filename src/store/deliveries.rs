use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
    sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, Query},
};
use uuid::Uuid;

use super::{
    Window,
    connect::begin_write,
    entities::{
        delivery::{ActiveModel, Column, DeliveryStatus, Entity, Model, Relation},
        delivery_node, event, webhook,
    },
};

/// A delivery of an event to one webhook, due at once.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub webhook_id: i64,
    pub event_id: Uuid,
    /// Deliveries of one key reach a webhook in order (`domain/room`, or the domain).
    pub order_key: String,
    pub created_at: DateTime<Utc>,
}

impl From<NewDelivery> for ActiveModel {
    fn from(d: NewDelivery) -> Self {
        ActiveModel {
            message_id: Set(format!("msg_{}", Uuid::new_v4().simple())),
            webhook_id: Set(d.webhook_id),
            event_id: Set(d.event_id),
            order_key: Set(d.order_key),
            status: Set(DeliveryStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(d.created_at),
            lease_until: Set(None),
            lease_owner: Set(None),
            last_attempt_at: Set(None),
            last_status_code: Set(None),
            last_latency_ms: Set(None),
            last_error: Set(None),
            delivered_at: Set(None),
            created_at: Set(d.created_at),
            ..Default::default()
        }
    }
}

/// Many deliveries in one statement.
pub async fn insert_many(db: &impl ConnectionTrait, rows: Vec<NewDelivery>) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    Entity::insert_many(rows.into_iter().map(ActiveModel::from))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Who claims deliveries, when, and how many.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    /// The claiming node (`delivery_nodes.id`), named as the owner of its leases.
    pub node: Uuid,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    /// Nodes that have not beaten since this are dead: their leases are free.
    pub alive_since: DateTime<Utc>,
    /// Deliveries claimed at most.
    pub limit: u64,
    /// Leases one webhook may hold at once (its deliveries in flight).
    pub per_webhook: u64,
}

/// The delivery row of `table` is leased by a holder that may still be attempting it: the
/// lease has not run out, and it is this node's, an unnamed one (taken before nodes beat), or
/// a node's that beat lately. NULL when the row has no lease; `free` handles that.
fn leased(table: &Alias, c: &Claim) -> Condition {
    let node_alive = Query::select()
        .expr(Expr::val(1))
        .from(delivery_node::Entity)
        .and_where(
            Expr::col((delivery_node::Entity, delivery_node::Column::Id))
                .equals((table.clone(), Column::LeaseOwner)),
        )
        .and_where(
            Expr::col((delivery_node::Entity, delivery_node::Column::HeartbeatAt))
                .gte(c.alive_since),
        )
        .to_owned();
    let owner = Expr::col((table.clone(), Column::LeaseOwner));
    Condition::all()
        .add(Expr::col((table.clone(), Column::LeaseUntil)).gte(c.now))
        .add(
            Condition::any()
                .add(owner.clone().is_null())
                .add(owner.eq(c.node))
                .add(Expr::exists(node_alive)),
        )
}

fn free(table: &Alias, c: &Claim) -> Condition {
    Condition::any()
        .add(Expr::col((table.clone(), Column::LeaseUntil)).is_null())
        .add(leased(table, c).not())
}

/// Claim up to `limit` due deliveries for node `c.node` until `c.lease_until`.
///
/// A delivery is due when it is pending, its next attempt has come, nobody alive holds a
/// lease on it, its webhook is active and holds fewer than `per_webhook` leases (so a
/// receiver that hangs holds a few of the node's slots, not all), and no earlier pending
/// delivery exists for the same webhook and room (so a room's events reach a webhook in
/// order, also across retries and take-overs). On Postgres the rows are locked `FOR UPDATE
/// SKIP LOCKED`, so concurrent workers on several nodes never claim the same delivery; on
/// SQLite the write transaction serialises claims. Nodes claiming at the same instant may
/// each fill a webhook's allowance, so across nodes it may be exceeded briefly.
pub async fn claim(
    db: &DatabaseConnection,
    c: &Claim,
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
        .and_where(Expr::col((earlier.clone(), Column::Status)).eq(DeliveryStatus::Pending))
        .and_where(
            Expr::col((earlier.clone(), Column::Id)).lt(Expr::col((table.clone(), Column::Id))),
        )
        .to_owned();
    let in_flight = Alias::new("in_flight");
    let held_by_webhook = Query::select()
        .expr(Expr::col((in_flight.clone(), Column::Id)).count())
        .from_as(Entity, in_flight.clone())
        .and_where(
            Expr::col((in_flight.clone(), Column::WebhookId))
                .equals((table.clone(), Column::WebhookId)),
        )
        .and_where(Expr::col((in_flight.clone(), Column::Status)).eq(DeliveryStatus::Pending))
        .cond_where(leased(&in_flight, c))
        .to_owned();
    let txn = begin_write(db).await?;
    let mut select = Entity::find()
        .join(JoinType::InnerJoin, Relation::Webhook.def())
        .filter(Column::Status.eq(DeliveryStatus::Pending))
        .filter(Column::NextAttemptAt.lte(c.now))
        .filter(free(&table, c))
        .filter(webhook::Column::Status.eq(webhook::WebhookStatus::Active))
        .filter(Expr::not_exists(blocked_by_earlier))
        .filter(Expr::from(held_by_webhook).lt(c.per_webhook))
        .order_by_asc(Column::Id)
        .limit(c.limit);
    QueryTrait::query(&mut select).lock_with_tables_behavior(
        LockType::Update,
        [table.clone()],
        LockBehavior::SkipLocked,
    );
    let candidates = select.all(&txn).await?;
    let rows = within_allowance(&txn, c, candidates).await?;
    if rows.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(c.lease_until))
        .col_expr(Column::LeaseOwner, Expr::value(c.node))
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
        .filter_map(|mut d| {
            let hook = hooks.iter().find(|h| h.id == d.webhook_id)?.clone();
            let event = events.iter().find(|e| e.id == d.event_id)?.clone();
            d.lease_until = Some(c.lease_until);
            d.lease_owner = Some(c.node);
            Some((d, hook, event))
        })
        .collect())
}

/// The candidates (oldest first) that fit their webhook's allowance: the query let in only
/// webhooks under it, but one claim may hold many candidates of one webhook.
async fn within_allowance(
    db: &impl ConnectionTrait,
    c: &Claim,
    candidates: Vec<Model>,
) -> Result<Vec<Model>, DbErr> {
    if candidates.is_empty() {
        return Ok(candidates);
    }
    let hooks: Vec<i64> = candidates.iter().map(|d| d.webhook_id).collect();
    let table = Alias::new("deliveries");
    let held: Vec<(i64, i64)> = Entity::find()
        .select_only()
        .column(Column::WebhookId)
        .column_as(Column::Id.count(), "held")
        .filter(Column::WebhookId.is_in(hooks))
        .filter(Column::Status.eq(DeliveryStatus::Pending))
        .filter(leased(&table, c))
        .group_by(Column::WebhookId)
        .into_tuple()
        .all(db)
        .await?;
    let mut held: HashMap<i64, u64> = held
        .into_iter()
        .map(|(hook, n)| (hook, u64::try_from(n).unwrap_or(0)))
        .collect();
    Ok(candidates
        .into_iter()
        .filter(|d| {
            let n = held.entry(d.webhook_id).or_default();
            *n += 1;
            *n <= c.per_webhook
        })
        .collect())
}

/// The result of an attempt, for `record`.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub latency_ms: u32,
    pub error: Option<String>,
    pub delivered: bool,
}

/// Store an attempt of delivery `d`, but only while `d`'s lease (as claimed) still stands:
/// if the lease ran out, or its node was taken for dead, and another worker took the
/// delivery over, that worker's result stands.
pub async fn record(db: &impl ConnectionTrait, d: &Model, a: &Attempt) -> Result<(), DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::Status, Expr::value(a.status.as_str()))
        .col_expr(Column::Attempts, Expr::value(a.attempts))
        .col_expr(Column::NextAttemptAt, Expr::value(a.next_attempt_at))
        .col_expr(
            Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
        .col_expr(Column::LastAttemptAt, Expr::value(a.at))
        .col_expr(
            Column::LastStatusCode,
            Expr::value(a.status_code.map(i32::from)),
        )
        .col_expr(
            Column::LastLatencyMs,
            Expr::value(i32::try_from(a.latency_ms).unwrap_or(i32::MAX)),
        )
        .col_expr(Column::LastError, Expr::value(a.error.clone()))
        .col_expr(
            Column::DeliveredAt,
            Expr::value(a.delivered.then_some(a.at)),
        )
        .filter(Column::Id.eq(d.id));
    update = match d.lease_until {
        Some(lease) => update.filter(Column::LeaseUntil.eq(lease)),
        None => update.filter(Column::LeaseUntil.is_null()),
    };
    update = match d.lease_owner {
        Some(owner) => update.filter(Column::LeaseOwner.eq(owner)),
        None => update.filter(Column::LeaseOwner.is_null()),
    };
    update.exec(db).await?;
    Ok(())
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
    status: Option<DeliveryStatus>,
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
        .filter(Column::Status.ne(DeliveryStatus::Pending))
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
        .filter(Column::Status.ne(DeliveryStatus::Pending))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

fn requeue_query(now: DateTime<Utc>) -> sea_orm::UpdateMany<Entity> {
    Entity::update_many()
        .col_expr(
            Column::Status,
            Expr::value(DeliveryStatus::Pending.as_str()),
        )
        .col_expr(Column::Attempts, Expr::value(0))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(
            Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
}

/// Deliveries still to be made (the outbox depth).
pub async fn pending_count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::Status.eq(DeliveryStatus::Pending))
        .count(db)
        .await
}
