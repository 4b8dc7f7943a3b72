//! Events (the outbox), webhooks and their deliveries.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The last event number of each room, so consumers can detect gaps.
        m.alter_table(
            Table::alter()
                .table("rooms")
                .add_column(big_integer("event_seq").default(0))
                .to_owned(),
        )
        .await?;

        // Every room change writes its event here in the change's own transaction.
        m.create_table(
            Table::create()
                .table("events")
                .col(pk_uuid("id"))
                .col(uuid("org_id"))
                .col(uuid("domain_id"))
                .col(string("domain_name"))
                .col(uuid_null("room_id"))
                .col(string_null("room_name"))
                .col(big_integer("seq"))
                .col(string("kind"))
                .col(text("payload"))
                // Robot webhooks matched at emit time: [{"webhookId":1,"robotId":7}].
                .col(text("robots"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("events", "org_id")
                        .to("organisations", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_events_org_created")
                .table("events")
                .col("org_id")
                .col("created_at")
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("webhooks")
                .col(big_pk_auto("id"))
                .col(uuid("org_id"))
                .col(uuid("domain_id"))
                .col(string_null("room_name"))
                .col(string("kind"))
                .col(text_null("url"))
                .col(big_integer_null("robot_id"))
                // JSON array of event names; NULL = every event.
                .col(text_null("events"))
                .col(boolean("validated"))
                .col(string("status"))
                .col(text_null("disabled_reason"))
                .col(timestamp_with_time_zone_null("disabled_at"))
                .col(timestamp_with_time_zone_null("failing_since"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("webhooks", "domain_id")
                        .to("domains", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhooks_domain")
                .table("webhooks")
                .col("domain_id")
                .to_owned(),
        )
        .await?;

        // One row per (event, webhook): the message, its state and its last attempt.
        m.create_table(
            Table::create()
                .table("deliveries")
                .col(big_pk_auto("id"))
                .col(string_uniq("message_id"))
                .col(big_integer("webhook_id"))
                .col(uuid("event_id"))
                // domain/room: deliveries of one webhook keep this key's order.
                .col(string("order_key"))
                .col(string("status"))
                .col(integer("attempts").default(0))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(timestamp_with_time_zone_null("lease_until"))
                .col(timestamp_with_time_zone_null("last_attempt_at"))
                .col(integer_null("last_status_code"))
                .col(integer_null("last_latency_ms"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone_null("delivered_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("deliveries", "webhook_id")
                        .to("webhooks", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("deliveries", "event_id")
                        .to("events", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_deliveries_due")
                .table("deliveries")
                .col("status")
                .col("next_attempt_at")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_deliveries_order")
                .table("deliveries")
                .col("webhook_id")
                .col("order_key")
                .col("status")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_deliveries_webhook_created")
                .table("deliveries")
                .col("webhook_id")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["deliveries", "webhooks", "events"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        m.alter_table(
            Table::alter()
                .table("rooms")
                .drop_column("event_seq")
                .to_owned(),
        )
        .await
    }
}
