//! meetplane as real processes: killed with SIGKILL mid-delivery and restarted, and several
//! nodes sharing one Postgres (exactly-once delivery attempts, realtime across nodes).
use std::{
    collections::{BTreeMap, HashMap},
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use futures_util::StreamExt;
use meetplane::auth::seal::MasterKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestClient, TestDb, read},
    realtime::{connect, next, next_of, send},
    receiver::{Receiver, Reply},
};

/// A `meetplane serve` process.
pub struct Node {
    child: Child,
    pub address: String,
    http: reqwest::Client,
    /// Every line the node has written to stderr so far.
    logs: Arc<Mutex<Vec<String>>>,
}

pub struct Cluster {
    pub db: Arc<TestDb>,
    key: MasterKey,
}

impl Cluster {
    pub fn new(db: TestDb) -> Self {
        Self {
            db: Arc::new(db),
            key: MasterKey::generate(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_meetplane"));
        cmd.args(args)
            .env("DATABASE_URL", self.db.url())
            .env("MEETPLANE_MASTER_KEY", self.key.to_hex())
            .env("MEETPLANE_DATA_DIR", self.db.dir())
            .env("MEETPLANE_LISTEN", "127.0.0.1:0")
            .env("MEETPLANE_LOG_FORMAT", "json")
            .env("MEETPLANE_ALLOW_PRIVATE_TARGETS", "true")
            .env("MEETPLANE_WEBHOOK_TIMEOUT", "1s")
            .env("MEETPLANE_DELIVERY_LEASE", "2s")
            .env("RUST_LOG", "info,sqlx=warn,sea_orm=warn");
        cmd
    }

    /// Start a node and wait until it listens.
    pub fn start(&self) -> Node {
        self.start_with(&[])
    }

    /// Start a node with some settings changed.
    pub fn start_with(&self, env: &[(&str, &str)]) -> Node {
        let mut child = self
            .command(&["serve"])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let kept = logs.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line.clone());
                let port = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v["port"].as_u64());
                if let Some(port) = port
                    && let Some(sender) = tx.take()
                {
                    let _ = sender.send(port);
                }
                if std::env::var("MEETPLANE_TEST_NODE_LOGS").is_ok() {
                    eprintln!("node: {line}");
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the node starts and logs its port");
        Node {
            child,
            address: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            logs,
        }
    }

    /// An API client created with the CLI.
    pub fn client(&self) -> TestClient {
        let out = self
            .command(&[
                "client", "create", "--org", "Default", "--name", "nodes", "--json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        TestClient {
            org_id: v["orgId"].as_str().unwrap().parse().unwrap(),
            api_key: v["apiKey"].as_str().unwrap().into(),
            secret: v["apiKeySecret"].as_str().unwrap().into(),
        }
    }
}

impl Node {
    pub async fn token(&self, c: &TestClient) -> String {
        let resp = self
            .http
            .post(format!("{}/v1/auth/token", self.address))
            .basic_auth(&c.api_key, Some(&c.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        resp.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .into()
    }

    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.unwrap()).await
    }

    /// SIGTERM, then wait for the process to exit (a minute at most).
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the node did not exit within a minute of SIGTERM");
    }

    /// SIGKILL: no shutdown handling at all.
    /// The first JSON log line `accept` takes, waiting up to 30 s for it to be written.
    pub async fn log_line(&self, accept: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let found = self
                .logs
                .lock()
                .unwrap()
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| accept(v));
            if let Some(line) = found {
                return line;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no such log line in {:#?}",
                self.logs.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn child(&self) -> &Child {
        &self.child
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The Postgres server multi-node tests run against. In CI its absence is a failure.
pub(crate) fn postgres_url() -> Option<String> {
    let url = std::env::var("MEETPLANE_TEST_DATABASE_URL")
        .ok()
        .or_else(|| std::env::var("MEETPLANE_TEST_POSTGRES_URL").ok())
        .filter(|u| u.starts_with("postgres"));
    if url.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "multi-node tests need Postgres: set MEETPLANE_TEST_POSTGRES_URL"
        );
        eprintln!("skipped: multi-node tests need Postgres (set MEETPLANE_TEST_POSTGRES_URL)");
    }
    url
}

pub(crate) async fn validated_hook(
    node: &Node,
    token: &str,
    org: &str,
    receiver: &Receiver,
) -> i64 {
    let (_, d) = node
        .call(
            token,
            Method::GET,
            &format!("/v1/orgs/{org}/domains/localhost"),
            None,
        )
        .await;
    let key = d["content"]["webhookKey"].as_str().unwrap().to_string();
    let (_, hook) = node
        .call(
            token,
            Method::POST,
            &format!("/v1/orgs/{org}/webhooks"),
            Some(json!({"domain": "localhost", "type": "url", "url": receiver.url})),
        )
        .await;
    let id = hook["content"]["webhookId"].as_i64().unwrap();
    receiver.answer_next(Reply::Validate(key));
    let (_, v) = node
        .call(
            token,
            Method::POST,
            &format!("/v1/orgs/{org}/webhooks/{id}/validate"),
            None,
        )
        .await;
    assert_eq!(v["content"]["validated"], true, "{v}");
    id
}

#[tokio::test]
async fn a_request_logs_one_json_line_with_its_id() {
    let cluster = Cluster::new(TestDb::create().await);
    let node = cluster.start();
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/v1/orgs/not-an-org/rooms", node.address))
        .header("x-request-id", "trace-me-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let line = node
        .log_line(|v| v["request_id"] == "trace-me-1" && v["message"] == "request")
        .await;
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["path"], "/v1/orgs/not-an-org/rooms");
    assert_eq!(line["status"], 401);
    assert!(line["elapsed_ms"].as_f64().is_some(), "{line}");
    assert!(line["timestamp"].as_str().is_some(), "{line}");
    // A request id the server made itself is the one it answered with.
    let resp = http
        .get(format!("{}/readyz", node.address))
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let line = node.log_line(|v| v["request_id"] == id.as_str()).await;
    assert_eq!(line["path"], "/readyz");
    assert_eq!(line["status"], 200);
}

#[tokio::test]
async fn request_lines_do_not_show_session_links_or_tokens() {
    // Whoever reads the log must not be able to open the link (or act as the peer) from it.
    let cluster = Cluster::new(TestDb::create().await);
    let node = cluster.start();
    let http = reqwest::Client::new();
    let link = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJub2JvZHkifQ.c2VjcmV0LXNpZ25hdHVyZQ";
    for (id, path) in [
        ("redact-link", format!("/v1/session/{link}")),
        (
            "redact-token",
            "/v1/rooms/mppt_peer-token-secret/x".to_string(),
        ),
    ] {
        http.get(format!("{}{path}", node.address))
            .header("x-request-id", id)
            .send()
            .await
            .unwrap();
        let line = node
            .log_line(|v| v["request_id"] == id && v["message"] == "request")
            .await;
        let logged = line["path"].as_str().unwrap();
        assert!(logged.contains("[redacted]"), "{line}");
    }
    let line = node
        .log_line(|v| v["request_id"] == "redact-link" && v["message"] == "request")
        .await;
    assert_eq!(line["path"], "/v1/session/[redacted]");
    let logs = node.logs.lock().unwrap().join("\n");
    for secret in [
        "c2VjcmV0LXNpZ25hdHVyZQ",
        "eyJpc3MiOiJub2JvZHkifQ",
        "peer-token-secret",
    ] {
        assert!(!logs.contains(secret), "{secret} in {logs}");
    }
}

#[tokio::test]
async fn a_killed_node_loses_nothing_and_repeats_with_the_same_webhook_id() {
    let cluster = Cluster::new(TestDb::create().await);
    let mut node = cluster.start();
    let client = cluster.client();
    let org = client.org_id.to_string();
    let t = node.token(&client).await;
    let receiver = Receiver::start().await;
    validated_hook(&node, &t, &org, &receiver).await;

    // The receiver hangs: the first delivery is in flight when the node dies; the rest wait
    // behind it (one room, so one order).
    receiver.answer(Reply::Slow(Duration::from_secs(30)));
    node.call(
        &t,
        Method::POST,
        &format!("/v1/orgs/{org}/rooms"),
        Some(json!({"domain": "localhost", "name": "crash"})),
    )
    .await;
    for i in 0..5 {
        let (s, b) = node
            .call(
                &t,
                Method::POST,
                &format!("/v1/orgs/{org}/rooms/localhost/crash/peers"),
                Some(json!({"displayName": format!("p{i}"), "role": "user"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    receiver.wait_for(2).await; // the handshake and the in-flight first event
    node.kill();

    receiver.answer(Reply::Status(200));
    let node = cluster.start();
    let got = receiver.wait_for(2 + 6).await;
    let deliveries: Vec<_> = got
        .iter()
        .filter(|r| r.json["event"] != "validation")
        .collect();
    let mut ids_by_event: HashMap<String, Vec<String>> = HashMap::new();
    let mut first_seen = Vec::new();
    for r in &deliveries {
        let event = r.json["eventId"].as_str().unwrap().to_string();
        if !ids_by_event.contains_key(&event) {
            first_seen.push(r.json["seq"].as_i64().unwrap());
        }
        ids_by_event
            .entry(event)
            .or_default()
            .push(r.header("webhook-id").unwrap().to_string());
    }
    assert_eq!(ids_by_event.len(), 6, "every event arrived");
    assert_eq!(first_seen, [1, 2, 3, 4, 5, 6], "in order");
    for ids in ids_by_event.values() {
        assert!(
            ids.iter().all(|id| id == &ids[0]),
            "a repeat carries the same webhook-id: {ids:?}"
        );
    }
    assert!(
        ids_by_event.values().any(|ids| ids.len() >= 2),
        "the in-flight delivery was repeated"
    );
    drop(node);
}

#[tokio::test]
async fn a_terminated_node_finishes_its_in_flight_request_and_delivery() {
    let cluster = Cluster::new(TestDb::create().await);
    let mut node = cluster.start();
    let client = cluster.client();
    let org = client.org_id.to_string();
    let t = node.token(&client).await;
    let receiver = Receiver::start().await;
    let hook = validated_hook(&node, &t, &org, &receiver).await;

    // A delivery in flight: the receiver takes 700 ms (under the 1 s webhook timeout).
    receiver.answer(Reply::Slow(Duration::from_millis(700)));
    node.call(
        &t,
        Method::POST,
        &format!("/v1/orgs/{org}/rooms"),
        Some(json!({"domain": "localhost", "name": "draining"})),
    )
    .await;
    receiver.wait_for(2).await;
    // A request in flight: validating calls the (slow) receiver before answering.
    let validating = {
        let (http, url) = (reqwest::Client::new(), node.address.clone());
        let (t, org) = (t.clone(), org.clone());
        tokio::spawn(async move {
            http.post(format!("{url}/v1/orgs/{org}/webhooks/{hook}/validate"))
                .bearer_auth(t)
                .send()
                .await
                .map(|r| r.status())
        })
    };
    receiver.wait_for(3).await;
    let status = node.terminate().await;
    assert!(status.success(), "a clean exit: {status}");
    let answered = validating
        .await
        .unwrap()
        .expect("the in-flight request was answered");
    assert_eq!(answered, StatusCode::OK);

    // The delivery's result was recorded before the node exited: a new node has nothing to
    // repeat, and the receiver got the event once.
    receiver.answer(Reply::Status(200));
    let node = cluster.start();
    let t = node.token(&client).await;
    let (_, log) = node
        .call(
            &t,
            Method::GET,
            &format!("/v1/orgs/{org}/webhooks/{hook}/deliveries"),
            None,
        )
        .await;
    let first = log["content"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (first["status"].as_str(), first["attempts"].as_i64()),
        (Some("delivered"), Some(1)),
        "{log}"
    );
    let events = receiver
        .received()
        .iter()
        .filter(|r| r.json["event"] == "roomCreated")
        .count();
    assert_eq!(events, 1);
    drop(node);
}

#[tokio::test]
async fn nodes_on_one_postgres_deliver_each_attempt_once_and_share_realtime() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let db = TestDb::create_postgres(&admin_url).await;
    let cluster = Cluster::new(db);
    let a = cluster.start();
    let b = cluster.start();
    let c = cluster.start();
    let client = cluster.client();
    let org = client.org_id.to_string();
    let (ta, tb, tc) = (
        a.token(&client).await,
        b.token(&client).await,
        c.token(&client).await,
    );
    let receiver = Receiver::start().await;
    let hook = validated_hook(&a, &ta, &org, &receiver).await;

    // A socket on node A sees what happens through node B.
    let mut socket = connect(&a.address, &ta).await;
    next(&mut socket).await;
    send(&mut socket, json!({"type": "subscribe", "org": true})).await;
    next_of(&mut socket, "subscribed").await;
    b.call(
        &tb,
        Method::POST,
        &format!("/v1/orgs/{org}/rooms"),
        Some(json!({"domain": "localhost", "name": "seen-on-a"})),
    )
    .await;
    let e = next_of(&mut socket, "event").await;
    assert_eq!(
        (e["event"].clone(), e["room"].clone()),
        (json!("roomCreated"), json!("seen-on-a"))
    );

    // Many events, caused through all three nodes; every node's worker competes for them.
    let nodes = [(&a, &ta), (&b, &tb), (&c, &tc)];
    let mut expected = 1;
    for room in 0..12 {
        let (node, t) = nodes[room % 3];
        node.call(
            t,
            Method::POST,
            &format!("/v1/orgs/{org}/rooms"),
            Some(json!({"domain": "localhost", "name": format!("r{room}")})),
        )
        .await;
        expected += 1;
        for p in 0..4 {
            let (node, t) = nodes[(room + p + 1) % 3];
            let (s, body) = node
                .call(
                    t,
                    Method::POST,
                    &format!("/v1/orgs/{org}/rooms/localhost/r{room}/peers"),
                    Some(json!({"displayName": format!("p{p}"), "role": "user"})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{body}");
            expected += 1;
        }
    }
    receiver.wait_for(1 + expected).await;
    // A room's events reach a webhook in order, each once its earlier ones are settled: when
    // a last event of every room has arrived, nothing before it is still to come (again).
    let rooms: Vec<String> = std::iter::once("seen-on-a".to_string())
        .chain((0..12).map(|r| format!("r{r}")))
        .collect();
    for (i, room) in rooms.iter().enumerate() {
        let (node, t) = nodes[i % 3];
        let (s, body) = node
            .call(
                t,
                Method::POST,
                &format!("/v1/orgs/{org}/rooms/localhost/{room}/peers"),
                Some(json!({"displayName": "last", "role": "user"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        expected += 1;
    }
    let got_after = receiver.wait_for(1 + expected).await;
    assert_eq!(got_after.len(), 1 + expected, "no extra deliveries");
    for room in &rooms {
        let last = got_after.iter().rfind(|r| r.json["room"] == room.as_str());
        assert_eq!(
            last.map(|r| &r.json["payload"]["client"]["displayName"]),
            Some(&json!("last")),
            "{room}: {:?}",
            last.map(|r| &r.json)
        );
    }
    let mut per_message: HashMap<String, usize> = HashMap::new();
    let mut per_room: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in got_after.iter().filter(|r| r.json["event"] != "validation") {
        *per_message
            .entry(r.header("webhook-id").unwrap().to_string())
            .or_default() += 1;
        per_room
            .entry(r.json["room"].as_str().unwrap().to_string())
            .or_default()
            .push(r.json["seq"].as_i64().unwrap());
    }
    assert_eq!(per_message.len(), expected);
    assert!(
        per_message.values().all(|n| *n == 1),
        "each delivery attempted once"
    );
    for (room, seqs) in per_room {
        let mut sorted = seqs.clone();
        sorted.sort();
        assert_eq!(seqs, sorted, "events of {room} arrived in order");
    }
    // The receiver answers before the node records the answer: wait for the last records.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let log = loop {
        let (_, log) = a
            .call(
                &ta,
                Method::GET,
                &format!("/v1/orgs/{org}/webhooks/{hook}/deliveries?count=500"),
                None,
            )
            .await;
        let settled = log["content"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] != "pending");
        if settled || tokio::time::Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        log["content"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["attempts"] == 1 && d["status"] == "delivered"),
        "{log}"
    );
}

#[tokio::test]
async fn nodes_on_one_postgres_activate_each_booking_once() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let cluster = Cluster::new(TestDb::create_postgres(&admin_url).await);
    let nodes = [cluster.start(), cluster.start(), cluster.start()];
    let client = cluster.client();
    let org = client.org_id.to_string();
    let t = nodes[0].token(&client).await;
    let receiver = Receiver::start().await;
    let (_, d) = nodes[0]
        .call(
            &t,
            Method::GET,
            &format!("/v1/orgs/{org}/domains/localhost"),
            None,
        )
        .await;
    let key = d["content"]["webhookKey"].as_str().unwrap().to_string();
    let (_, hook) = nodes[0]
        .call(&t, Method::POST, &format!("/v1/orgs/{org}/webhooks"),
            Some(json!({"domain": "localhost", "type": "url", "url": receiver.url, "events": ["bookingActivated"]})))
        .await;
    receiver.answer_next(Reply::Validate(key));
    let id = hook["content"]["webhookId"].as_i64().unwrap();
    nodes[0]
        .call(
            &t,
            Method::POST,
            &format!("/v1/orgs/{org}/webhooks/{id}/validate"),
            None,
        )
        .await;

    const N: usize = 500;
    let adds = (0..N).map(|i| {
        let node = &nodes[i % 3];
        let (t, org) = (&t, &org);
        async move {
            // Due a few seconds after it is booked, however long booking them all takes on a
            // busy machine: activations overlap with the adds still coming in, on every node.
            let start = chrono::Utc::now() + chrono::TimeDelta::seconds(3);
            let body = json!({"domain": "localhost", "roomName": format!("b{i}"), "startTime": start.to_rfc3339(), "meetingOptions": {"duration": 30}});
            let (s, b) = node.call(t, Method::POST, &format!("/v1/orgs/{org}/bookings"), Some(body)).await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
        }
    });
    futures_util::stream::iter(adds)
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;

    let got = receiver.wait_for(1 + N).await;
    // A second activation would be an event of its own, its delivery queued in the
    // transaction that activated: once every delivery in the log is made, the log has one
    // per booking, and the receiver all there will be.
    let log_path = format!("/v1/orgs/{org}/webhooks/{id}/deliveries?count=500");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let log = loop {
        let (_, log) = nodes[1].call(&t, Method::GET, &log_path, None).await;
        let rows = log["content"].as_array().unwrap();
        if rows.iter().all(|d| d["status"] == "delivered") {
            break log;
        }
        assert!(tokio::time::Instant::now() < deadline, "{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let rows = log["content"].as_array().unwrap();
    assert_eq!(rows.len(), N, "one delivery per booking");
    assert!(log["_links"].get("next").is_none(), "{}", log["_links"]);
    assert!(rows.iter().all(|d| d["attempts"] == 1), "{log}");
    let activations: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.json["event"] == "bookingActivated")
        .collect();
    let mut per_booking: HashMap<i64, usize> = HashMap::new();
    for r in &activations {
        *per_booking
            .entry(r.json["payload"]["booking"]["id"].as_i64().unwrap())
            .or_default() += 1;
    }
    assert_eq!(got.len(), 1 + N);
    assert_eq!(per_booking.len(), N, "every booking activated");
    assert!(per_booking.values().all(|n| *n == 1), "each exactly once");
    let (_, active) = nodes[1]
        .call(
            &t,
            Method::GET,
            &format!("/v1/orgs/{org}/bookings?state=active&count=500"),
            None,
        )
        .await;
    assert_eq!(active["content"].as_array().unwrap().len(), N);
    let (_, rooms) = nodes[2]
        .call(
            &t,
            Method::GET,
            &format!("/v1/orgs/{org}/rooms?count=500"),
            None,
        )
        .await;
    assert_eq!(
        rooms["content"].as_array().unwrap().len(),
        N,
        "one room per booking"
    );
}

/// Reads are answered from memory while the database is unchanged, on Postgres too: a change
/// made through one node shows on another at once, in lists and in token checks.
#[tokio::test]
async fn a_change_through_one_node_shows_on_another_at_once() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let cluster = Cluster::new(TestDb::create_postgres(&admin_url).await);
    let (a, b) = (cluster.start(), cluster.start());
    let (admin, other) = (cluster.client(), cluster.client());
    let org = admin.org_id.to_string();
    let (ta, tb, other_b) = (
        a.token(&admin).await,
        b.token(&admin).await,
        b.token(&other).await,
    );
    let rooms = format!("/v1/orgs/{org}/rooms");
    let list = || async {
        let (s, body) = b.call(&tb, Method::GET, &rooms, None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["content"].clone()
    };
    assert_eq!(list().await, json!([]));
    assert_eq!(list().await, json!([]), "unchanged, read twice");
    let (s, body) = a
        .call(
            &ta,
            Method::POST,
            &rooms,
            Some(json!({"domain": "localhost", "name": "shared"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(list().await[0]["name"], "shared");
    assert_eq!(list().await[0]["isLocked"], false);
    let (s, body) = a
        .call(
            &ta,
            Method::PUT,
            &format!("{rooms}/localhost/shared/lock"),
            Some(json!({"lock": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(list().await[0]["isLocked"], true);

    // A token checked (and kept) on node B is refused there once its client is deleted on A.
    let (s, _) = b.call(&other_b, Method::GET, &rooms, None).await;
    assert_eq!(s, StatusCode::OK);
    let clients = format!("/v1/orgs/{org}/clients");
    let (_, listed) = a
        .call(&ta, Method::GET, &format!("{clients}?count=100"), None)
        .await;
    let id = listed["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["apiKey"] == other.api_key.as_str())
        .expect("the second client is listed")["clientId"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, body) = a
        .call(&ta, Method::DELETE, &format!("{clients}/{id}"), None)
        .await;
    assert!(s.is_success(), "{s} {body}");
    let (s, body) = b.call(&other_b, Method::GET, &rooms, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
}
