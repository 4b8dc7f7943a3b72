//! Seats follow the page: a reload keeps the seat (same peer id) and the media comes back; a
//! dropped socket reconnects by itself; a closed tab frees the seat after the reconnect grace;
//! a kicked peer's media stops and its link cannot bring it back.
use std::{sync::Arc, time::Duration};

use meetplane::clock::SystemClock;
use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::{
    browser::{Driver, screenshot, wait_for, wait_up_to},
    helpers::{TestApp, read},
    in_netns,
    pages::{
        STATUS, admit_if_knocking, contains, link, media_browser, meeting_built, open_and_join,
        org_events, peer_id, press_join, removal_of, stats_for, subscribe, wait_in_meeting,
        wait_media_from,
    },
};

/// Short, so a closed tab's seat frees quickly; long enough for a reload under load.
const GRACE: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_seat_and_a_kicked_peer_stays_out() {
    in_netns!("a_reload_keeps_the_seat_and_a_kicked_peer_stays_out");
    let app = TestApp::spawn_configured(Arc::new(SystemClock), |c| {
        c.presence.reconnect_grace = GRACE;
    })
    .await;
    if !meeting_built(&app).await {
        return;
    }
    subscribe(&app, "dr-who").await;
    let mut driver = Driver::start().await;
    let owner = media_browser(&mut driver).await;
    open_and_join(&owner, &link(&app, "visit", "dr-who", "owner", "Dr Who")).await;
    wait_in_meeting(&owner).await;
    let guest_link = link(&app, "visit", "dr-who", "guest", "Joe Guest");
    let guest = media_browser(&mut driver).await;
    open_and_join(&guest, &guest_link).await;
    admit_if_knocking(&owner, &guest, "Joe Guest").await;
    wait_in_meeting(&guest).await;
    let (o, g) = (peer_id(&owner).await, peer_id(&guest).await);
    wait_media_from(&owner, "the owner decoding the guest", &[&g]).await;

    // A reload: the same seat (peer id), and media again both ways on new connections.
    let room_path = guest
        .execute("return location.pathname", Vec::new())
        .await
        .unwrap()
        .json()
        .as_str()
        .unwrap()
        .to_string();
    guest.refresh().await.unwrap();
    press_join(&guest).await;
    wait_in_meeting(&guest).await;
    assert_eq!(peer_id(&guest).await, g, "the reload took another seat");
    wait_media_from(
        &guest,
        "the guest decoding the owner after its reload",
        &[&o],
    )
    .await;
    wait_media_from(&owner, "the owner decoding the reloaded guest", &[&g]).await;
    let (domain, name) = room_path
        .trim_start_matches("/join/")
        .split_once('/')
        .unwrap();
    let t = app.token().await;
    let (s, room) = app
        .call(
            &t,
            Method::GET,
            &app.org_path(&format!("/rooms/{domain}/{name}")),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{room}");
    assert_eq!(
        room["content"]["peers"].as_array().unwrap().len(),
        2,
        "{room}"
    );

    // A network blip: the guest's socket drops; the page reconnects by itself with the same
    // token and stays in the meeting, its media untouched.
    guest
        .execute("window.__meetplane.interrupt(); return true", Vec::new())
        .await
        .unwrap();
    wait_for(
        &guest,
        "the socket welcomed again",
        "return window.__meetplane.welcomes()",
        |v| v.as_u64().is_some_and(|n| n >= 2),
    )
    .await;
    wait_in_meeting(&guest).await;
    assert_eq!(peer_id(&guest).await, g);
    let before = stats_for(&guest, &o).await.unwrap()["framesDecoded"]
        .as_u64()
        .unwrap();
    wait_up_to(
        &guest,
        Duration::from_secs(10),
        "frames still arriving after the blip",
        &format!("return window.__meetplane.stats().then((s) => s.find((p) => p.peerId === '{o}').framesDecoded)"),
        |v| v.as_u64().is_some_and(|n| n > before),
    )
    .await;

    // The guest closes its tab: after the grace its seat is free (`disconnected`), and the
    // owner's page lets go of it.
    let mut events = org_events(&app).await;
    guest.quit().await.unwrap();
    let reason = removal_of(&mut events, &g, GRACE + Duration::from_secs(10)).await;
    assert_eq!(reason, "disconnected");
    wait_up_to(
        &owner,
        Duration::from_secs(10),
        "the owner's page without the guest",
        &format!(
            "return window.__meetplane.stats().then((s) => !s.some((p) => p.peerId === '{g}'))"
        ),
        |v| v == &json!(true),
    )
    .await;

    // The same link again: a new seat (the old one is gone), let in, media again.
    let guest = media_browser(&mut driver).await;
    open_and_join(&guest, &guest_link).await;
    admit_if_knocking(&owner, &guest, "Joe Guest").await;
    wait_in_meeting(&guest).await;
    let g = peer_id(&guest).await;
    wait_media_from(&owner, "the owner decoding the guest's new seat", &[&g]).await;

    // The owner removes the guest from the page: its media stops, and its link is refused.
    let kick = "const t = document.getElementById('people-toggle'); \
        if (t.getAttribute('aria-pressed') === 'false') t.click(); \
        const b = document.querySelector('button[aria-label=\"Remove Joe Guest from the meeting\"]'); \
        if (b) { b.click(); return true } return false";
    wait_for(&owner, "the guest's Remove button", kick, |v| {
        v == &json!(true)
    })
    .await;
    wait_for(&guest, "the guest told", STATUS, contains("removed you")).await;
    wait_up_to(
        &owner,
        Duration::from_secs(10),
        "the owner's connection to the guest closed",
        &format!(
            "return window.__meetplane.stats().then((s) => !s.some((p) => p.peerId === '{g}'))"
        ),
        |v| v == &json!(true),
    )
    .await;
    assert!(
        stats_for(&guest, &o).await.is_none(),
        "the kicked page still has a connection"
    );
    screenshot(&guest, "media-guest-kicked").await;
    let (s, refused) = read(
        app.request(Method::GET, guest_link.trim_start_matches(&app.address))
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{refused}");
    owner.quit().await.unwrap();
    guest.quit().await.unwrap();
}
