//! The statements the server runs to open session links, written out in raw sqlx.
use chrono::Utc;
use meetplane::auth::random;
use sea_orm::sqlx::{self, Postgres, QueryBuilder, Row};
use uuid::Uuid;

/// What every raw join names.
pub struct Ids {
    pub api_key: String,
    pub client: Uuid,
    pub org: Uuid,
    pub domain: Uuid,
    pub subscription: Uuid,
}

/// The statements of a guest's join opened alone (a batch of one, as logged by sqlx), with
/// equivalent parameters, one transaction per join.
pub async fn join_alone(
    pool: &sqlx::PgPool,
    api_key: &str,
    org: Uuid,
    domain: Uuid,
    subscription: Uuid,
    sid: &str,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT * FROM api_clients WHERE api_key = $1 LIMIT 1")
        .bind(api_key)
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query("SELECT o.*, d.* FROM organisations o LEFT JOIN domains d ON d.org_id = o.id WHERE o.id = $1 AND d.is_default = $2 LIMIT 1")
        .bind(org).bind(true).fetch_optional(&mut *tx).await?;
    sqlx::query(
        "SELECT * FROM subscriptions WHERE org_id = $1 AND ref = $2 AND active = $3 LIMIT 1",
    )
    .bind(org)
    .bind("owner")
    .bind(true)
    .fetch_optional(&mut *tx)
    .await?;
    let hash = random::digest(sid);
    sqlx::query("SELECT COUNT(*) FROM link_revocations WHERE org_id = $1 AND (link_hash = $2 OR (session_id = $3) OR (subscription_id = $4))")
        .bind(org).bind(&hash).bind(sid).bind(subscription).fetch_one(&mut *tx).await?;
    let room: (Uuid, i64, i32) = sqlx::query_as("SELECT id, event_seq, present_count FROM rooms WHERE domain_id = $1 AND name = $2 AND removed_at IS NULL LIMIT 1 FOR UPDATE")
        .bind(domain).bind(sid).fetch_one(&mut *tx).await?;
    let peer = Uuid::new_v4();
    sqlx::query("INSERT INTO peers (id, room_id, peer_type, display_name, token_hash, joined_at, left_at, left_reason, link_hash) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7) RETURNING *")
        .bind(peer).bind(room.0).bind(2i16).bind("guest").bind(random::digest(&peer.to_string())).bind(now).bind(&hash)
        .fetch_one(&mut *tx).await?;
    sqlx::query("UPDATE rooms SET event_seq = $1, present_count = $2 WHERE id = $3")
        .bind(room.1 + 1)
        .bind(room.2 + 1)
        .bind(room.0)
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT * FROM webhooks WHERE domain_id = $1 AND status = $2 AND validated = $3 ORDER BY id").bind(domain).bind("active").bind(true).fetch_all(&mut *tx).await?;
    // (The NOTIFY comes from the trigger on events, as for the endpoint.)
    let event = Uuid::new_v4();
    sqlx::query("INSERT INTO events (id, org_id, domain_id, domain_name, room_id, room_name, seq, kind, payload, robots, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *")
        .bind(event).bind(org).bind(domain).bind("localhost").bind(room.0).bind(sid).bind(room.1 + 1).bind("clientAdded")
        .bind(r#"{"room":{"name":"x"},"client":{"id":"x","type":2,"displayName":"guest"}}"#).bind("[]").bind(now)
        .fetch_one(&mut *tx).await?;
    sqlx::query("INSERT INTO session_entries (id, org_id, client_id, session_id, room_id, subscription_id, peer_id, role, name, access_token_id, link_hash, entry_time) SELECT $1, $2, c.id, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM api_clients c WHERE c.api_key = $12 RETURNING *")
        .bind(Uuid::new_v4()).bind(org).bind(sid).bind(room.0).bind(subscription).bind(peer).bind("guest").bind("guest")
        .bind(format!("tok_{}", Uuid::new_v4().simple())).bind(&hash).bind(now).bind(api_key)
        .fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The statements of a batch of guest joins, one per room-sessions `sids`: one transaction,
/// one multi-row statement per table, as `domain::session_joins` writes them.
pub async fn joins_together(pool: &sqlx::PgPool, ids: &Ids, sids: &[String]) -> anyhow::Result<()> {
    let now = Utc::now();
    let hashes: Vec<String> = sids.iter().map(|s| random::digest(s)).collect();
    sqlx::query("SELECT * FROM api_clients WHERE api_key IN ($1)")
        .bind(&ids.api_key)
        .fetch_all(pool)
        .await?;
    sqlx::query("SELECT o.*, d.* FROM organisations o LEFT JOIN domains d ON d.org_id = o.id WHERE o.id IN ($1) AND d.is_default = $2")
        .bind(ids.org)
        .bind(true)
        .fetch_all(pool)
        .await?;
    let mut tx = pool.begin().await?;
    sqlx::query(
        "SELECT * FROM subscriptions WHERE (org_id = $1 AND ref = $2) AND active = $3 ORDER BY id",
    )
    .bind(ids.org)
    .bind("owner")
    .bind(true)
    .fetch_all(&mut *tx)
    .await?;
    let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM link_revocations WHERE org_id IN (");
    list(&mut q, [ids.org].into_iter());
    q.push(") AND (link_hash IN (");
    list(&mut q, hashes.iter().cloned());
    q.push(") OR 1 = 2 OR session_id IN (");
    list(&mut q, sids.iter().cloned());
    q.push(") OR subscription_id IN (");
    list(&mut q, [ids.subscription].into_iter());
    q.push("))");
    q.build().fetch_all(&mut *tx).await?;
    let mut q = QueryBuilder::<Postgres>::new("SELECT rooms.* FROM rooms INNER JOIN (VALUES ");
    for (i, sid) in sids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push("(")
            .push_bind(ids.domain)
            .push(", ")
            .push_bind(sid.as_str())
            .push(")");
    }
    q.push(") AS k ON rooms.domain_id = k.column1 AND rooms.name = k.column2 WHERE removed_at IS NULL ORDER BY id FOR UPDATE");
    let rooms: Vec<(Uuid, String, i64, i32)> = q
        .build()
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            (
                r.get("id"),
                r.get("name"),
                r.get("event_seq"),
                r.get("present_count"),
            )
        })
        .collect();
    sqlx::query("SELECT * FROM webhooks WHERE domain_id = $1 AND status = $2 AND validated = $3 AND kind <> $4 ORDER BY id")
        .bind(ids.domain)
        .bind("active")
        .bind(true)
        .bind("callback")
        .fetch_all(&mut *tx)
        .await?;
    // (peer, room, sid, link hash, the room's next seq and headcount)
    type Join<'a> = (Uuid, Uuid, &'a str, &'a str, i64, i32);
    let joins: Vec<Join<'_>> = sids
        .iter()
        .zip(&hashes)
        .filter_map(|(sid, hash)| {
            let room = rooms.iter().find(|r| &r.1 == sid)?;
            Some((
                Uuid::new_v4(),
                room.0,
                sid.as_str(),
                hash.as_str(),
                room.2 + 1,
                room.3 + 1,
            ))
        })
        .collect();
    let mut q = QueryBuilder::<Postgres>::new(
        "INSERT INTO peers (id, room_id, peer_type, display_name, token_hash, joined_at, left_at, left_reason, link_hash, site_user_id) ",
    );
    q.push_values(&joins, |mut row, (peer, room, _, hash, ..)| {
        row.push_bind(*peer)
            .push_bind(*room)
            .push_bind(2i16)
            .push_bind("guest")
            .push_bind(random::digest(&peer.to_string()))
            .push_bind(now)
            .push_bind(None::<chrono::DateTime<Utc>>)
            .push_bind(None::<String>)
            .push_bind(*hash)
            .push_bind(None::<String>);
    });
    q.build().execute(&mut *tx).await?;
    let mut q = QueryBuilder::<Postgres>::new(
        "INSERT INTO session_entries (id, org_id, client_id, session_id, room_id, subscription_id, peer_id, role, name, access_token_id, link_hash, entry_time) ",
    );
    q.push_values(&joins, |mut row, (peer, room, sid, hash, ..)| {
        row.push_bind(Uuid::new_v4())
            .push_bind(ids.org)
            .push_bind(ids.client)
            .push_bind(*sid)
            .push_bind(*room)
            .push_bind(ids.subscription)
            .push_bind(*peer)
            .push_bind("guest")
            .push_bind("guest")
            .push_bind(format!("tok_{}", Uuid::new_v4().simple()))
            .push_bind(*hash)
            .push_bind(now);
    });
    q.build().execute(&mut *tx).await?;
    let mut q = QueryBuilder::<Postgres>::new("UPDATE rooms SET event_seq = CASE");
    for (_, room, _, _, seq, _) in &joins {
        q.push(" WHEN id = ")
            .push_bind(*room)
            .push(" THEN ")
            .push_bind(*seq);
    }
    q.push(" ELSE event_seq END, present_count = CASE");
    for (_, room, _, _, _, present) in &joins {
        q.push(" WHEN id = ")
            .push_bind(*room)
            .push(" THEN ")
            .push_bind(*present);
    }
    q.push(" ELSE present_count END WHERE id IN (");
    list(&mut q, joins.iter().map(|j| j.1));
    q.push(")");
    q.build().execute(&mut *tx).await?;
    // (The NOTIFY comes from the trigger on events, as for the endpoint.)
    let mut q = QueryBuilder::<Postgres>::new(
        "INSERT INTO events (id, org_id, domain_id, domain_name, room_id, room_name, seq, kind, payload, robots, created_at) ",
    );
    q.push_values(&joins, |mut row, (_, room, sid, _, seq, _)| {
        row.push_bind(Uuid::new_v4())
            .push_bind(ids.org)
            .push_bind(ids.domain)
            .push_bind("localhost")
            .push_bind(*room)
            .push_bind(*sid)
            .push_bind(*seq)
            .push_bind("clientAdded")
            .push_bind(
                r#"{"room":{"name":"x"},"client":{"id":"x","type":2,"displayName":"guest"}}"#,
            )
            .push_bind("[]")
            .push_bind(now);
    });
    q.build().execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

fn list<T>(q: &mut QueryBuilder<Postgres>, values: impl Iterator<Item = T>)
where
    T: for<'t> sqlx::Encode<'t, Postgres> + sqlx::Type<Postgres>,
{
    let mut separated = q.separated(", ");
    for v in values {
        separated.push_bind(v);
    }
}
