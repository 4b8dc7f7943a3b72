//! sea-orm entities, one per table, in the shape `sea-orm-cli generate entity` produces.
pub mod admin_user;
pub mod api_client;
pub mod booking;
pub mod delivery;
pub mod domain;
pub mod event;
pub mod link_revocation;
pub mod organisation;
pub mod peer;
pub mod refresh_token;
pub mod room;
pub mod seen_salt;
pub mod server_setting;
pub mod session_entry;
pub mod subscription;
pub mod token_family;
pub mod webhook;
