//! The XMPP bridge's last reported status (one row per bridge account).
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, sea_query::OnConflict};

use super::entities::xmpp_bridge_status::{self, Column, Entity};

pub use xmpp_bridge_status::Model as Report;

/// Replace the account's report with `report`.
pub async fn save(db: &impl ConnectionTrait, report: Report) -> Result<(), DbErr> {
    Entity::insert(report.into_active_model())
        .on_conflict(
            OnConflict::column(Column::Jid)
                .update_columns([
                    Column::State,
                    Column::RoomsJoined,
                    Column::LastError,
                    Column::LastErrorAt,
                    Column::ConnectedSince,
                    Column::ReportedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find(db: &impl ConnectionTrait, jid: &str) -> Result<Option<Report>, DbErr> {
    Entity::find_by_id(jid.to_string()).one(db).await
}
