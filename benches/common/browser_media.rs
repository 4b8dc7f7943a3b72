//! What the browser media benches share: Chromium's flags for fake devices on loopback (as
//! `../shared/MEDIA.md` gives them), and the org's API client written before the server starts.
use meetplane::{
    app::Application,
    config::Config,
    domain::{audit::By, clients, orgs},
};

pub const MEDIA_FLAGS: &[&str] = &[
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
];

/// The default org's id and a new API client's key and secret, in the database of `config`.
pub async fn seed(config: Config) -> anyhow::Result<(uuid::Uuid, String, String)> {
    let app = Application::build(config).await?;
    let state = app.state().clone();
    drop(app);
    let org = orgs::resolve(&state.db, "Default").await?.id;
    let client = clients::create(&state, &By::cli(org), "bench").await?;
    state.db.clone().close().await?;
    Ok((org, client.client.api_key, client.secret))
}
