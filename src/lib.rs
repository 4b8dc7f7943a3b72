//! meetplane: a self-hosted conferencing control plane.
//!
//! Layers, outermost first: `api` (HTTP, OpenAPI) → `domain` (the rules) → `store` (sea-orm
//! queries). `auth` holds the cryptography, `app` wires it all, `cli` is the command line.
//! Background loops (scheduler, deliveries, listener, XMPP bridge) run their passes through
//! `background`, so a panic in one pass does not stop the loop. `cached_reads` and
//! `join_queue` are process machinery (a read cache, a batching queue), not rules. See
//! ARCHITECTURE.md.
pub mod api;
pub mod app;
pub mod auth;
pub mod background;
pub mod cached_reads;
pub mod cli;
pub mod clock;
pub mod compat;
pub mod config;
pub mod domain;
pub mod error;
pub mod error_codes;
pub mod events;
pub mod join_queue;
pub mod media;
pub mod metrics;
pub mod outbound;
pub mod rate_limits;
pub mod scheduler;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod xmpp;

/// Pick rustls's crypto provider explicitly. More than one provider is linked (sqlx's and
/// reqwest's), and rustls panics at the first TLS connection if none was chosen.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
