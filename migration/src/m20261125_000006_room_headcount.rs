//! Rooms keep the number of peers present, updated under the room's row lock with every
//! admission and departure, so a join checks capacity without counting peers.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("rooms")
                .add_column(integer("present_count").default(0))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE rooms SET present_count = (SELECT COUNT(*) FROM peers \
                 WHERE peers.room_id = rooms.id AND peers.left_at IS NULL)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("rooms")
                .drop_column("present_count")
                .to_owned(),
        )
        .await
    }
}
