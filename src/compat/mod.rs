//! The seed dialects, as thin adapters over the domain: the same rules, their wire formats.
pub mod bbb_chat;
pub mod imbachat;
mod imbachat_rooms;
mod imbachat_socket;
pub mod xroom;
mod xroom_bookings;
mod xroom_methods;
