//! Delivery workers say they are alive: each node beats its row in `delivery_nodes` every
//! second, and a delivery's lease names the node holding it (`lease_owner`). A lease whose
//! node stopped beating is free at once, so a killed node's in-flight deliveries are taken
//! over within seconds instead of when their lease runs out.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("delivery_nodes")
                .col(pk_uuid("id"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone("heartbeat_at"))
                .to_owned(),
        )
        .await?;
        // Leases taken before this migration have no owner: they last until they run out.
        m.alter_table(
            Table::alter()
                .table("deliveries")
                .add_column(uuid_null("lease_owner"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("deliveries")
                .drop_column("lease_owner")
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table("delivery_nodes").to_owned())
            .await
    }
}
