//! Every schema change of meetplane, applied in order at start-up (or by `meetplane migrate`).
//! Written with the schema builder so the same migration runs on SQLite and Postgres.
pub use sea_orm_migration::prelude::*;

mod m20261123_000001_foundation;
mod m20261124_000002_events_webhooks;
mod m20261124_000003_bookings;
mod m20261125_000004_sessions;
mod m20261125_000005_notify_trigger;
mod m20261125_000006_room_headcount;
mod m20261126_000007_chat;
mod m20261127_000008_widgets;
mod m20261128_000009_admin_sessions;
mod m20261129_000010_operations;
mod m20261130_000011_bridge_status;
mod m20261201_000012_xroom_webhook_events;
mod m20261202_000013_peer_return_url;
mod m20261203_000014_chat_delivery;
mod m20261204_000015_event_secrets;
mod m20261204_000016_credential_notices;
mod m20261207_000017_delivery_nodes;
mod m20261207_000018_peer_presence;
mod m20261208_000019_media_rooms;

pub use m20261201_000012_xroom_webhook_events::filter_xroom_webhooks;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_foundation::Migration),
            Box::new(m20261124_000002_events_webhooks::Migration),
            Box::new(m20261124_000003_bookings::Migration),
            Box::new(m20261125_000004_sessions::Migration),
            Box::new(m20261125_000005_notify_trigger::Migration),
            Box::new(m20261125_000006_room_headcount::Migration),
            Box::new(m20261126_000007_chat::Migration),
            Box::new(m20261127_000008_widgets::Migration),
            Box::new(m20261128_000009_admin_sessions::Migration),
            Box::new(m20261129_000010_operations::Migration),
            Box::new(m20261130_000011_bridge_status::Migration),
            Box::new(m20261201_000012_xroom_webhook_events::Migration),
            Box::new(m20261202_000013_peer_return_url::Migration),
            Box::new(m20261203_000014_chat_delivery::Migration),
            Box::new(m20261204_000015_event_secrets::Migration),
            Box::new(m20261204_000016_credential_notices::Migration),
            Box::new(m20261207_000017_delivery_nodes::Migration),
            Box::new(m20261207_000018_peer_presence::Migration),
            Box::new(m20261208_000019_media_rooms::Migration),
        ]
    }
}
