//! Chat-bridge hardening: the chat-bridge checksums already used, so that a request is not
//! accepted twice while its checksum is still within the time window.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("seen_checksums")
                // SHA-256 of the checksum as sent (lowercase hex).
                .col(string("digest").primary_key())
                .col(timestamp_with_time_zone("seen_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_seen_checksums_seen_at")
                .table("seen_checksums")
                .col("seen_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("seen_checksums").to_owned())
            .await
    }
}
