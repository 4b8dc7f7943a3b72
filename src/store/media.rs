//! Queries of browser media: which peers are present (to relay a signal between them, and to
//! size a room's mesh), and the Postgres NOTIFY that carries a signal to every node.
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, Statement, TransactionTrait,
};
use uuid::Uuid;

use super::entities::peer::{Column, Entity, Model, PeerState};

/// The peers among `ids` that are still present (not left).
pub async fn present_peers(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::LeftAt.is_null())
        .all(db)
        .await
}

/// How many peers are present in the room.
pub async fn present_count(db: &impl ConnectionTrait, room_id: Uuid) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::RoomId.eq(room_id))
        .filter(Column::LeftAt.is_null())
        // A knock holds no place in the meeting.
        .filter(Column::State.ne(PeerState::Waiting.as_str()))
        .count(db)
        .await
}

/// Notify `channel` with each payload, in one transaction: Postgres delivers a transaction's
/// notifications together and in order, or (if it rolls back) not at all.
pub async fn notify_all(
    db: &DatabaseConnection,
    channel: &str,
    payloads: Vec<String>,
) -> Result<(), DbErr> {
    let tx = db.begin().await?;
    for payload in payloads {
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [channel.into(), payload.into()],
        ))
        .await?;
    }
    tx.commit().await
}
