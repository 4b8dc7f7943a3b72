//! Presence that follows connections, and a lobby. A peer has a `state` (`waiting` in the
//! lobby, `admitted`, `connected`, `away`), when it last connected, and `seat_until`: the time
//! its seat (or knock) lapses unless a connection holds it. `peer_connections` lists the live
//! realtime sockets of each peer by node, so a node that dies leaves rows a sweeper can see as
//! dead (its heartbeat in `delivery_nodes` stops). Organisations choose whether guests of
//! session links wait to be let in (`guest_lobby`, on by default); a room may make its
//! room-link joins knock too (`lobby`). A session entry records a knock turned away or given
//! up (`outcome`).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn add(m: &SchemaManager<'_>, table: &str, column: ColumnDef) -> Result<(), DbErr> {
    // SQLite alters one column per statement.
    m.alter_table(
        Table::alter()
            .table(Alias::new(table))
            .add_column(column)
            .to_owned(),
    )
    .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Peers present before presence was tracked stay as they were: admitted, no deadline.
        add(
            m,
            "peers",
            string_len("state", 16).default("admitted").to_owned(),
        )
        .await?;
        add(m, "peers", timestamp_with_time_zone_null("connected_at")).await?;
        add(m, "peers", timestamp_with_time_zone_null("seat_until")).await?;
        add(
            m,
            "organisations",
            boolean("guest_lobby").default(true).to_owned(),
        )
        .await?;
        add(m, "rooms", boolean("lobby").default(false).to_owned()).await?;
        // A session entry whose knock was turned away or given up says so.
        add(m, "session_entries", string_len_null("outcome", 16)).await?;
        m.create_table(
            Table::create()
                .table("peer_connections")
                .col(pk_uuid("id"))
                .col(uuid("peer_id"))
                .col(uuid("node_id"))
                .col(timestamp_with_time_zone("opened_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("peer_connections", "peer_id")
                        .to("peers", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("peer_connections_peer")
                .table("peer_connections")
                .col("peer_id")
                .to_owned(),
        )
        .await?;
        // The sweeper looks for lapsed seats among present peers.
        m.create_index(
            Index::create()
                .name("peers_seat_until")
                .table("peers")
                .col("seat_until")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("peers_seat_until")
                .table("peers")
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table("peer_connections").to_owned())
            .await?;
        for (table, column) in [
            ("session_entries", "outcome"),
            ("rooms", "lobby"),
            ("organisations", "guest_lobby"),
            ("peers", "seat_until"),
            ("peers", "connected_at"),
            ("peers", "state"),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .drop_column(Alias::new(column))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
