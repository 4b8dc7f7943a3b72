//! Set-up every bench repeats: its database and the server's configuration; the real server
//! as its own process (`server`), `wrk` to drive it (`wrk`) and `pgbench` for the database's
//! own rate (`pgbench`).
// Each bench compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod browser_media;
pub mod pgbench;
pub mod server;
pub mod wrk;

use std::path::Path;

use meetplane::{
    auth::seal::MasterKey,
    config::{Config, DatabaseUrl, Settings},
};
use sea_orm::ConnectionTrait;

/// The bench's database: a SQLite file in the bench's temporary directory, or, when
/// `MEETPLANE_BENCH_DATABASE_URL` names a Postgres server, a scratch database created there.
pub struct BenchDb {
    pub url: String,
    /// `(admin url, database name)` of the scratch Postgres database.
    scratch: Option<(String, String)>,
}

impl BenchDb {
    pub async fn create(dir: &Path) -> anyhow::Result<Self> {
        let Ok(admin) = std::env::var("MEETPLANE_BENCH_DATABASE_URL") else {
            let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
            return Ok(Self { url, scratch: None });
        };
        let name = format!("mp_bench_{}", uuid::Uuid::new_v4().simple());
        let db = sea_orm::Database::connect(&admin).await?;
        db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        let mut url = url::Url::parse(&admin)?;
        url.set_path(&name);
        Ok(Self {
            url: url.to_string(),
            scratch: Some((admin, name)),
        })
    }

    pub fn backend(&self) -> &'static str {
        if self.scratch.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Drops the scratch Postgres database (the SQLite file goes with the temporary directory).
    pub async fn drop_scratch(self) -> anyhow::Result<()> {
        if let Some((admin, name)) = self.scratch {
            let db = sea_orm::Database::connect(&admin).await?;
            db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await?;
        }
        Ok(())
    }
}

/// The defaults, on `db`, listening on a free port, data and a fresh master key in `dir`.
pub fn config(dir: &Path, db: &BenchDb) -> anyhow::Result<Config> {
    let mut config = Config::from_settings(&Settings::default(), Vec::new())?;
    config.database_url = DatabaseUrl::new(db.url.clone());
    config.listen = "127.0.0.1:0".parse()?;
    config.data_dir = dir.to_path_buf();
    config.master_key = Some(MasterKey::generate());
    Ok(config)
}

/// A count from the environment, or `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
