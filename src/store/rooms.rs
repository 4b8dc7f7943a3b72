use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Select, Statement,
    sea_query::{Expr, LockBehavior, LockType},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    Window,
    entities::{
        domain,
        room::{ActiveModel, Column, Entity, Model, Relation},
    },
    key_pairs,
};

/// A live room about to open, its secrets sealed already; counters start at zero.
#[derive(Debug, Clone)]
pub struct NewRoom {
    pub id: Uuid,
    pub domain_id: Uuid,
    pub name: String,
    pub room_type: i16,
    pub is_locked: bool,
    pub password_sealed: Option<String>,
    pub host_key_sealed: Option<String>,
    pub capacity: i32,
    /// `room`, or `session` for a session link's room.
    pub kind: String,
    pub lobby: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, room: NewRoom) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(room.id),
        domain_id: Set(room.domain_id),
        name: Set(room.name),
        room_type: Set(room.room_type),
        is_locked: Set(room.is_locked),
        password_sealed: Set(room.password_sealed),
        host_key_sealed: Set(room.host_key_sealed),
        capacity: Set(room.capacity),
        created_at: Set(room.created_at),
        updated_at: Set(room.created_at),
        removed_at: Set(None),
        event_seq: Set(0),
        kind: Set(room.kind),
        present_count: Set(0),
        lobby: Set(room.lobby),
    }
    .insert(db)
    .await
}

/// Settings of a room to change; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct RoomSettings {
    pub is_locked: Option<bool>,
    /// The sealed password, `Some(None)` to remove it.
    pub password_sealed: Option<Option<String>>,
    pub host_key_sealed: Option<String>,
    pub capacity: Option<i32>,
}

/// Change the room's settings, and its `updated_at` to `now`.
pub async fn update_settings(
    db: &impl ConnectionTrait,
    room: Model,
    changes: RoomSettings,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut active: ActiveModel = room.into();
    if let Some(locked) = changes.is_locked {
        active.is_locked = Set(locked);
    }
    if let Some(sealed) = changes.password_sealed {
        active.password_sealed = Set(sealed);
    }
    if let Some(sealed) = changes.host_key_sealed {
        active.host_key_sealed = Set(Some(sealed));
    }
    if let Some(capacity) = changes.capacity {
        active.capacity = Set(capacity);
    }
    active.updated_at = Set(now);
    active.update(db).await
}

/// The live room of that name in the domain. With `for_update`, the row is locked until the
/// transaction ends (Postgres; SQLite transactions are serialised already), so changes to
/// one room's peers happen one after another.
pub async fn find_live(
    db: &impl ConnectionTrait,
    domain_id: Uuid,
    name: &str,
    for_update: bool,
) -> Result<Option<Model>, DbErr> {
    let mut query = Entity::find()
        .filter(Column::DomainId.eq(domain_id))
        .filter(Column::Name.eq(name))
        .filter(Column::RemovedAt.is_null());
    if for_update {
        query = query.lock_exclusive();
    }
    query.one(db).await
}

/// [`find_live`] with its lock, for a caller that opens the room when it is missing: then the
/// name is claimed (see [`claim_names`]) and looked up again, so that two transactions opening
/// the same room at once take turns and the second finds the first's room instead of failing
/// on the live-name index. Holding one claim while waiting for the room's lock cannot
/// deadlock: whoever holds that lock found the room, so does not claim its name.
pub async fn lock_live_or_claim(
    db: &impl ConnectionTrait,
    domain_id: Uuid,
    name: &str,
) -> Result<Option<Model>, DbErr> {
    if let Some(room) = find_live(db, domain_id, name, true).await? {
        return Ok(Some(room));
    }
    if claim_names(db, &[(domain_id, name)]).await? {
        return find_live(db, domain_id, name, true).await;
    }
    Ok(None)
}

/// The live rooms with these `(domain, name)` keys, locked until the transaction ends like
/// [`find_live`]'s; in id order, so that two batches lock them in the same order.
pub async fn lock_live_many(
    db: &impl ConnectionTrait,
    keys: &[(Uuid, &str)],
) -> Result<Vec<Model>, DbErr> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    live_many(keys).lock_exclusive().all(db).await
}

/// [`lock_live_many`] without waiting: a room that another transaction has locked fails the
/// statement at once (Postgres's `lock_not_available`, which ends the transaction). For a
/// batch that holds name claims: waiting there could close a cycle with a transaction that
/// locked one of these rooms and now waits for one of those claims, which Postgres would only
/// break after `deadlock_timeout`.
pub async fn lock_live_many_or_fail(
    db: &impl ConnectionTrait,
    keys: &[(Uuid, &str)],
) -> Result<Vec<Model>, DbErr> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    live_many(keys)
        .lock_with_behavior(LockType::Update, LockBehavior::Nowait)
        .all(db)
        .await
}

/// Advisory-lock class of room-name claims (Postgres's two-key form; the one-key form, which
/// the chat bridge's leader lock uses, is a key space of its own).
pub const NAME_CLAIMS: i32 = 0x6d70_726e;

/// On Postgres, waits until no other transaction holds a claim on one of these `(domain,
/// name)` keys, then holds them all until this transaction ends: two transactions about to
/// open rooms of the same names take turns, and the second, looking again once the first
/// committed, finds its rooms instead of failing on the live-name index (or deadlocking,
/// when each inserted one of the names first). Claims are taken in one order (by key) so
/// that claiming itself cannot deadlock. A key is a 32-bit digest of the name: two names
/// may share one, which only makes their openings take turns too. SQLite runs one writer
/// at a time already; there it claims nothing and answers `false`.
pub async fn claim_names(db: &impl ConnectionTrait, keys: &[(Uuid, &str)]) -> Result<bool, DbErr> {
    if keys.is_empty() || db.get_database_backend() != DbBackend::Postgres {
        return Ok(false);
    }
    let mut claims: Vec<i32> = keys.iter().map(|(d, n)| name_claim(*d, n)).collect();
    claims.sort_unstable();
    claims.dedup();
    // One statement per claim: the order of the waits is then certain, whatever a plan does.
    for claim in claims {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, $2)",
            [NAME_CLAIMS.into(), claim.into()],
        ))
        .await?;
    }
    Ok(true)
}

/// The same on every node and every version: the first four bytes of SHA-256 over the
/// domain's id and the name.
pub fn name_claim(domain_id: Uuid, name: &str) -> i32 {
    let digest = Sha256::new()
        .chain_update(domain_id.as_bytes())
        .chain_update(name.as_bytes())
        .finalize();
    i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The query of [`lock_live_many`] without its lock (public so that a test can read its plan).
pub fn live_many(keys: &[(Uuid, &str)]) -> Select<Entity> {
    key_pairs::matching(
        Entity::find(),
        Column::DomainId,
        Column::Name,
        keys.iter().copied(),
    )
    .filter(Column::RemovedAt.is_null())
    .order_by_asc(Column::Id)
}

/// Live rooms of an org (optionally one domain), with their domain names, by domain and name.
pub async fn list_live_for_org(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    domain_id: Option<Uuid>,
    window: Window,
) -> Result<Vec<(Model, String)>, DbErr> {
    let mut query = Entity::find()
        .join(JoinType::InnerJoin, Relation::Domain.def())
        .filter(domain::Column::OrgId.eq(org_id))
        .filter(Column::RemovedAt.is_null());
    if let Some(domain_id) = domain_id {
        query = query.filter(Column::DomainId.eq(domain_id));
    }
    let rows = query
        .select_also(domain::Entity)
        .order_by_asc(domain::Column::Name)
        .order_by_asc(Column::Name)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(room, domain)| domain.map(|d| (room, d.name)))
        .collect())
}

pub async fn mark_removed(
    db: &impl ConnectionTrait,
    room: Model,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut active: ActiveModel = room.into();
    active.removed_at = sea_orm::ActiveValue::Set(Some(now));
    active.updated_at = sea_orm::ActiveValue::Set(now);
    active.update(db).await
}

/// Store the room's event sequence number and headcount (one statement per event).
pub async fn set_counters(db: &impl ConnectionTrait, room: &Model) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(
            Column::EventSeq,
            sea_orm::sea_query::Expr::value(room.event_seq),
        )
        .col_expr(
            Column::PresentCount,
            sea_orm::sea_query::Expr::value(room.present_count),
        )
        .filter(Column::Id.eq(room.id))
        .exec(db)
        .await?;
    Ok(())
}

/// [`set_counters`] for several rooms in one statement.
pub async fn set_counters_many(db: &impl ConnectionTrait, rooms: &[&Model]) -> Result<(), DbErr> {
    let Some((first, rest)) = rooms.split_first() else {
        return Ok(());
    };
    let when = |room: &Model| Column::Id.eq(room.id);
    let (seq, present) = rest.iter().fold(
        (
            Expr::case(when(first), first.event_seq),
            Expr::case(when(first), first.present_count),
        ),
        |(seq, present), room| {
            (
                seq.case(when(room), room.event_seq),
                present.case(when(room), room.present_count),
            )
        },
    );
    Entity::update_many()
        .col_expr(
            Column::EventSeq,
            seq.finally(Expr::col(Column::EventSeq)).into(),
        )
        .col_expr(
            Column::PresentCount,
            present.finally(Expr::col(Column::PresentCount)).into(),
        )
        .filter(Column::Id.is_in(rooms.iter().map(|r| r.id)))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// The live room with this id, locked like [`find_live`] with `for_update`.
pub async fn lock_live_by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id)
        .filter(Column::RemovedAt.is_null())
        .lock_exclusive()
        .one(db)
        .await
}
