//! Bookings: reservations of a room that the scheduler activates, completes or expires.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("bookings")
                .col(big_pk_auto("id"))
                .col(uuid("org_id"))
                .col(uuid("domain_id"))
                .col(string("room_name"))
                // The API client that booked; its calls may manage the booked room.
                .col(uuid_null("client_id"))
                .col(timestamp_with_time_zone("start_time"))
                .col(timestamp_with_time_zone("end_time"))
                .col(integer("duration_minutes"))
                .col(integer("grace_minutes"))
                .col(small_integer("room_type"))
                .col(boolean("is_locked"))
                .col(integer("capacity"))
                .col(text_null("password_sealed"))
                .col(text_null("host_key_sealed"))
                .col(string("state"))
                // When the scheduler next has to look at this booking (NULL: never again).
                .col(timestamp_with_time_zone_null("due_at"))
                .col(uuid_null("room_id"))
                .col(timestamp_with_time_zone_null("activated_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("bookings", "domain_id")
                        .to("domains", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_bookings_due")
                .table("bookings")
                .col("due_at")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_bookings_room")
                .table("bookings")
                .col("domain_id")
                .col("room_name")
                .col("state")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_bookings_org_start")
                .table("bookings")
                .col("org_id")
                .col("start_time")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("bookings").to_owned())
            .await
    }
}
