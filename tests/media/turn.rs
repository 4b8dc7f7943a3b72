//! TURN: a real coturn (`turnserver`, Debian's coturn) with the TURN REST API secret, the
//! server minting each peer's credentials, and pages restricted to relays (`?ice=relay`):
//! the selected candidate pair's local candidate is a relay, and video is decoded.
use std::{
    net::UdpSocket,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use meetplane::{clock::SystemClock, config::SecretString};
use serde_json::Value;

use crate::{
    browser::{Driver, screenshot, wait_up_to},
    helpers::TestApp,
    in_netns,
    pages::{
        admit_if_knocking, link, media_browser, meeting_built, open_json, peer_id, press_join,
        subscribe, wait_in_meeting, wait_media_from,
    },
};

pub const SECRET: &str = "a-turn-secret-for-the-media-test";

pub struct Coturn {
    child: Child,
    pub port: u16,
}

impl Coturn {
    /// coturn on 127.0.0.1 (a free UDP port of the namespace), ready when it answers a STUN
    /// binding request.
    pub fn start() -> Self {
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("turnserver")
            .args(["-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1"])
            .arg(format!("--listening-port={port}"))
            .args([
                "--use-auth-secret",
                "--realm=meetplane.test",
                "--no-cli",
                "--no-tls",
            ])
            .arg(format!("--static-auth-secret={SECRET}"))
            .args([
                "--no-dtls",
                "--allow-loopback-peers",
                "--min-port=49200",
                "--max-port=49400",
            ])
            .args([
                "--no-stdout-log",
                "--log-file=/dev/null",
                "--no-software-attribute",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver starts (apt-get install -y coturn)");
        let mut coturn = Self { child, port };
        coturn.wait_ready();
        coturn
    }

    fn wait_ready(&mut self) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        // A STUN Binding request: type 0x0001, length 0, the magic cookie, a transaction id.
        let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        request.extend_from_slice(b"meetplane-tx");
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut answer = [0u8; 512];
        loop {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "turnserver exited"
            );
            socket.send_to(&request, ("127.0.0.1", self.port)).unwrap();
            if let Ok((n, _)) = socket.recv_from(&mut answer)
                && n >= 20
                && answer[0..2] == [0x01, 0x01]
            {
                return;
            }
            assert!(Instant::now() < deadline, "turnserver did not answer STUN");
        }
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether coturn is installed; without it the test is skipped, saying so (in CI it fails).
pub fn installed() -> bool {
    let which = Command::new("sh")
        .args(["-c", "command -v turnserver"])
        .output()
        .unwrap();
    if !which.status.success() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the TURN tests need coturn: apt-get install -y coturn"
        );
        eprintln!("skipped: the TURN tests need coturn (apt-get install -y coturn)");
    }
    which.status.success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_pages_meet_through_coturn() {
    in_netns!("relay_only_pages_meet_through_coturn");
    if !installed() {
        return;
    }
    let turn = Coturn::start();
    let url = format!("turn:127.0.0.1:{}?transport=udp", turn.port);
    let app = TestApp::spawn_configured(Arc::new(SystemClock), |c| {
        c.media.ice_servers = vec![url];
        c.media.turn_secret = Some(SecretString::new(SECRET));
    })
    .await;
    if !meeting_built(&app).await {
        return;
    }
    subscribe(&app, "dr-who").await;
    let mut driver = Driver::start().await;
    let owner = media_browser(&mut driver).await;
    let guest = media_browser(&mut driver).await;
    for (b, role, name) in [(&owner, "owner", "Dr Who"), (&guest, "guest", "Joe Guest")] {
        let (room, token) = open_json(&app, &link(&app, "visit", "dr-who", role, name)).await;
        b.goto(format!(
            "{}/join/{room}?ice=relay#peerToken={token}",
            app.address
        ))
        .await
        .unwrap();
        press_join(b).await;
        if role == "owner" {
            wait_in_meeting(b).await;
        }
    }
    admit_if_knocking(&owner, &guest, "Joe Guest").await;
    wait_in_meeting(&guest).await;
    let (o, g) = (peer_id(&owner).await, peer_id(&guest).await);
    for (b, other) in [(&owner, &g), (&guest, &o)] {
        wait_media_from(b, "media through the relay", &[other]).await;
        let script = format!(
            "return window.__meetplane.stats().then((s) => s.find((p) => p.peerId === '{other}'))"
        );
        let stats = wait_up_to(
            b,
            Duration::from_secs(10),
            "the selected pair",
            &script,
            |v| !v["localCandidateType"].is_null(),
        )
        .await;
        assert_eq!(stats["localCandidateType"], Value::from("relay"), "{stats}");
    }
    screenshot(&guest, "media-turn-guest").await;
    owner.quit().await.unwrap();
    guest.quit().await.unwrap();
    drop(turn);
}
