//! The XMPP bridge's status as its bridging node last reported it, so that every node (and
//! the dashboard behind a load balancer) shows the same bridge, not its own standby.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("xmpp_bridge_status")
                // The bridge's account: a row per account, so a changed JID starts afresh.
                .col(string("jid").primary_key())
                .col(string("state"))
                // JSON array of the MUCs the bridge is in.
                .col(text("rooms_joined"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone_null("last_error_at"))
                .col(timestamp_with_time_zone_null("connected_since"))
                // Written at least every few seconds while the node bridges: an old report
                // means the node is gone.
                .col(timestamp_with_time_zone("reported_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("xmpp_bridge_status").to_owned())
            .await
    }
}
