//! Chat widgets (the ImbaChat surface): per-org widget settings, a cache of the site's users
//! (from its users-info URL), direct dialogs between two site users of a widget, and the site
//! user a peer was admitted for.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("widgets")
                // The public widget id of `<script src=".../imbachat/v1/{id}/widget">`.
                .col(string("id").primary_key())
                .col(uuid("org_id"))
                .col(string("name"))
                // HS256 key of the site's user tokens, sealed.
                .col(text("secret_sealed"))
                .col(string_null("api_login"))
                .col(text_null("api_password_sealed"))
                .col(text_null("users_info_url"))
                // JSON array of origins (`https://site.example`) allowed to embed the widget.
                .col(text("allowed_origins"))
                // The last users-info lookup: when it last worked, and the last failure.
                .col(timestamp_with_time_zone_null("users_info_ok_at"))
                .col(timestamp_with_time_zone_null("users_info_failed_at"))
                .col(string_null("users_info_error_code"))
                .col(text_null("users_info_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("widgets", "org_id")
                        .to("organisations", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_widgets_org")
                .table("widgets")
                .col("org_id")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("widget_users")
                .col(string("widget_id"))
                .col(string("user_id"))
                .col(string("name"))
                // The site's whole entry (avatar_url, profile_url, profiles, …) as JSON.
                .col(text("info"))
                .col(timestamp_with_time_zone("fetched_at"))
                .primary_key(Index::create().col("widget_id").col("user_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("widget_users", "widget_id")
                        .to("widgets", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("dialogs")
                .col(big_pk_auto("id"))
                .col(string("widget_id"))
                // The two users, ordered so that one pair has one row.
                .col(string("user_low"))
                .col(string("user_high"))
                // The last message each side has read (0: none).
                .col(big_integer("read_low").default(0))
                .col(big_integer("read_high").default(0))
                .col(big_integer("last_message_id").default(0))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("dialogs", "widget_id")
                        .to("widgets", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_dialogs_pair")
                .table("dialogs")
                .col("widget_id")
                .col("user_low")
                .col("user_high")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_dialogs_high")
                .table("dialogs")
                .col("widget_id")
                .col("user_high")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("dialog_messages")
                .col(big_pk_auto("id"))
                .col(big_integer("dialog_id"))
                .col(string("sender_user_id"))
                .col(text("text"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("dialog_messages", "dialog_id")
                        .to("dialogs", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_dialog_messages_dialog")
                .table("dialog_messages")
                .col("dialog_id")
                .col("id")
                .to_owned(),
        )
        .await?;
        // A peer admitted for a site user of a chat widget: their widget shows the room's chat.
        m.alter_table(
            Table::alter()
                .table("peers")
                .add_column(string_null("site_user_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_peers_site_user")
                .table("peers")
                .col("site_user_id")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_peers_site_user")
                .table("peers")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("peers")
                .drop_column("site_user_id")
                .to_owned(),
        )
        .await?;
        for table in ["dialog_messages", "dialogs", "widget_users", "widgets"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
