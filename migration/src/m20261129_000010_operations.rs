//! Production operations: stored answers to requests sent with an Idempotency-Key (kept a
//! day), the append-only audit log of admin and host actions, and an index for replaying the
//! events a node's listener missed while reconnecting.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(big_pk_auto("id"))
                // Who sent the key (an API client or dashboard user id): keys are per caller.
                .col(string("scope"))
                .col(string("key"))
                // SHA-256 of method, path, query and body: the same key with another request
                // is refused.
                .col(string("request_hash"))
                // NULL while the first request is still being answered.
                .col(integer_null("status_code"))
                .col(string_null("content_type"))
                .col(string_null("location"))
                // The answer's body, sealed with the master key (it may hold a secret shown once).
                .col(text_null("body"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_idempotency_keys_scope_key")
                .table("idempotency_keys")
                .col("scope")
                .col("key")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_idempotency_keys_created")
                .table("idempotency_keys")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("audit_log")
                .col(big_pk_auto("id"))
                .col(uuid("org_id"))
                .col(timestamp_with_time_zone("at"))
                // client, admin, host or system
                .col(string("actor_type"))
                .col(string("actor_id"))
                // The API key or the admin's email at the time (ids outlive renames).
                .col(string_null("actor_name"))
                .col(string("action"))
                .col(string("target_type"))
                .col(string("target_id"))
                .col(text_null("detail"))
                .col(string_null("source_ip"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_events_created")
                .table("events")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_audit_log_org")
                .table("audit_log")
                .col("org_id")
                .col("id")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_events_created")
                .table("events")
                .to_owned(),
        )
        .await?;
        for table in ["audit_log", "idempotency_keys"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
