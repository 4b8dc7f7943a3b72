//! Chat-bridge hardening: why a message could not be sent to its XMPP room (it is then
//! `failed` and the others go on), and the chat-bridge checksums already used, so that a
//! request is not accepted twice while its checksum is still within the time window.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("chat_messages")
                .add_column(text_null("xmpp_error"))
                .to_owned(),
        )
        .await?;
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
            .await?;
        m.alter_table(
            Table::alter()
                .table("chat_messages")
                .drop_column("xmpp_error")
                .to_owned(),
        )
        .await
    }
}
