//! Events keep their payload's secrets (a room's password and host key) sealed in a column of
//! their own. Rows written before are sealed by the server at start-up (`events::legacy`):
//! a migration has no master key to seal with.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("events")
                .add_column(text_null("secrets"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("events")
                .drop_column("secrets")
                .to_owned(),
        )
        .await
    }
}
