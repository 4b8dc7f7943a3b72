//! Organisations, domains, API clients and their tokens, admin users, rooms and peers.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(from: (&'static str, &'static str), to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(table: &'static str, name: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for col in cols {
        idx.col(*col);
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Key/value rows the server itself owns: the master-key check value and the sealed
        // access-token signing key, shared by every node that uses this database.
        m.create_table(
            Table::create()
                .table("server_settings")
                .col(string("key").primary_key())
                .col(text("value"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("organisations")
                .col(pk_uuid("id"))
                .col(string_uniq("name"))
                .col(integer("session_capacity").default(5))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("domains")
                .col(pk_uuid("id"))
                .col(uuid("org_id"))
                .col(string_uniq("name"))
                .col(text("webhook_key_sealed"))
                .col(boolean("forbid_non_api_rooms").default(false))
                .col(boolean("is_default").default(false))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk(("domains", "org_id"), "organisations"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("domains", "idx_domains_org", &["org_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("api_clients")
                .col(pk_uuid("id"))
                .col(uuid("org_id"))
                .col(string("name"))
                .col(string_uniq("api_key"))
                .col(text("secret_sealed"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut fk(("api_clients", "org_id"), "organisations"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("api_clients", "idx_api_clients_org", &["org_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("admin_users")
                .col(pk_uuid("id"))
                .col(uuid("org_id"))
                .col(string_uniq("email"))
                .col(text("password_hash"))
                .col(string("role"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("disabled_at"))
                .foreign_key(&mut fk(("admin_users", "org_id"), "organisations"))
                .to_owned(),
        )
        .await?;

        // One family per client_credentials grant; every refresh token and access token issued
        // from it carries the family id, so revoking the family stops all of them at once.
        m.create_table(
            Table::create()
                .table("token_families")
                .col(pk_uuid("id"))
                .col(uuid("client_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(string_null("revoke_reason"))
                .foreign_key(&mut fk(("token_families", "client_id"), "api_clients"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("refresh_tokens")
                .col(pk_uuid("id"))
                .col(uuid("family_id"))
                .col(string_uniq("token_hash"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .foreign_key(&mut fk(("refresh_tokens", "family_id"), "token_families"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "refresh_tokens",
            "idx_refresh_tokens_family",
            &["family_id"],
        ))
        .await?;

        // Salts of signed xroom requests already seen, per client: the signature covers only the
        // salt, so a salt may never be accepted twice while the client's secret is unchanged.
        m.create_table(
            Table::create()
                .table("seen_salts")
                .col(uuid("client_id"))
                .col(string("salt_hash"))
                .col(timestamp_with_time_zone("seen_at"))
                .primary_key(Index::create().col("client_id").col("salt_hash"))
                .foreign_key(&mut fk(("seen_salts", "client_id"), "api_clients"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("rooms")
                .col(pk_uuid("id"))
                .col(uuid("domain_id"))
                .col(string("name"))
                .col(small_integer("room_type"))
                .col(boolean("is_locked"))
                .col(text_null("password_sealed"))
                .col(text_null("host_key_sealed"))
                .col(integer("capacity"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("removed_at"))
                .foreign_key(&mut fk(("rooms", "domain_id"), "domains"))
                .to_owned(),
        )
        .await?;
        // A room name is unique among the domain's live rooms; removed rooms stay as history.
        // Partial indexes have the same syntax on SQLite and Postgres.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_rooms_live_name ON rooms (domain_id, name) \
                 WHERE removed_at IS NULL",
            )
            .await?;

        m.create_table(
            Table::create()
                .table("peers")
                .col(pk_uuid("id"))
                .col(uuid("room_id"))
                .col(small_integer("peer_type"))
                .col(string("display_name"))
                .col(string_uniq("token_hash"))
                .col(timestamp_with_time_zone("joined_at"))
                .col(timestamp_with_time_zone_null("left_at"))
                .col(string_null("left_reason"))
                .foreign_key(&mut fk(("peers", "room_id"), "rooms"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("peers", "idx_peers_room", &["room_id", "left_at"]))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "peers",
            "rooms",
            "seen_salts",
            "refresh_tokens",
            "token_families",
            "admin_users",
            "api_clients",
            "domains",
            "organisations",
            "server_settings",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
