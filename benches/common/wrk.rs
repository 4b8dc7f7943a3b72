//! `wrk` as the load generator: one run against a URL, its figures read from `--latency`'s
//! output.
use std::path::Path;

/// One `wrk` run's figures.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Requests answered (failed ones included).
    pub requests: u64,
    /// Answers other than 2xx or 3xx (counted in `requests`).
    pub non_2xx: u64,
    /// Non-2xx answers and socket errors (timeouts included).
    pub failed: u64,
}

/// How to run `wrk`: `connections` keep-alive connections over `threads` threads for
/// `seconds`, with extra `headers` and, for requests other than a plain GET, a Lua `script`.
pub struct Load<'a> {
    pub threads: usize,
    pub connections: usize,
    pub seconds: u64,
    pub headers: Vec<String>,
    pub script: Option<&'a Path>,
}

/// `wrk` against `url`, with `--latency` so that it prints percentiles. Awaited, not blocked
/// on: a server in the bench's own process keeps running meanwhile.
pub async fn run(url: &str, load: &Load<'_>) -> anyhow::Result<Run> {
    let mut cmd = tokio::process::Command::new("wrk");
    cmd.args([
        "--latency",
        &format!("-t{}", load.threads),
        &format!("-c{}", load.connections),
        &format!("-d{}s", load.seconds),
    ]);
    for header in &load.headers {
        cmd.args(["-H", header]);
    }
    if let Some(script) = load.script {
        cmd.arg("-s").arg(script);
    }
    let out = cmd
        .arg(url)
        .output()
        .await
        .map_err(|e| anyhow::anyhow!("cannot run wrk (is it installed?): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&text).ok_or_else(|| anyhow::anyhow!("cannot read wrk's output:\n{text}"))
}

pub fn parse(text: &str) -> Option<Run> {
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    let rate = field("Requests/sec:")?.parse().ok()?;
    // "  12345 requests in 5.00s, 1.23MB read"
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let p50_ms = duration_ms(field("50%")?)?;
    let p99_ms = duration_ms(field("99%")?)?;
    let non_2xx = field("Non-2xx or 3xx responses:").map_or(Some(0), |n| n.parse().ok())?;
    // "Socket errors: connect 0, read 0, write 0, timeout 0"
    let socket_errors: u64 = field("Socket errors:").map_or(0, |l| {
        l.split(',')
            .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
            .sum()
    });
    Some(Run {
        rate,
        p50_ms,
        p99_ms,
        requests,
        non_2xx,
        failed: non_2xx + socket_errors,
    })
}

/// wrk's durations: `812.00us`, `1.23ms`, `2.01s`.
pub fn duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    match unit {
        "us" => Some(number / 1000.0),
        "ms" => Some(number),
        "s" => Some(number * 1000.0),
        "m" => Some(number * 60_000.0),
        _ => None,
    }
}
