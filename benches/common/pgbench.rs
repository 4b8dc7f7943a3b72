//! `pgbench` as the database's own write rate: a custom script inserting one row per
//! transaction (autocommit, so each insert is a durable commit under the server's
//! `synchronous_commit`) into a scratch table of the bench's database.
use std::path::Path;

use sea_orm::ConnectionTrait;

use super::wrk::Run;

const TABLE: &str = "bench_pgbench_one_row";

/// Creates the scratch table in the database at `url` and writes the script into `dir`.
/// Returns the script's path.
pub async fn prepare(url: &str, dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let db = sea_orm::Database::connect(url).await?;
    db.execute_unprepared(&format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, body text NOT NULL, \
         created_at timestamptz NOT NULL DEFAULT now())"
    ))
    .await?;
    db.close().await?;
    let script = dir.join("pgbench_one_row.sql");
    std::fs::write(
        &script,
        format!("INSERT INTO {TABLE} (body) VALUES ('a message from client ' || :client_id);\n"),
    )?;
    Ok(script)
}

/// `pgbench` with `clients` connections over `threads` threads for `seconds` on `url`, each
/// transaction logged (`-l`) so that p50 and p99 come from every transaction's latency.
pub async fn run(
    url: &str,
    script: &Path,
    dir: &Path,
    clients: usize,
    threads: usize,
    seconds: u64,
) -> anyhow::Result<Run> {
    let logs = dir.join(format!(
        "pgbench-log-{clients}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&logs)?;
    let out = tokio::process::Command::new("pgbench")
        .args(["--no-vacuum", "--log", "--log-prefix=tx"])
        .arg(format!("--client={clients}"))
        .arg(format!("--jobs={}", threads.min(clients)))
        .arg(format!("--time={seconds}"))
        .arg("--file")
        .arg(script)
        .arg(url)
        .current_dir(&logs)
        .output()
        .await
        .map_err(|e| anyhow::anyhow!("cannot run pgbench (is it installed?): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "pgbench failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rate = field(&text, "tps = ")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no tps in pgbench's output:\n{text}"))?;
    // "number of failed transactions: 0 (0.000%)" (PostgreSQL 15 and later).
    let failed = field(&text, "number of failed transactions:")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let requests = field(&text, "number of transactions actually processed:")
        .and_then(|v| v.split(['/', ' ']).next()?.parse().ok())
        .unwrap_or(0);
    let mut latencies = latencies_ms(&logs)?;
    anyhow::ensure!(!latencies.is_empty(), "pgbench logged no transactions");
    latencies.sort_by(f64::total_cmp);
    Ok(Run {
        rate,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        requests,
        non_2xx: failed,
        failed,
    })
}

fn field<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(prefix))
        .map(str::trim)
}

/// Each logged transaction's latency: lines `client_id transaction_no time_us script_no
/// epoch epoch_us` in the per-thread files `tx.<pid>[.<thread>]`.
fn latencies_ms(logs: &Path) -> anyhow::Result<Vec<f64>> {
    let mut ms = Vec::new();
    for entry in std::fs::read_dir(logs)? {
        let text = std::fs::read_to_string(entry?.path())?;
        ms.extend(text.lines().filter_map(|l| {
            let micros: f64 = l.split_whitespace().nth(2)?.parse().ok()?;
            Some(micros / 1000.0)
        }));
    }
    Ok(ms)
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
