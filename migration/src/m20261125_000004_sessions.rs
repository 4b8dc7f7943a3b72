//! Subscriptions, session entries and link revocations (the Coviu surface).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("organisations")
                .add_column(boolean("allow_rejoin_after_kick").default(false))
                .to_owned(),
        )
        .await?;
        // `room` or `session`: a session room closes when its last peer leaves.
        m.alter_table(
            Table::alter()
                .table("rooms")
                .add_column(string("kind").default("room"))
                .to_owned(),
        )
        .await?;
        // The digest of the session link that admitted a peer, to refuse it after a kick.
        m.alter_table(
            Table::alter()
                .table("peers")
                .add_column(string_null("link_hash"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("subscriptions")
                .col(pk_uuid("id"))
                .col(uuid("org_id"))
                .col(string("ref"))
                .col(string("email"))
                .col(string("name"))
                .col(boolean("active"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("subscriptions", "org_id")
                        .to("organisations", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // A ref is unique among the org's active subscriptions.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_subscriptions_active_ref ON subscriptions (org_id, ref) \
                 WHERE active",
            )
            .await?;
        m.create_index(
            Index::create()
                .name("idx_subscriptions_org_started")
                .table("subscriptions")
                .col("org_id")
                .col("started_at")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("session_entries")
                .col(pk_uuid("id"))
                .col(uuid("org_id"))
                .col(uuid("client_id"))
                .col(string("session_id"))
                .col(uuid("room_id"))
                .col(uuid("subscription_id"))
                .col(uuid("peer_id"))
                .col(string("role"))
                .col(string("name"))
                .col(string("access_token_id"))
                .col(string("link_hash"))
                .col(timestamp_with_time_zone("entry_time"))
                .foreign_key(
                    ForeignKey::create()
                        .from("session_entries", "org_id")
                        .to("organisations", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("idx_entries_org_time", vec!["org_id", "entry_time"]),
            ("idx_entries_session", vec!["org_id", "session_id"]),
            ("idx_entries_subscription", vec!["subscription_id", "role"]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table("session_entries");
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }

        // Revoked links: one link (by digest or jti), or every link of a session or
        // subscription issued before a cutoff.
        m.create_table(
            Table::create()
                .table("link_revocations")
                .col(pk_uuid("id"))
                .col(uuid("org_id"))
                .col(string_null("link_hash"))
                .col(string_null("jti"))
                .col(string_null("session_id"))
                .col(uuid_null("subscription_id"))
                .col(timestamp_with_time_zone_null("issued_before"))
                .col(string("reason"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("link_revocations", "org_id")
                        .to("organisations", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_revocations_org")
                .table("link_revocations")
                .col("org_id")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["link_revocations", "session_entries", "subscriptions"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        for (table, col) in [
            ("peers", "link_hash"),
            ("rooms", "kind"),
            ("organisations", "allow_rejoin_after_kick"),
        ] {
            m.alter_table(Table::alter().table(table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
