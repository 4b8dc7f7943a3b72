//! The rules of meetplane, once. Every surface (native API, compat dialects, CLI, scheduler)
//! calls these functions; none of them speaks HTTP.
pub mod admins;
pub mod booking_changes;
pub mod booking_schedule;
pub mod bookings;
pub mod chat;
pub mod chat_bridge;
pub mod chat_bridge_auth;
pub mod clients;
pub mod deliveries;
pub mod domains;
pub mod housekeeping;
pub mod orgs;
pub mod peers;
pub mod principal;
pub mod request_auth;
pub mod revocations;
pub mod room_model;
pub mod rooms;
pub mod server_keys;
pub mod session_entries;
pub mod sessions;
pub mod subscriptions;
pub mod tokens;
pub mod validate;
pub mod webhooks;
