//! Room chat, and bindings of rooms to XMPP multi-user chats (the chat bridge).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("chat_messages")
                .col(big_pk_auto("id"))
                .col(uuid("org_id"))
                .col(uuid("room_id"))
                // `peer`, `client` (an API client naming a display name) or `xmpp`.
                .col(string("sender_kind"))
                .col(uuid_null("peer_id"))
                .col(string("display_name"))
                .col(text("text"))
                // For bridged rooms: `pending` until sent to the MUC, then `sent`.
                .col(string_null("xmpp_state"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("chat_messages", "room_id")
                        .to("rooms", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_chat_room_id")
                .table("chat_messages")
                .col("room_id")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_chat_xmpp_pending")
                .table("chat_messages")
                .col("xmpp_state")
                .col("id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("chat_bindings")
                .col(pk_uuid("id"))
                .col(uuid("org_id"))
                .col(uuid("room_id"))
                .col(string_uniq("jid"))
                // The callback webhook (kind `callback`) carrying MUC messages to callback_uri.
                .col(big_integer_null("webhook_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("chat_bindings", "room_id")
                        .to("rooms", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // A callback's shared secret, sealed (chat-bridge callbacks sign with it).
        m.alter_table(
            Table::alter()
                .table("webhooks")
                .add_column(text_null("secret_sealed"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("webhooks")
                .drop_column("secret_sealed")
                .to_owned(),
        )
        .await?;
        for table in ["chat_bindings", "chat_messages"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
