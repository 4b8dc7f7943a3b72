//! A room with more people than the browser mesh carries: the one past the limit is told the
//! meeting needs the SFU (no media is attempted), and chat still works for them.
use std::sync::Arc;

use meetplane::clock::SystemClock;
use serde_json::json;

use crate::{
    browser::{Driver, screenshot, wait_for},
    helpers::TestApp,
    in_netns,
    pages::{
        admit_if_knocking, link, media_browser, meeting_built, open_and_join, press_join,
        subscribe, wait_in_meeting,
    },
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_mesh_limit_the_page_says_the_sfu_is_needed() {
    in_netns!("past_the_mesh_limit_the_page_says_the_sfu_is_needed");
    let app =
        TestApp::spawn_configured(Arc::new(SystemClock), |c| c.media.mesh_max_peers = 1).await;
    if !meeting_built(&app).await {
        return;
    }
    subscribe(&app, "dr-no").await;
    let mut driver = Driver::start().await;
    let owner = media_browser(&mut driver).await;
    open_and_join(&owner, &link(&app, "big", "dr-no", "owner", "Dr No")).await;
    wait_in_meeting(&owner).await;
    let none = owner
        .execute(
            "return document.getElementById('notice')?.textContent ?? ''",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        none.json(),
        &json!(""),
        "alone, the owner is within the limit"
    );

    let guest = media_browser(&mut driver).await;
    guest
        .goto(link(&app, "big", "dr-no", "guest", "Second Person"))
        .await
        .unwrap();
    press_join(&guest).await;
    admit_if_knocking(&owner, &guest, "Second Person").await;
    wait_in_meeting(&guest).await;
    wait_for(
        &guest,
        "the SFU notice",
        "return document.getElementById('notice')?.textContent ?? ''",
        |v| v.as_str().is_some_and(|s| s.contains("more people than")),
    )
    .await;
    let peer_connections = guest
        .execute(
            "return window.__meetplane.stats().then((s) => s.length)",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(peer_connections.json(), &json!(0), "no mesh past the limit");
    screenshot(&guest, "media-sfu-required").await;
    guest.quit().await.unwrap();
    owner.quit().await.unwrap();
}
