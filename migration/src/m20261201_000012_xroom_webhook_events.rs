//! Webhooks added through xroom's `/api/webhook` receive the manual's events only. Those added
//! before this rule have no event filter (every event): give them the manual's, found by the
//! audit entry their creation left (`webhook.created` with `{"via":"xroom"}`). Native
//! webhooks without a filter keep receiving every event.
use sea_orm_migration::{prelude::*, sea_orm::ConnectionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The xroom manual's events (Appendix C), as `EventKind::XROOM` names them.
const MANUAL_EVENTS: &str = r#"["roomCreated","roomRemoved","clientAdded","clientsRemoved"]"#;

/// Give xroom-added webhooks without a filter the manual's events; returns how many changed.
pub async fn filter_xroom_webhooks(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let sql = format!(
        "UPDATE webhooks SET events = '{MANUAL_EVENTS}' \
         WHERE events IS NULL AND EXISTS (SELECT 1 FROM audit_log a \
           WHERE a.org_id = webhooks.org_id AND a.action = 'webhook.created' \
             AND a.target_type = 'webhook' AND a.target_id = CAST(webhooks.id AS TEXT) \
             AND a.detail LIKE '%\"via\":\"xroom\"%')"
    );
    Ok(db.execute_unprepared(&sql).await?.rows_affected())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        filter_xroom_webhooks(m.get_connection()).await.map(|_| ())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // Nothing to undo: an earlier build honours the filter like any other.
        Ok(())
    }
}
