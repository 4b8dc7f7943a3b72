//! The command line, run as a real process against the test's database.
//!
//! A test blocks its thread on the process while a server of the test may be running, so the
//! tests run on a runtime with two threads: one may block while the other serves.
use std::{
    io::Write,
    process::{Command, Output, Stdio},
    sync::Arc,
};

use meetplane::{auth::seal::MasterKey, clock::SystemClock};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, TestClient, TestDb, read};

struct Cli {
    db: Arc<TestDb>,
    key: MasterKey,
}

impl Cli {
    async fn new() -> Self {
        Self {
            db: Arc::new(TestDb::create().await),
            key: MasterKey::generate(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_meetplane"));
        cmd.args(args)
            .env("DATABASE_URL", self.db.url())
            .env("MEETPLANE_MASTER_KEY", self.key.to_hex())
            .env("MEETPLANE_DATA_DIR", self.db.dir())
            .env("RUST_LOG", "warn");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "expected failure, got success");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_has_help() {
    let cli = Cli::new().await;
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["openapi", "--help"],
        vec!["org", "create", "--help"],
        vec!["client", "create", "--help"],
        vec!["client", "revoke", "--help"],
        vec!["admin", "create-user", "--help"],
    ] {
        let out = ok(&cli.run(&args));
        assert!(out.contains("Usage: meetplane"), "{args:?}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_org_and_client_then_use_and_revoke_the_client() {
    let cli = Cli::new().await;
    let out = ok(&cli.run(&["migrate"]));
    assert!(out.contains("up to date"), "{out}");
    let org: Value = serde_json::from_str(&ok(&cli.run(&[
        "org",
        "create",
        "--name",
        "Acme",
        "--domain",
        "acme.example",
        "--json",
    ])))
    .unwrap();
    assert_eq!(org["domain"], "acme.example");

    let text = ok(&cli.run(&[
        "client", "create", "--org", "Acme", "--name", "ci", "--json",
    ]));
    let keys: Vec<&str> = text
        .trim()
        .trim_matches(['{', '}'])
        .split(',')
        .map(|kv| kv.split(':').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["\"orgId\"", "\"apiKey\"", "\"apiKeySecret\""],
        "{text}"
    );
    let client: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(client["orgId"], org["orgId"]);
    // ORG may also be the id; the human output shows the secret once.
    let human = ok(&cli.run(&[
        "client",
        "create",
        "--org",
        org["orgId"].as_str().unwrap(),
        "--name",
        "ops",
    ]));
    assert!(human.contains("api key secret: mpsk_"), "{human}");

    let test_client = TestClient {
        org_id: org["orgId"].as_str().unwrap().parse().unwrap(),
        api_key: client["apiKey"].as_str().unwrap().to_string(),
        secret: client["apiKeySecret"].as_str().unwrap().to_string(),
    };
    let app = TestApp::start(
        cli.db.clone(),
        cli.key.clone(),
        Arc::new(SystemClock),
        Some(test_client.clone()),
    )
    .await;
    let token = app.token_for(&test_client).await;
    let (s, root) = app.call(&token, Method::GET, "/v1", None).await;
    assert_eq!(
        (s, &root["content"]["orgId"]),
        (StatusCode::OK, &org["orgId"])
    );

    let out = ok(&cli.run(&["client", "revoke", &test_client.api_key]));
    assert!(out.contains("Revoked"), "{out}");
    let (s, _) = app.call(&token, Method::GET, "/v1", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = read(
        app.request(Method::POST, "/v1/auth/token")
            .basic_auth(&test_client.api_key, Some(&test_client.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // What the CLI changed is in the audit log like any other change, by `cli`.
    ok(&cli.run_with_stdin(
        &[
            "admin",
            "create-user",
            "--email",
            "ops@acme.example",
            "--org",
            "Acme",
        ],
        "correct horse battery staple\n",
    ));
    let auditor: Value = serde_json::from_str(&ok(&cli.run(&[
        "client", "create", "--org", "Acme", "--name", "auditor", "--json",
    ])))
    .unwrap();
    let auditor = TestClient {
        org_id: test_client.org_id,
        api_key: auditor["apiKey"].as_str().unwrap().to_string(),
        secret: auditor["apiKeySecret"].as_str().unwrap().to_string(),
    };
    let token = app.token_for(&auditor).await;
    let path = format!("/v1/orgs/{}/audit", test_client.org_id);
    let (s, log) = app.call(&token, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let mut seen: Vec<(String, String, String)> = log["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (field("action"), field("actorType"), field("targetId"))
        })
        .collect();
    seen.reverse();
    let actions: Vec<(&str, &str)> = seen
        .iter()
        .map(|(a, t, _)| (a.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("client.created", "cli"),
            ("client.created", "cli"),
            ("client.revoked", "cli"),
            ("admin.created", "cli"),
            ("client.created", "cli"),
        ],
        "{log}"
    );

    let err = failed(&cli.run(&["client", "revoke", "no-such-key"]));
    assert!(err.contains("no API client"), "{err}");
    let err = failed(&cli.run(&["client", "create", "--org", "Nobody", "--name", "x"]));
    assert!(err.contains("no organisation"), "{err}");
    let err = failed(&cli.run(&["org", "create", "--name", "Acme", "--domain", "b.example"]));
    assert!(err.contains("already exists"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_users_read_the_password_from_stdin() {
    let cli = Cli::new().await;
    ok(&cli.run(&[
        "org",
        "create",
        "--name",
        "Acme",
        "--domain",
        "acme.example",
    ]));
    let out = ok(&cli.run_with_stdin(
        &[
            "admin",
            "create-user",
            "--email",
            "Boss@Acme.Example",
            "--org",
            "Acme",
            "--role",
            "owner",
        ],
        "correct horse battery staple\n",
    ));
    assert!(out.contains("owner user boss@acme.example"), "{out}");
    let err = failed(&cli.run_with_stdin(
        &[
            "admin",
            "create-user",
            "--email",
            "boss@acme.example",
            "--org",
            "Acme",
        ],
        "another long password\n",
    ));
    assert!(err.contains("already exists"), "{err}");
    let err = failed(&cli.run_with_stdin(
        &[
            "admin",
            "create-user",
            "--email",
            "not-an-email",
            "--org",
            "Acme",
        ],
        "another long password\n",
    ));
    assert!(err.contains("email"), "{err}");
    let err = failed(&cli.run_with_stdin(
        &[
            "admin",
            "create-user",
            "--email",
            "x@acme.example",
            "--org",
            "Acme",
        ],
        "short\n",
    ));
    assert!(err.contains("password"), "{err}");
    let err = failed(&cli.run(&[
        "admin",
        "create-user",
        "--email",
        "x@acme.example",
        "--org",
        "Acme",
        "--role",
        "god",
    ]));
    assert!(err.contains("god"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_stop_start_up_naming_the_setting() {
    let cli = Cli::new().await;
    let err = failed(
        &cli.command(&["migrate"])
            .env("MEETPLANE_LISTEN", "nowhere")
            .output()
            .unwrap(),
    );
    assert!(err.contains("MEETPLANE_LISTEN"), "{err}");
    let err = failed(
        &cli.command(&["migrate"])
            .env("MEETPLANE_LISTN", "x")
            .output()
            .unwrap(),
    );
    assert!(err.contains("MEETPLANE_LISTN"), "{err}");
    let err = failed(
        &cli.command(&["migrate"])
            .env("MEETPLANE_MASTER_KEY", "short")
            .output()
            .unwrap(),
    );
    assert!(
        err.contains("MEETPLANE_MASTER_KEY") && !err.contains("short\""),
        "{err}"
    );
    // A database that cannot be reached: the message names it without its password.
    let err = failed(
        &cli.command(&["migrate"])
            .env(
                "DATABASE_URL",
                "postgres://meet:hunter2@127.0.0.1:1/none?connect_timeout=2",
            )
            .output()
            .unwrap(),
    );
    assert!(
        err.contains("cannot connect") && !err.contains("hunter2"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_prints_the_committed_document() {
    let cli = Cli::new().await;
    let out = ok(&cli.run(&["openapi"]));
    assert!(
        out == include_str!("../../openapi/openapi.json"),
        "`meetplane openapi` differs from openapi/openapi.json"
    );
}

/// `meetplane openapi | head` ends quietly: a reader that goes away is not a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_into_a_closed_pipe_ends_quietly() {
    use std::io::Read;
    let cli = Cli::new().await;
    let mut child = cli
        .command(&["openapi"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 16];
    let mut stdout = child.stdout.take().unwrap();
    stdout.read_exact(&mut head).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
