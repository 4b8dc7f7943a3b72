//! What the meeting page offers beyond two people talking: a webinar, where a viewer watches
//! the host and sends nothing (and has no controls to send with); and a host's controls on the
//! page, Lock (later room-link joins knock) and End for all (every page is told, the room goes).
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use thirtyfour::WebDriver;

use crate::{
    browser::{Driver, screenshot, wait_for, wait_up_to},
    helpers::TestApp,
    in_netns,
    pages::{
        STATUS, contains, join_by_name, media_browser, meeting_built, peer_id, stats_for,
        wait_in_meeting, wait_media_from,
    },
};

/// The ids of this page's controls that are shown, out of `ids`.
async fn shown(b: &WebDriver, ids: &[&str]) -> Value {
    let script = format!("return {ids:?}.filter((id) => !!document.getElementById(id))");
    b.execute(&script, Vec::new()).await.unwrap().json().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webinar_viewer_watches_the_host_and_sends_nothing() {
    in_netns!("a_webinar_viewer_watches_the_host_and_sends_nothing");
    let app = TestApp::spawn().await;
    if !meeting_built(&app).await {
        return;
    }
    let t = app.token().await;
    let created = app
        .create_room(
            &t,
            json!({"domain": "localhost", "name": "lecture", "type": 2, "addHostKey": true}),
        )
        .await;
    let host_key = created["content"]["hostKey"].as_str().unwrap();
    let room_url = format!("{}/join/localhost/lecture", app.address);
    let mut driver = Driver::start().await;
    let host = media_browser(&mut driver).await;
    join_by_name(
        &host,
        &format!("{room_url}#hostKey={host_key}"),
        "Prof. Ada",
    )
    .await;
    wait_in_meeting(&host).await;
    let viewer = media_browser(&mut driver).await;
    join_by_name(&viewer, &room_url, "Student").await;
    wait_for(&viewer, "the viewer watching", STATUS, contains("watching")).await;
    let (h, v) = (peer_id(&host).await, peer_id(&viewer).await);

    // The viewer decodes the host's video and hears it.
    wait_media_from(&viewer, "the viewer decoding the host", &[&h]).await;
    assert_eq!(
        shown(
            &viewer,
            &["mute", "camera", "share", "lock", "end", "leave"]
        )
        .await,
        json!(["leave"]),
        "a viewer has nothing to send with and no host controls"
    );
    assert_eq!(
        shown(&host, &["mute", "camera", "share", "lock", "end"]).await,
        json!(["mute", "camera", "share", "lock", "end"]),
    );

    // The host's connection to the viewer is up, yet carries nothing from it: after the
    // viewer has decoded a good run of the host's frames, the host has decoded none.
    wait_up_to(
        &host,
        Duration::from_secs(10),
        "the host connected to the viewer",
        &format!("return window.__meetplane.stats().then((s) => s.some((p) => p.peerId === '{v}' && p.connectionState === 'connected'))"),
        |v| v == &json!(true),
    )
    .await;
    wait_up_to(
        &viewer,
        Duration::from_secs(20),
        "the viewer decoding 60 frames of the host",
        &format!("return window.__meetplane.stats().then((s) => s.find((p) => p.peerId === '{h}').framesDecoded)"),
        |n| n.as_u64().is_some_and(|n| n >= 60),
    )
    .await;
    let from_viewer = stats_for(&host, &v).await.expect("the host's connection");
    assert_eq!(from_viewer["framesDecoded"], json!(0), "{from_viewer}");
    assert_eq!(from_viewer["audioBytesReceived"], json!(0), "{from_viewer}");
    screenshot(&host, "media-webinar-host").await;
    screenshot(&viewer, "media-webinar-viewer").await;
    host.quit().await.unwrap();
    viewer.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_locks_the_room_then_ends_it_for_all() {
    in_netns!("a_host_locks_the_room_then_ends_it_for_all");
    let app = TestApp::spawn().await;
    if !meeting_built(&app).await {
        return;
    }
    let t = app.token().await;
    let created = app
        .create_room(
            &t,
            json!({"domain": "localhost", "name": "board", "addHostKey": true}),
        )
        .await;
    let host_key = created["content"]["hostKey"].as_str().unwrap();
    let room_url = format!("{}/join/localhost/board", app.address);
    let mut driver = Driver::start().await;
    let host = media_browser(&mut driver).await;
    join_by_name(&host, &format!("{room_url}#hostKey={host_key}"), "Chair").await;
    wait_in_meeting(&host).await;
    let guest = media_browser(&mut driver).await;
    join_by_name(&guest, &room_url, "Member").await;
    wait_in_meeting(&guest).await;
    let h = peer_id(&host).await;
    wait_media_from(&guest, "the guest decoding the host", &[&h]).await;

    // Lock from the page: the host's page says so, and a later room-link join knocks. (The
    // guest's page is not told of the lock: it hears no room event for it.)
    wait_for(
        &host,
        "the Lock button",
        "const b = document.getElementById('lock'); if (b && b.textContent.trim() === 'Lock') { b.click(); return true } return false",
        |v| v == &json!(true),
    )
    .await;
    wait_for(&host, "the host's page locked", STATUS, contains("Locked.")).await;
    let (s, late) = app
        .join("localhost/board", json!({"displayName": "Latecomer"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{late}");
    assert_eq!(late["content"]["peer"]["state"], json!("waiting"), "{late}");

    // End for all (the page asks first; the test says yes): both pages are told, the room
    // is gone for the org API.
    wait_for(
        &host,
        "the End for all button",
        "window.confirm = () => true; const b = document.getElementById('end'); if (b) { b.click(); return true } return false",
        |v| v == &json!(true),
    )
    .await;
    wait_for(
        &host,
        "the host told",
        STATUS,
        contains("meeting has ended"),
    )
    .await;
    wait_for(
        &guest,
        "the guest told",
        STATUS,
        contains("meeting has ended"),
    )
    .await;
    screenshot(&guest, "media-ended-guest").await;
    let (s, gone) = app
        .call(
            &t,
            Method::GET,
            &app.org_path("/rooms/localhost/board"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{gone}");
    host.quit().await.unwrap();
    guest.quit().await.unwrap();
}

/// Width and height of the video element `selector` shows, and its track's label.
fn video_of(selector: &str) -> String {
    format!(
        "const v = document.querySelector('{selector}'); const t = v?.srcObject?.getVideoTracks()[0]; \
         return v ? [v.videoWidth, v.videoHeight, t ? t.label : null] : null"
    )
}

/// The width of a `[width, height, label]` answer.
fn width(v: &Value) -> u64 {
    v[0].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_the_screen_swaps_the_video_the_other_peer_decodes() {
    in_netns!("sharing_the_screen_swaps_the_video_the_other_peer_decodes");
    let app = TestApp::spawn().await;
    if !meeting_built(&app).await {
        return;
    }
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": "demo"}))
        .await;
    let room_url = format!("{}/join/localhost/demo", app.address);
    let mut driver = Driver::start().await;
    // Headless Chromium with the fake-UI flag answers getDisplayMedia with a fake screen
    // ("screen:…", the window's 800×450 here; the camera is 640×360) at once, no picker.
    let sharer = media_browser(&mut driver).await;
    join_by_name(&sharer, &room_url, "Presenter").await;
    wait_in_meeting(&sharer).await;
    let other = media_browser(&mut driver).await;
    join_by_name(&other, &room_url, "Audience").await;
    wait_in_meeting(&other).await;
    let s = peer_id(&sharer).await;
    wait_media_from(&other, "the other decoding the camera", &[&s]).await;
    let remote = format!(".tile[data-peer-id=\"{s}\"] video");
    let camera = wait_for(&other, "the camera's picture", &video_of(&remote), |v| {
        v[0].as_u64().unwrap_or(0) > 0
    })
    .await;
    let mine = video_of("video[aria-label=\"Your video\"]");
    let before = wait_for(&sharer, "the sharer's own camera", &mine, |v| {
        v[2].is_string()
    })
    .await;
    assert!(
        !before[2].as_str().unwrap().starts_with("screen"),
        "{before}"
    );

    // A real click (getDisplayMedia wants a user gesture).
    wait_for(
        &sharer,
        "the Share screen button",
        "return !!document.getElementById('share')",
        |v| v == &json!(true),
    )
    .await;
    sharer
        .find(thirtyfour::By::Id("share"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &sharer,
        "the button saying Stop sharing",
        "return document.getElementById('share').textContent",
        contains("Stop sharing"),
    )
    .await;
    let shared = wait_for(&sharer, "the sharer showing its screen", &mine, |v| {
        v[2].as_str().is_some_and(|l| l.starts_with("screen")) && width(v) > 0
    })
    .await;
    assert_ne!(width(&shared), width(&before), "{before} {shared}");
    eprintln!("camera {before} (seen as {camera}) → screen {shared}");
    let frames = stats_for(&other, &s).await.unwrap()["framesDecoded"]
        .as_u64()
        .unwrap();
    wait_up_to(
        &other,
        Duration::from_secs(20),
        "the other peer decoding the screen (its width)",
        &video_of(&remote),
        |v| width(v) == width(&shared),
    )
    .await;
    wait_up_to(
        &other,
        Duration::from_secs(10),
        "frames still arriving while sharing",
        &format!("return window.__meetplane.stats().then((x) => x.find((p) => p.peerId === '{s}').framesDecoded)"),
        |n| n.as_u64().is_some_and(|n| n > frames + 30),
    )
    .await;
    screenshot(&other, "media-screen-share-seen").await;
    sharer.quit().await.unwrap();
    other.quit().await.unwrap();
}
