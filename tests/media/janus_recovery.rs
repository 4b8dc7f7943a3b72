//! The SFU path when things go wrong: Janus restarts mid-meeting (pages get media back on a
//! new Janus session without a reload), a page reloads (same seat, new session) or its tab
//! closes (the seat frees after the grace, Janus lets go), and Janus is configured but not
//! answering (a small room meets over the mesh, and the page says so).
use std::{sync::Arc, time::Duration};

use meetplane::clock::SystemClock;
use serde_json::json;

use crate::{
    browser::{Driver, screenshot, wait_for, wait_up_to},
    helpers::TestApp,
    in_netns,
    janus::{assert_through_janus, others, room, start, wait_sfu},
    janus_proc,
    pages::{
        contains, join_all, meeting_built, org_events, peer_id, press_join, removal_of,
        wait_in_meeting, wait_media_from,
    },
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_get_media_back_after_janus_restarts() {
    in_netns!("pages_get_media_back_after_janus_restarts");
    let Some((mut janus, app)) = start(|_| {}).await else {
        return;
    };
    room(
        &app,
        json!({"domain": "localhost", "name": "sturdy", "addHostKey": true}),
    )
    .await;
    let mut driver = Driver::start().await;
    let pages = join_all(
        &mut driver,
        &format!("{}/join/localhost/sturdy", app.address),
        &["Alpha", "Beta"],
    )
    .await;
    let ids = vec![peer_id(&pages[0]).await, peer_id(&pages[1]).await];
    for (i, b) in pages.iter().enumerate() {
        wait_sfu(b).await;
        wait_media_from(b, "media through Janus", &others(&ids, i)).await;
        // A mark a reload would wipe.
        b.execute("window.__sameDocument = true", Vec::new())
            .await
            .unwrap();
    }
    let restarted = std::time::Instant::now();
    janus.restart().await;
    for (i, b) in pages.iter().enumerate() {
        let other = others(&ids, i)[0];
        let script = format!(
            "return window.__meetplane.stats().then((s) => ({{same: window.__sameDocument === true, \
             sessions: window.__meetplane.sfuSessions(), error: window.__meetplane.sfuError(), \
             frames: s.find((p) => p.peerId === '{other}')?.framesDecoded ?? 0}}))"
        );
        let back = wait_up_to(
            b,
            Duration::from_secs(10).saturating_sub(restarted.elapsed()),
            "media back within 10 s of the Janus restart, without a reload",
            &script,
            |v| {
                v["same"] == json!(true)
                    && v["sessions"].as_u64() >= Some(2)
                    && v["frames"].as_u64() > Some(0)
            },
        )
        .await;
        eprintln!("page {i} back after {:?}: {back}", restarted.elapsed());
    }
    assert_through_janus(&janus, &pages.iter().collect::<Vec<_>>()).await;
    screenshot(&pages[0], "janus-after-restart").await;
    for b in pages {
        b.quit().await.unwrap();
    }
}

/// Short, so a closed tab's seat frees quickly; long enough for a reload under load.
const GRACE: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_janus_a_reload_keeps_the_seat_and_a_closed_tab_frees_it() {
    in_netns!("through_janus_a_reload_keeps_the_seat_and_a_closed_tab_frees_it");
    let Some((janus, app)) = start(|c| c.presence.reconnect_grace = GRACE).await else {
        return;
    };
    room(
        &app,
        json!({"domain": "localhost", "name": "seats", "addHostKey": true}),
    )
    .await;
    let mut driver = Driver::start().await;
    let mut pages = join_all(
        &mut driver,
        &format!("{}/join/localhost/seats", app.address),
        &["Stayer", "Leaver"],
    )
    .await;
    let (s, l) = (peer_id(&pages[0]).await, peer_id(&pages[1]).await);
    wait_sfu(&pages[0]).await;
    wait_media_from(&pages[0], "the stayer decoding the leaver", &[&l]).await;

    // A reload: the same seat, a new Janus session, media both ways again.
    pages[1].refresh().await.unwrap();
    press_join(&pages[1]).await;
    wait_in_meeting(&pages[1]).await;
    assert_eq!(peer_id(&pages[1]).await, l, "the reload took another seat");
    wait_sfu(&pages[1]).await;
    wait_media_from(&pages[1], "the reloaded page decoding the stayer", &[&s]).await;
    wait_up_to(
        &pages[0],
        Duration::from_secs(20),
        "the stayer decoding the reloaded page's new feed",
        &format!("return window.__meetplane.stats().then((x) => x.some((p) => p.peerId === '{l}' && p.framesDecoded > 0 && p.connectionState === 'connected'))"),
        |v| v == &json!(true),
    )
    .await;

    // The tab closes: Janus sees its session go, the seat frees after the grace
    // (`disconnected`), and the stayer's page lets go of the feed.
    let mut events = org_events(&app).await;
    let leaver = pages.pop().unwrap();
    leaver.quit().await.unwrap();
    let reason = removal_of(&mut events, &l, GRACE + Duration::from_secs(10)).await;
    assert_eq!(reason, "disconnected");
    wait_up_to(
        &pages[0],
        Duration::from_secs(10),
        "the stayer's page without the leaver",
        &format!(
            "return window.__meetplane.stats().then((x) => !x.some((p) => p.peerId === '{l}'))"
        ),
        |v| v == &json!(true),
    )
    .await;
    assert!(
        !janus
            .handles()
            .await
            .iter()
            .any(|h| h["opaque_id"] == json!(l)),
        "Janus still holds the closed tab's handles"
    );
    pages.pop().unwrap().quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_answering_janus_a_small_room_meets_over_the_mesh_and_says_so() {
    in_netns!("without_an_answering_janus_a_small_room_meets_over_the_mesh_and_says_so");
    // Janus is configured but not running.
    let app = TestApp::spawn_configured(Arc::new(SystemClock), janus_proc::configure).await;
    if !meeting_built(&app).await {
        return;
    }
    room(
        &app,
        json!({"domain": "localhost", "name": "fallback", "addHostKey": true}),
    )
    .await;
    let mut driver = Driver::start().await;
    let pages = join_all(
        &mut driver,
        &format!("{}/join/localhost/fallback", app.address),
        &["Left", "Right"],
    )
    .await;
    let ids = vec![peer_id(&pages[0]).await, peer_id(&pages[1]).await];
    for (i, b) in pages.iter().enumerate() {
        wait_media_from(b, "media over the mesh", &others(&ids, i)).await;
        let mode = b
            .execute("return window.__meetplaneMediaMode", Vec::new())
            .await
            .unwrap()
            .json()
            .clone();
        assert_eq!(mode, json!("mesh"));
        wait_for(
            b,
            "the notice",
            "return document.getElementById('notice')?.textContent ?? null",
            contains("media server is unavailable"),
        )
        .await;
    }
    screenshot(&pages[0], "janus-unavailable-mesh").await;
    for b in pages {
        b.quit().await.unwrap();
    }
}
