//! Black-box tests of the meetplane server. One binary (faster to link), one module per area.
mod helpers;

mod auth_token;
mod bookings;
mod chat;
mod chat_bridge;
mod cli;
mod domains;
mod errors;
mod health;
mod housekeeping;
mod isolation;
mod nodes;
mod openapi;
mod prosody;
mod realtime;
mod receiver;
mod restart;
mod rooms;
mod sessions;
mod webhooks;
mod xmpp_bridge;
mod xroom;
mod xroom_signature;
