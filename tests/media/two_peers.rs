//! Two people from session links (the owner, and a guest who knocks and whom the owner lets in
//! from the page) see and hear each other over the mesh.
use crate::{
    browser::{Driver, screenshot, wait_for},
    helpers::TestApp,
    in_netns,
    pages::{
        admit_if_knocking, link, media_browser, meeting_built, open_and_join, peer_id, press_join,
        subscribe, wait_in_meeting, wait_media_from,
    },
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_and_guest_decode_each_others_video_and_audio() {
    in_netns!("owner_and_guest_decode_each_others_video_and_audio");
    let app = TestApp::spawn().await;
    if !meeting_built(&app).await {
        return;
    }
    subscribe(&app, "dr-who").await;
    let mut driver = Driver::start().await;
    let owner = media_browser(&mut driver).await;
    open_and_join(&owner, &link(&app, "visit", "dr-who", "owner", "Dr Who")).await;
    wait_in_meeting(&owner).await;
    let guest = media_browser(&mut driver).await;
    // The preview before entering, with the devices listed.
    guest
        .goto(link(&app, "visit", "dr-who", "guest", "Joe Guest"))
        .await
        .unwrap();
    wait_for(
        &guest,
        "the camera preview and the device lists",
        "const v = document.querySelector('.preview video'); const o = document.querySelectorAll('select[aria-label=Camera] option'); \
         return !!v && v.videoWidth > 0 && o.length > 1",
        |v| v == &serde_json::json!(true),
    )
    .await;
    screenshot(&guest, "media-prejoin").await;
    press_join(&guest).await;
    let knocked = admit_if_knocking(&owner, &guest, "Joe Guest").await;
    assert!(
        knocked,
        "a guest knocks: the org's guest lobby is on by default"
    );
    wait_in_meeting(&guest).await;
    let (o, g) = (peer_id(&owner).await, peer_id(&guest).await);
    assert_ne!(o, g);
    let seen_by_guest = wait_media_from(&guest, "the guest decoding the owner", &[&o]).await;
    let seen_by_owner = wait_media_from(&owner, "the owner decoding the guest", &[&g]).await;
    eprintln!("owner: {seen_by_owner:?}\nguest: {seen_by_guest:?}");
    // The fake microphone beeps: the guest's tile on the owner's page lights up.
    wait_for(
        &owner,
        "the guest's speaking indicator",
        &format!("return !!document.querySelector('.tile.speaking[data-peer-id=\"{g}\"]')"),
        |v| v == &serde_json::json!(true),
    )
    .await;
    screenshot(&owner, "media-owner").await;
    screenshot(&guest, "media-guest").await;
    // Muted and camera off: the page says so on the owner's own tile and the buttons flip.
    owner
        .execute(
            "document.getElementById('mute').click(); document.getElementById('camera').click()",
            Vec::new(),
        )
        .await
        .unwrap();
    let states = wait_for(
        &owner,
        "muted, camera off",
        "return [document.getElementById('mute').getAttribute('aria-label'), \
            document.getElementById('camera').getAttribute('aria-label'), \
            document.querySelector('.tile figcaption')?.textContent]",
        |v| v[0] == "Unmute microphone" && v[1] == "Turn camera on",
    )
    .await;
    assert!(
        states[2]
            .as_str()
            .is_some_and(|c| c.contains("(you)") && c.contains("muted")),
        "{states}"
    );
    screenshot(&owner, "media-owner-muted-camera-off").await;
    owner.quit().await.unwrap();
    guest.quit().await.unwrap();
}
