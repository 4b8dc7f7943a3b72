//! On Postgres, a change that may end credentials notifies `meetplane_credentials` from a
//! trigger, inside the changing transaction (heard on commit only), so every node closes the
//! realtime sockets opened with them, whoever made the change (an API call on another node, the
//! CLI, psql). The payload is `kind:id`, parsed by `domain::socket_access::Notice`.
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Table, trigger events, notice kind and the column naming the credential.
const TRIGGERS: [(&str, &str, &str, &str); 5] = [
    (
        "api_clients",
        "UPDATE OF revoked_at OR DELETE",
        "client",
        "id",
    ),
    (
        "token_families",
        "UPDATE OF revoked_at OR DELETE",
        "family",
        "id",
    ),
    (
        "admin_users",
        "UPDATE OF disabled_at, role OR DELETE",
        "admin",
        "id",
    ),
    ("admin_sessions", "DELETE", "admin", "admin_id"),
    (
        "widgets",
        "UPDATE OF secret_sealed OR DELETE",
        "widget",
        "id",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION meetplane_notify_credential() RETURNS trigger AS $$ \
             DECLARE r jsonb; \
             BEGIN \
               IF TG_OP = 'DELETE' THEN r := to_jsonb(OLD); ELSE r := to_jsonb(NEW); END IF; \
               PERFORM pg_notify('meetplane_credentials', TG_ARGV[0] || ':' || (r ->> TG_ARGV[1])); \
               RETURN NULL; \
             END; $$ LANGUAGE plpgsql",
        )
        .await?;
        for (table, on, kind, column) in TRIGGERS {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_credentials AFTER {on} ON {table} FOR EACH ROW \
                 EXECUTE FUNCTION meetplane_notify_credential('{kind}', '{column}')"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        for (table, ..) in TRIGGERS {
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS {table}_credentials ON {table}"
            ))
            .await?;
        }
        db.execute_unprepared("DROP FUNCTION IF EXISTS meetplane_notify_credential()")
            .await?;
        Ok(())
    }
}
