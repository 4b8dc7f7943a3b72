//! The SFU path with a real Janus (`janus_proc.rs`): pages told `mode: sfu` by the server
//! publish to and subscribe from Janus through meetplane's Janus socket. What proves media
//! went through Janus, not the mesh: every page's media mode is "sfu", the remote end of each
//! of its connections' selected candidate pair is one of Janus's own ends (Admin
//! `handle_info`), and Janus lists the publishers by their peer ids.
use std::{sync::Arc, time::Duration};

use meetplane::{clock::SystemClock, config::SecretString};
use serde_json::{Value, json};
use thirtyfour::WebDriver;

use crate::{
    browser::{Driver, screenshot, wait_for, wait_up_to},
    helpers::TestApp,
    in_netns,
    janus_proc::{self, Janus},
    pages::{
        STATUS, admit_if_knocking, contains, join_all, join_by_name, media_browser, meeting_built,
        peer_id, wait_in_meeting, wait_media_from,
    },
    turn::{self, Coturn},
};

/// Janus and the app using it; None (skipped, or failed in CI) without janus or the page.
pub async fn start(
    change: impl FnOnce(&mut meetplane::config::Config),
) -> Option<(Janus, TestApp)> {
    if !janus_proc::installed() {
        return None;
    }
    let janus = Janus::start().await;
    let app = TestApp::spawn_configured(Arc::new(SystemClock), |c| {
        janus_proc::configure(c);
        change(c);
    })
    .await;
    if !meeting_built(&app).await {
        return None;
    }
    Some((janus, app))
}

/// A room of the test client's org; its host key.
pub async fn room(app: &TestApp, body: Value) -> String {
    let t = app.token().await;
    let created = app.create_room(&t, body).await;
    created["content"]["hostKey"].as_str().unwrap().to_string()
}

pub async fn wait_sfu(b: &WebDriver) {
    wait_for(
        b,
        "the SFU media mode",
        "return window.__meetplaneMediaMode ?? null",
        |v| v == &json!("sfu"),
    )
    .await;
}

pub async fn stats(b: &WebDriver) -> Vec<Value> {
    let v = b
        .execute("return window.__meetplane.stats()", Vec::new())
        .await
        .unwrap()
        .json()
        .clone();
    v.as_array().cloned().unwrap_or_default()
}

/// Every media connection of each page ends at Janus.
pub async fn assert_through_janus(janus: &Janus, pages: &[&WebDriver]) {
    let ends = janus.media_ends().await;
    eprintln!("Janus's ends of the media connections: {ends:?}");
    assert!(!ends.is_empty(), "Janus shows no media connections");
    for b in pages {
        let stats = stats(b).await;
        eprintln!("a page's connections: {stats:?}");
        assert!(!stats.is_empty(), "a page without media connections");
        for s in &stats {
            let remote = s["remoteCandidate"].as_str().unwrap_or_default();
            assert!(
                ends.iter().any(|e| e == remote),
                "{s} does not end at Janus ({ends:?})"
            );
        }
    }
}

/// The other pages' peer ids, for page `i`.
pub fn others(ids: &[String], i: usize) -> Vec<&str> {
    ids.iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, id)| id.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conference_meets_through_janus() {
    in_netns!("a_conference_meets_through_janus");
    let Some((janus, app)) = start(|_| {}).await else {
        return;
    };
    let host_key = room(
        &app,
        json!({"domain": "localhost", "name": "standup", "lobby": true, "addHostKey": true}),
    )
    .await;
    let room_url = format!("{}/join/localhost/standup", app.address);
    let mut driver = Driver::start().await;
    let mut pages = join_all(
        &mut driver,
        &format!("{room_url}#hostKey={host_key}"),
        &["Host One", "Host Two"],
    )
    .await;
    let guest = media_browser(&mut driver).await;
    join_by_name(&guest, &room_url, "Guest Three").await;
    assert!(
        admit_if_knocking(&pages[0], &guest, "Guest Three").await,
        "the room has a lobby: the guest knocks"
    );
    wait_in_meeting(&guest).await;
    pages.push(guest);
    let mut ids = Vec::new();
    for b in &pages {
        ids.push(peer_id(b).await);
    }
    for (i, b) in pages.iter().enumerate() {
        wait_sfu(b).await;
        wait_media_from(b, "decoding the others through Janus", &others(&ids, i)).await;
    }
    let mut publishing = ids.clone();
    publishing.sort();
    assert_eq!(janus.publishers().await, publishing);
    assert_through_janus(&janus, &pages.iter().collect::<Vec<_>>()).await;
    // The names on the tiles come from the people list (feed id = peer id).
    let names = pages[2]
        .execute(
            "return [...document.querySelectorAll('.tile figcaption')].map((f) => f.textContent)",
            Vec::new(),
        )
        .await
        .unwrap()
        .json()
        .to_string();
    assert!(
        names.contains("Host One") && names.contains("Host Two"),
        "{names}"
    );
    for (b, name) in pages
        .iter()
        .zip(["janus-host-one", "janus-host-two", "janus-guest"])
    {
        screenshot(b, name).await;
    }

    // Screen sharing swaps the published video (replaceTrack): the guest decodes the screen
    // (the window's 800×450 here; the camera is 640×360) from Host One's feed.
    pages[0]
        .find(thirtyfour::By::Id("share"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let seen = format!(
        "const v = document.querySelector('.tile[data-peer-id=\"{}\"] video'); return v ? v.videoWidth : 0",
        ids[0]
    );
    wait_up_to(
        &pages[2],
        Duration::from_secs(20),
        "the guest decoding Host One's screen",
        &seen,
        |v| v == &json!(800),
    )
    .await;
    screenshot(&pages[2], "janus-screen-share-seen").await;

    // Host One mutes the guest's microphone from the people list: Janus mutes the stream
    // (VideoRoom moderate) and tells the guest's page.
    let mute = "const t = document.getElementById('people-toggle'); \
        if (t.getAttribute('aria-pressed') === 'false') t.click(); \
        const b = document.querySelector('button[aria-label=\"Mute Guest Three\\'s microphone\"]'); \
        if (b) { b.click(); return true } return false";
    wait_for(&pages[0], "the guest's Mute button", mute, |v| {
        v == &json!(true)
    })
    .await;
    wait_for(
        &pages[0],
        "the button saying Unmute",
        "return !!document.querySelector('button[aria-label=\"Unmute Guest Three\\'s microphone\"]') || (document.querySelector('p.error')?.textContent ?? false)",
        |v| v == &json!(true),
    )
    .await;
    wait_for(
        &pages[2],
        "the guest told it is muted",
        "return document.getElementById('notice')?.textContent ?? null",
        contains("muted your microphone"),
    )
    .await;
    screenshot(&pages[2], "janus-guest-muted").await;
    for b in pages {
        b.quit().await.unwrap();
    }
}

/// The Janus socket of a room, opened with `token` as the page would; the HTTP status it is
/// refused with (None: accepted).
async fn janus_socket_refusal(app: &TestApp, room: &str, token: &str) -> Option<u16> {
    use tokio_tungstenite::tungstenite::{Error, client::IntoClientRequest};
    let url = format!(
        "{}/v1/rooms/{room}/janus?token={token}",
        app.address.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "janus-protocol".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => None,
        Err(Error::Http(r)) => Some(r.status().as_u16()),
        Err(e) => panic!("the Janus socket: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webinar_through_janus_viewers_watch_and_a_kicked_viewer_is_out() {
    in_netns!("a_webinar_through_janus_viewers_watch_and_a_kicked_viewer_is_out");
    let Some((janus, app)) = start(|_| {}).await else {
        return;
    };
    let host_key = room(
        &app,
        json!({"domain": "localhost", "name": "lecture", "type": 2, "addHostKey": true}),
    )
    .await;
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
    let mut viewers = Vec::new();
    for name in ["Student One", "Student Two"] {
        let b = media_browser(&mut driver).await;
        join_by_name(&b, &room_url, name).await;
        wait_for(&b, "the viewer watching", STATUS, contains("watching")).await;
        viewers.push(b);
    }
    let h = peer_id(&host).await;
    let kicked = peer_id(&viewers[1]).await;
    for v in &viewers {
        wait_sfu(v).await;
        wait_media_from(v, "the viewer decoding the host through Janus", &[&h]).await;
    }
    assert_through_janus(&janus, &viewers.iter().collect::<Vec<_>>()).await;

    // Viewers publish nothing, and Janus refuses a viewer's attempt to join as a publisher.
    assert_eq!(janus.publishers().await, vec![h.clone()]);
    let attempt = viewers[0]
        .execute("return window.__meetplane.tryPublish()", Vec::new())
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(attempt, json!(433), "a viewer's publisher join");
    screenshot(&viewers[0], "janus-webinar-viewer").await;
    screenshot(&host, "janus-webinar-host").await;

    // The host removes the second viewer from the page: its media stops at once, Janus holds
    // nothing of it, and its token opens neither the room nor the Janus socket again.
    let v = &viewers[1];
    let token = v
        .execute(
            "window.__pcs = window.__meetplane.connections(); \
             return sessionStorage.getItem('meetplane.peerToken:localhost/lecture')",
            Vec::new(),
        )
        .await
        .unwrap()
        .json()
        .as_str()
        .expect("the viewer's peer token")
        .to_string();
    let holds_kicked = |handles: &[Value]| handles.iter().any(|i| i["opaque_id"] == json!(kicked));
    assert!(
        holds_kicked(&janus.handles().await),
        "Janus's handles name their peers (opaque_id)"
    );
    let kick = "const t = document.getElementById('people-toggle'); \
        if (t.getAttribute('aria-pressed') === 'false') t.click(); \
        const b = document.querySelector('button[aria-label=\"Remove Student Two from the meeting\"]'); \
        if (b) { b.click(); return true } return false";
    wait_for(&host, "the viewer's Remove button", kick, |v| {
        v == &json!(true)
    })
    .await;
    wait_for(v, "the viewer told", STATUS, contains("removed you")).await;
    wait_up_to(
        v,
        Duration::from_secs(2),
        "the kicked viewer's media connections closed",
        "return window.__pcs.length > 0 && window.__pcs.every((pc) => pc.connectionState === 'closed')",
        |v| v == &json!(true),
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if !holds_kicked(&janus.handles().await) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Janus still holds the kicked viewer's handles"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(v, "janus-webinar-kicked").await;
    assert!(
        matches!(
            janus_socket_refusal(&app, "localhost/lecture", &token).await,
            Some(401 | 403)
        ),
        "the kicked viewer's token opens the Janus socket"
    );
    // (From another page: the same URL with only a new fragment would not load it again.)
    v.goto("about:blank").await.unwrap();
    v.goto(format!("{room_url}#peerToken={token}"))
        .await
        .unwrap();
    wait_for(v, "the old link refused", STATUS, contains("has ended")).await;
    // The other viewer still watches.
    let before = stats(&viewers[0]).await;
    let frames = |s: &[Value]| {
        s.iter()
            .find(|x| x["peerId"] == json!(h))
            .and_then(|x| x["framesDecoded"].as_u64())
            .unwrap_or(0)
    };
    let n = frames(&before);
    wait_up_to(
        &viewers[0],
        Duration::from_secs(10),
        "the other viewer still decoding",
        &format!("return window.__meetplane.stats().then((s) => s.find((p) => p.peerId === '{h}')?.framesDecoded ?? 0)"),
        |v| v.as_u64().is_some_and(|x| x > n),
    )
    .await;
    host.quit().await.unwrap();
    for v in viewers {
        v.quit().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_pages_reach_janus_through_coturn() {
    in_netns!("relay_only_pages_reach_janus_through_coturn");
    if !turn::installed() {
        return;
    }
    let coturn = Coturn::start();
    let url = format!("turn:127.0.0.1:{}?transport=udp", coturn.port);
    let Some((janus, app)) = start(|c| {
        c.media.ice_servers = vec![url];
        c.media.turn_secret = Some(SecretString::new(turn::SECRET));
    })
    .await
    else {
        return;
    };
    room(
        &app,
        json!({"domain": "localhost", "name": "relayed", "addHostKey": true}),
    )
    .await;
    let mut driver = Driver::start().await;
    let pages = join_all(
        &mut driver,
        &format!("{}/join/localhost/relayed?ice=relay", app.address),
        &["Near", "Far"],
    )
    .await;
    let ids = vec![peer_id(&pages[0]).await, peer_id(&pages[1]).await];
    for (i, b) in pages.iter().enumerate() {
        wait_sfu(b).await;
        wait_media_from(b, "media through the relay and Janus", &others(&ids, i)).await;
        for s in stats(b).await {
            assert_eq!(s["localCandidateType"], json!("relay"), "{s}");
        }
    }
    assert_eq!(janus.publishers().await.len(), 2);
    screenshot(&pages[1], "janus-turn").await;
    for b in pages {
        b.quit().await.unwrap();
    }
    drop(coturn);
}
