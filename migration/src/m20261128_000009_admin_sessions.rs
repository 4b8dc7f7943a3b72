//! Dashboard sign-in: admin sessions (the cookie holds a random token, the table its digest)
//! and failed sign-in attempts, counted per email and per source address to slow guessing on
//! every node alike.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("admin_sessions")
                .col(uuid("id").primary_key())
                .col(uuid("admin_id"))
                // SHA-256 of the cookie value; the value itself is never stored.
                .col(string("token_hash").unique_key())
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(string_null("source_ip"))
                .foreign_key(
                    ForeignKey::create()
                        .from("admin_sessions", "admin_id")
                        .to("admin_users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("admin_login_failures")
                .col(big_pk_auto("id"))
                .col(string("email"))
                .col(string("source_ip"))
                .col(timestamp_with_time_zone("at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_admin_login_failures_email")
                .table("admin_login_failures")
                .col("email")
                .col("at")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_admin_login_failures_ip")
                .table("admin_login_failures")
                .col("source_ip")
                .col("at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["admin_login_failures", "admin_sessions"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
