use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::event::{ActiveModel, Column, Entity, Model};

/// An event as the write transaction records it: `payload` without its secrets, which are
/// in `secrets`, sealed; `robots` the JSON list of robot webhooks it goes to.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Uuid,
    pub org_id: Uuid,
    pub domain_id: Uuid,
    pub domain_name: String,
    pub room_id: Option<Uuid>,
    pub room_name: Option<String>,
    pub seq: i64,
    pub kind: String,
    pub payload: String,
    pub secrets: Option<String>,
    pub robots: String,
    pub created_at: DateTime<Utc>,
}

impl From<NewEvent> for ActiveModel {
    fn from(e: NewEvent) -> Self {
        ActiveModel {
            id: Set(e.id),
            org_id: Set(e.org_id),
            domain_id: Set(e.domain_id),
            domain_name: Set(e.domain_name),
            room_id: Set(e.room_id),
            room_name: Set(e.room_name),
            seq: Set(e.seq),
            kind: Set(e.kind),
            payload: Set(e.payload),
            secrets: Set(e.secrets),
            robots: Set(e.robots),
            created_at: Set(e.created_at),
        }
    }
}

pub async fn insert(db: &impl ConnectionTrait, event: NewEvent) -> Result<Model, DbErr> {
    ActiveModel::from(event).insert(db).await
}

/// Many events in one statement.
pub async fn insert_many(db: &impl ConnectionTrait, rows: Vec<NewEvent>) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    Entity::insert_many(rows.into_iter().map(ActiveModel::from))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// Events created at or after `since`, oldest first, at most `limit`.
pub async fn since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::CreatedAt.gte(since))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// `roomCreated` events whose secrets were never sealed (written by an older build), by id
/// after `after`, at most `limit`.
pub async fn room_created_unsealed(
    db: &impl ConnectionTrait,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut q = Entity::find()
        .filter(Column::Kind.eq("roomCreated"))
        .filter(Column::Secrets.is_null());
    if let Some(after) = after {
        q = q.filter(Column::Id.gt(after));
    }
    q.order_by_asc(Column::Id).limit(limit).all(db).await
}

/// Replace an unsealed event's payload by one without secrets, and store them sealed.
pub async fn seal_payload(
    db: &impl ConnectionTrait,
    id: Uuid,
    payload: String,
    secrets: String,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Payload, Expr::value(payload))
        .col_expr(Column::Secrets, Expr::value(secrets))
        .filter(Column::Id.eq(id))
        .filter(Column::Secrets.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// SQLite keeps the bytes of a changed row in the page's free space, and in the WAL until a
/// checkpoint: overwrite freed content while `on` (on the transaction's connection).
pub async fn erase_freed_content(db: &impl ConnectionTrait, on: bool) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        let value = if on { "ON" } else { "OFF" };
        db.execute_unprepared(&format!("PRAGMA secure_delete = {value}"))
            .await?;
    }
    Ok(())
}

/// SQLite: copy the WAL into the database file and empty it.
pub async fn truncate_wal(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
    }
    Ok(())
}
