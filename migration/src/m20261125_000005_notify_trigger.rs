//! On Postgres, every inserted event notifies `meetplane_events` with its id from a trigger,
//! inside the inserting transaction (so listeners hear of it on commit only). Saves the
//! writer a round trip per event.
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION meetplane_notify_event() RETURNS trigger AS $$ \
             BEGIN PERFORM pg_notify('meetplane_events', NEW.id::text); RETURN NEW; END; \
             $$ LANGUAGE plpgsql",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER events_notify AFTER INSERT ON events \
             FOR EACH ROW EXECUTE FUNCTION meetplane_notify_event()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS events_notify ON events")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS meetplane_notify_event()")
            .await?;
        Ok(())
    }
}
