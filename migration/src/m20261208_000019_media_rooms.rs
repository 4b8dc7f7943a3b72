//! Media rooms on the Janus SFU: one per meetplane room that needed media, with the secret
//! (and, for webinars, the viewers' pin) meetplane created it with; and the Janus token of
//! each peer given one. Janus keeps rooms and tokens in memory only, so these rows are what
//! meetplane provisions again after a Janus restart, and what it removes from Janus when the
//! peer leaves or the room closes (a removal Janus missed is retried from them). No foreign
//! keys: a row outlives its room or peer until Janus has been told.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("media_rooms")
                .col(pk_uuid("room_id"))
                .col(text("janus_room"))
                .col(text("secret_sealed"))
                .col(text_null("pin_sealed"))
                .col(integer("publishers"))
                .col(integer("bitrate"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("media_peers")
                .col(pk_uuid("peer_id"))
                .col(uuid("room_id"))
                .col(text("token_sealed"))
                .col(boolean("publisher"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("media_peers_room")
                .table("media_peers")
                .col("room_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("media_peers").to_owned())
            .await?;
        m.drop_table(Table::drop().table("media_rooms").to_owned())
            .await
    }
}
