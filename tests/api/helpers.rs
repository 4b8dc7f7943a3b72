//! The test harness: every test spawns the real application on 127.0.0.1:0 with its own
//! database (a temporary SQLite file, or a fresh Postgres database when
//! MEETPLANE_TEST_DATABASE_URL is set), runs the real migrations, and talks HTTP.
use std::{sync::Arc, time::Duration};

use meetplane::{
    app::Application,
    auth::seal::MasterKey,
    clock::{Clock, SystemClock},
    config::{Config, DatabaseUrl, Settings},
    domain::clients,
    state::AppState,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

/// Where this test's data lives; dropped (and the Postgres database removed) with the app.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
        dir: tempfile::TempDir,
    },
}

impl TestDb {
    pub async fn create() -> Self {
        match std::env::var("MEETPLANE_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => Self::create_postgres(&admin_url).await,
            _ => TestDb::Sqlite(tempfile::tempdir().unwrap()),
        }
    }

    /// A fresh database on the Postgres server behind `admin_url`.
    pub async fn create_postgres(admin_url: &str) -> Self {
        let admin_url = admin_url.to_string();
        {
            {
                let name = format!("mp_test_{}", Uuid::new_v4().simple());
                let admin = sea_orm::Database::connect(&admin_url)
                    .await
                    .expect("MEETPLANE_TEST_DATABASE_URL must reach a Postgres server");
                use sea_orm::ConnectionTrait;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                TestDb::Postgres {
                    admin_url,
                    name,
                    dir: tempfile::tempdir().unwrap(),
                }
            }
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        match self {
            TestDb::Sqlite(dir) | TestDb::Postgres { dir, .. } => dir.path(),
        }
    }

    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite(dir) => {
                format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display())
            }
            TestDb::Postgres {
                admin_url, name, ..
            } => {
                let mut url = url::Url::parse(admin_url).unwrap();
                url.set_path(name);
                url.to_string()
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    use sea_orm::ConnectionTrait;
                    if let Ok(admin) = sea_orm::Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// An API client of the test's default organisation.
#[derive(Debug, Clone)]
pub struct TestClient {
    pub org_id: Uuid,
    pub api_key: String,
    pub secret: String,
}

pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub org_id: Uuid,
    pub client: TestClient,
    pub master_key: MasterKey,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    // Last: the database outlives the server that uses it.
    pub db: Arc<TestDb>,
}

pub fn config_for(db: &TestDb, master_key: &MasterKey) -> Config {
    let mut config = Config::from_settings(&Settings::default(), Vec::new()).unwrap();
    config.database_url = DatabaseUrl::new(db.url());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.data_dir = db.dir().to_path_buf();
    config.master_key = Some(master_key.clone());
    config.db_max_connections = 5;
    // Receivers in tests are local servers; the SSRF test turns this off again.
    config.allow_private_targets = true;
    config.webhook_timeout = Duration::from_secs(2);
    config.delivery_lease = Duration::from_secs(5);
    config
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with_clock(Arc::new(SystemClock)).await
    }

    pub async fn spawn_with_clock(clock: Arc<dyn Clock>) -> Self {
        let db = Arc::new(TestDb::create().await);
        Self::start(db, MasterKey::generate(), clock, None).await
    }

    /// Spawn with a changed configuration.
    pub async fn spawn_configured(clock: Arc<dyn Clock>, change: impl FnOnce(&mut Config)) -> Self {
        let db = Arc::new(TestDb::create().await);
        Self::start_configured(db, MasterKey::generate(), clock, None, change).await
    }

    /// Start a server on an existing test database (e.g. after a restart).
    pub async fn start(
        db: Arc<TestDb>,
        master_key: MasterKey,
        clock: Arc<dyn Clock>,
        client: Option<TestClient>,
    ) -> Self {
        Self::start_configured(db, master_key, clock, client, |_| {}).await
    }

    pub async fn start_configured(
        db: Arc<TestDb>,
        master_key: MasterKey,
        clock: Arc<dyn Clock>,
        client: Option<TestClient>,
        change: impl FnOnce(&mut Config),
    ) -> Self {
        meetplane::install_crypto_provider();
        let mut config = config_for(&db, &master_key);
        change(&mut config);
        let app = Application::build_with_clock(config, clock)
            .await
            .expect("the application starts");
        let state = app.state().clone();
        let port = app.port();
        let client = match client {
            Some(c) => c,
            None => {
                let org_id = meetplane::domain::orgs::resolve(&state.db, "Default")
                    .await
                    .expect("the default org exists")
                    .id;
                let created =
                    clients::create(&state, &meetplane::domain::audit::By::cli(org_id), "tests")
                        .await
                        .unwrap();
                TestClient {
                    org_id,
                    api_key: created.client.api_key,
                    secret: created.secret,
                }
            }
        };
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            state,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            org_id: client.org_id,
            client,
            master_key,
            shutdown: Some(tx),
            server: Some(server),
            db,
        }
    }

    /// Stop the server gracefully and wait for it; the database stays.
    pub async fn stop(mut self) -> (Arc<TestDb>, MasterKey, TestClient) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.state.db.clone().close().await.ok();
        (
            self.db.clone(),
            self.master_key.clone(),
            self.client.clone(),
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn org_path(&self, rest: &str) -> String {
        format!("/v1/orgs/{}{}", self.org_id, rest)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A fresh access token for `client`.
    pub async fn token_for(&self, client: &TestClient) -> String {
        let resp = self
            .request(Method::POST, "/v1/auth/token")
            .basic_auth(&client.api_key, Some(&client.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn token(&self) -> String {
        self.token_for(&self.client).await
    }

    /// Authenticated JSON call; returns status and body (`Value::Null` when empty).
    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.request(method, path).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.unwrap()).await
    }

    /// Create a room in the default domain and return its JSON.
    pub async fn create_room(&self, token: &str, body: Value) -> Value {
        let (status, body) = self
            .call(token, Method::POST, &self.org_path("/rooms"), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Join through the public link; returns status and body.
    pub async fn join(&self, room: &str, body: Value) -> (StatusCode, Value) {
        read(
            self.request(Method::POST, &format!("/v1/rooms/{room}/join"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A second organisation with its own domain and client.
    pub async fn other_org(&self, name: &str, domain: &str) -> TestClient {
        let (org, _) = meetplane::domain::orgs::create(&self.state, name, domain)
            .await
            .unwrap();
        let created = clients::create(
            &self.state,
            &meetplane::domain::audit::By::cli(org.id),
            "other",
        )
        .await
        .unwrap();
        TestClient {
            org_id: org.id,
            api_key: created.client.api_key,
            secret: created.secret,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn read(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }))
    };
    (status, body)
}

/// Assert a problem+json error with this status and code.
pub fn assert_problem(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], expected.as_u16(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
}
