//! Where a peer admitted by a session link goes after the call: the link's `rtn` claim, kept
//! with the peer so that the join page navigates only to what the server vouches for (never
//! to a URL in the page's own query string).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("peers")
                .add_column(text_null("return_url"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("peers")
                .drop_column("return_url")
                .to_owned(),
        )
        .await
    }
}
