//! `GET /v1/rooms/{domain}/{name}/ice-servers`: ICE servers for a peer's browser, TURN
//! credentials in coturn's REST API form (checked against a real coturn), the media mode.
use std::{
    io::{BufRead, BufReader},
    net::UdpSocket,
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{TimeDelta, Utc};
use hmac::{Hmac, Mac};
use meetplane::{clock::ManualClock, config::Config};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha1::Sha1;

use crate::{
    helpers::{TestApp, assert_problem, read},
    signalling::{Peer, enter},
};

const SECRET: &str = "the-coturn-static-auth-secret";

async fn ice(app: &TestApp, room: &str, token: &str) -> (StatusCode, Value) {
    read(
        app.request(
            Method::GET,
            &format!("/v1/rooms/localhost/{room}/ice-servers"),
        )
        .bearer_auth(token)
        .send()
        .await
        .unwrap(),
    )
    .await
}

/// The password coturn expects for `username` under `secret`, computed here on its own.
fn turn_password(secret: &str, username: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(username.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

async fn room_with_peers(app: &TestApp, room: &str, n: usize) -> Vec<Peer> {
    let t = app.token().await;
    app.create_room(&t, json!({"domain": "localhost", "name": room}))
        .await;
    let mut peers = Vec::new();
    for i in 0..n {
        peers.push(enter(&app.address, room, &format!("p{i}")).await);
    }
    peers
}

#[tokio::test]
async fn no_servers_unless_configured() {
    let app = TestApp::spawn().await;
    let peers = room_with_peers(&app, "plain", 1).await;
    let resp = app
        .request(Method::GET, "/v1/rooms/localhost/plain/ice-servers")
        .bearer_auth(&peers[0].token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let (status, body) = read(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"iceServers": [], "expiresAt": null, "meshMaxPeers": 6, "mode": "mesh",
               "janus": null, "sfuUnavailable": false})
    );
}

fn with_turn(port: u16, secret: &str) -> impl FnOnce(&mut Config) {
    let secret = secret.to_string();
    move |c: &mut Config| {
        c.media.ice_servers = vec![
            "stun:stun.meetplane.test:3478".into(),
            format!("turn:127.0.0.1:{port}?transport=udp"),
            "turns:turn.meetplane.test:5349".into(),
        ];
        c.media.turn_secret = Some(meetplane::config::SecretString::new(secret));
        c.media.turn_ttl = Duration::from_secs(3600);
        c.media.mesh_max_peers = 2;
    }
}

#[tokio::test]
async fn turn_credentials_are_minted_per_peer_and_big_rooms_need_the_sfu() {
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_configured(Arc::new(clock.clone()), with_turn(3478, SECRET)).await;
    let peers = room_with_peers(&app, "turned", 2).await;
    let (status, body) = ice(&app, "turned", &peers[0].token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let expiry = (meetplane::clock::Clock::now(&clock) + TimeDelta::hours(1)).timestamp();
    let username = format!("{expiry}:{}", peers[0].id);
    assert_eq!(
        body["iceServers"],
        json!([
            {"urls": ["stun:stun.meetplane.test:3478"]},
            {"urls": ["turn:127.0.0.1:3478?transport=udp", "turns:turn.meetplane.test:5349"],
             "username": username, "credential": turn_password(SECRET, &username)},
        ]),
        "credentials go with the TURN URLs only"
    );
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(body["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires_at.timestamp(), expiry);
    assert_eq!(
        (body["meshMaxPeers"].clone(), body["mode"].clone()),
        (json!(2), json!("mesh"))
    );
    // Another peer gets a username of its own.
    let (_, other) = ice(&app, "turned", &peers[1].token).await;
    assert_eq!(
        other["iceServers"][1]["username"],
        format!("{expiry}:{}", peers[1].id).as_str()
    );

    // A third present peer is one more than the mesh serves.
    let third = enter(&app.address, "turned", "p2").await;
    let (_, body) = ice(&app, "turned", &third.token).await;
    assert_eq!(body["mode"], "sfu_required", "{body}");

    // Only the room's own present peers ask.
    let (status, body) = ice(&app, "elsewhere", &peers[0].token).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "peer_not_in_room");
    let (status, body) = ice(&app, "turned", "mppt_not-a-token").await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "invalid_peer_token",
    );
    let (status, body) = read(
        app.request(Method::POST, "/v1/rooms/localhost/turned/leave")
            .bearer_auth(&third.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = ice(&app, "turned", &third.token).await;
    assert_problem(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "invalid_peer_token",
    );
    let (_, body) = ice(&app, "turned", &peers[0].token).await;
    assert_eq!(body["mode"], "mesh", "back to two present peers: {body}");
}

/// A `turnserver` of the coturn package on a free loopback port, with the REST API secret.
struct Coturn {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn installed(binary: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| Path::new(&d).join(binary).is_file()))
}

impl Coturn {
    /// Start it, or `None` (outside CI) when coturn is not installed.
    fn start(secret: &str) -> Option<Self> {
        if !installed("turnserver") || !installed("turnutils_uclient") {
            assert!(
                std::env::var("CI").is_err(),
                "the TURN test needs coturn (apt-get install coturn)"
            );
            eprintln!("skipped: the TURN test needs coturn's turnserver and turnutils_uclient");
            return None;
        }
        // The port is free when picked but may be taken before coturn binds it (tests run in
        // parallel): a coturn that exits or stays silent is tried again on another port.
        for _ in 0..3 {
            if let Some(coturn) = Self::spawn_on_free_port(secret) {
                return Some(coturn);
            }
        }
        panic!("coturn did not answer on any of three ports");
    }

    fn spawn_on_free_port(secret: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("turnserver")
            .args([
                "-n",
                "--listening-port",
                &port.to_string(),
                "--use-auth-secret",
                &format!("--static-auth-secret={secret}"),
                "--realm=meetplane.test",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--allow-loopback-peers",
                "--log-file=stdout",
            ])
            .arg(format!("--userdb={}", dir.path().join("turndb").display()))
            .arg(format!("--pidfile={}", dir.path().join("pid").display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if std::env::var("MEETPLANE_TEST_NODE_LOGS").is_ok() {
                    eprintln!("coturn: {line}");
                }
            }
        });
        let mut coturn = Coturn {
            child,
            port,
            _dir: dir,
        };
        coturn.answers().then_some(coturn)
    }

    /// Ask for a STUN binding until the server answers (it is then listening); `false` when
    /// it exited or stayed silent for 20 s.
    fn answers(&mut self) -> bool {
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        probe
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        // A Binding request: type 0x0001, length 0, the magic cookie, a transaction id.
        let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        request.extend_from_slice(b"meetplane-tx");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut answer = [0u8; 512];
        loop {
            probe.send_to(&request, ("127.0.0.1", self.port)).unwrap();
            if let Ok((n, _)) = probe.recv_from(&mut answer)
                && n >= 20
                && answer[..2] == [0x01, 0x01]
            {
                return true;
            }
            if std::time::Instant::now() > deadline || !matches!(self.child.try_wait(), Ok(None)) {
                eprintln!("coturn did not answer on port {}", self.port);
                return false;
            }
        }
    }
}

/// Whether `turnutils_uclient` allocates a relay on the coturn at `port` with these
/// credentials and sends through it (run off the async threads: it blocks).
async fn allocates(port: u16, username: &str, password: &str) -> bool {
    let (username, password) = (username.to_string(), password.to_string());
    tokio::task::spawn_blocking(move || {
        let out = Command::new("turnutils_uclient")
            .args(["-p", &port.to_string(), "-u", &username, "-w", &password])
            // One client pair talking through their relays, one message each.
            .args(["-y", "-c", "-n", "1", "-m", "1", "127.0.0.1"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let refused = text.contains("Cannot complete Allocation");
        assert_eq!(out.status.success(), !refused, "{text}");
        out.status.success()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn minted_credentials_open_a_relay_on_a_real_coturn() {
    let Some(coturn) = Coturn::start(SECRET) else {
        return;
    };
    let clock = ManualClock::new(Utc::now());
    let app =
        TestApp::spawn_configured(Arc::new(clock.clone()), with_turn(coturn.port, SECRET)).await;
    let peers = room_with_peers(&app, "relayed", 1).await;
    let (status, body) = ice(&app, "relayed", &peers[0].token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let turn = &body["iceServers"][1];
    let username = turn["username"].as_str().unwrap().to_string();
    let password = turn["credential"].as_str().unwrap().to_string();
    assert!(
        allocates(coturn.port, &username, &password).await,
        "the minted credential allocates a relay"
    );
    assert!(
        !allocates(
            coturn.port,
            &username,
            &turn_password("some-other-secret", &username)
        )
        .await,
        "a credential from another secret is refused"
    );
    // Minted two hours ago with a one-hour lifetime: expired.
    clock.set(Utc::now() - TimeDelta::hours(2));
    let (_, body) = ice(&app, "relayed", &peers[0].token).await;
    let turn = &body["iceServers"][1];
    let (u, p) = (
        turn["username"].as_str().unwrap().to_string(),
        turn["credential"].as_str().unwrap().to_string(),
    );
    assert_eq!(p, turn_password(SECRET, &u), "rightly signed");
    assert!(
        !allocates(coturn.port, &u, &p).await,
        "an expired credential is refused"
    );
}
