//! Media tests run inside a private network namespace (../shared/MEDIA.md, "Testing media
//! here"): nothing in it can reach another host, and it has a veth carrying 127.0.0.1 for the
//! ICE agents that skip loopback interfaces. A test re-executes its own test binary, for its
//! own name only, under `unshare -n` with a marker variable; the re-executed test does the
//! work. Not root and not CI: skipped, saying so. CI: a failure.
//!
//! The namespace has its own loopback, so Postgres on the host's 127.0.0.1:5432 is reached
//! through a Unix socket the parent forwards; inside, 127.0.0.1:5432 forwards to it (the
//! namespace is private, so the port is free).
use std::{
    io,
    net::{TcpListener, TcpStream},
    os::unix::net::{UnixListener, UnixStream},
    path::PathBuf,
    process::Command,
    thread,
};

const MARK: &str = "MEETPLANE_MEDIA_NETNS";
const PG_SOCKET: &str = "MEETPLANE_MEDIA_PG_SOCKET";
const SETUP: &str = "set -e; ip link set lo up; ip link add v0 type veth peer name v1; \
    ip addr add 127.0.0.1/32 dev v0; ip link set v0 up; ip link set v1 up; exec \"$0\" \"$@\"";

/// True when the caller should run the test body now (inside the namespace). False when the
/// test ran in a child (whose failure has already failed this one) or was skipped.
pub fn enter(test: &str) -> bool {
    run_inside(test, &[test, "--exact", "--nocapture", "--test-threads=1"])
}

/// Re-execute this binary with `args` in a private network namespace unless this process is
/// that child already (true: go on here). `what` names the work in messages.
pub fn run_inside(what: &str, args: &[&str]) -> bool {
    if std::env::var_os(MARK).is_some() {
        forward_postgres_inside();
        return true;
    }
    let ci = std::env::var_os("CI").is_some();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tools = ["unshare", "ip", "chromium", "chromedriver"]
        .iter()
        .all(|t| which(t));
    if !root || !tools {
        let why = if root {
            "media tests need unshare, ip (iproute2), chromium and chromium-driver"
        } else {
            "media tests need root (they run in a private network namespace, `unshare -n`)"
        };
        assert!(!ci, "{why}");
        eprintln!("skipped {what}: {why}");
        return false;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("unshare");
    child
        .args(["-n", "--", "sh", "-c", SETUP])
        .arg(std::env::current_exe().unwrap())
        .args(args)
        .env(MARK, "1");
    if let Some(url) = database_url() {
        let socket = dir.path().join("pg.sock");
        forward_postgres_outside(&socket, &url);
        child.env(PG_SOCKET, &socket);
    }
    let status = child.status().expect("unshare runs");
    assert!(
        status.success(),
        "{what} failed inside its network namespace ({status})"
    );
    false
}

fn which(tool: &str) -> bool {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .map(PathBuf::from)
        .chain(
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths),
        )
        .any(|dir| dir.join(tool).exists())
}

/// The Postgres server the work uses (tests' or the bench's), if any.
fn database_url() -> Option<String> {
    [
        "MEETPLANE_TEST_DATABASE_URL",
        "MEETPLANE_TEST_POSTGRES_URL",
        "MEETPLANE_BENCH_DATABASE_URL",
    ]
    .iter()
    .filter_map(|v| std::env::var(v).ok())
    .find(|u| !u.is_empty())
}

/// host:port of a postgres:// URL.
fn address_of(url: &str) -> String {
    let u = url::Url::parse(url).expect("a postgres URL");
    format!(
        "{}:{}",
        u.host_str().unwrap_or("127.0.0.1"),
        u.port().unwrap_or(5432)
    )
}

fn pump(a: impl io::Read + Send + 'static, b: impl io::Write + Send + 'static) {
    let (mut a, mut b) = (a, b);
    thread::spawn(move || {
        let _ = io::copy(&mut a, &mut b);
    });
}

fn forward_postgres_outside(socket: &PathBuf, url: &str) {
    let listener = UnixListener::bind(socket).unwrap();
    let target = address_of(url);
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let Ok(tcp) = TcpStream::connect(&target) else {
                continue;
            };
            pump(conn.try_clone().unwrap(), tcp.try_clone().unwrap());
            pump(tcp, conn);
        }
    });
}

fn forward_postgres_inside() {
    let (Some(socket), Some(url)) = (std::env::var_os(PG_SOCKET), database_url()) else {
        return;
    };
    let listener = TcpListener::bind(address_of(&url)).expect("the namespace's Postgres port");
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let Ok(unix) = UnixStream::connect(&socket) else {
                continue;
            };
            pump(conn.try_clone().unwrap(), unix.try_clone().unwrap());
            pump(unix, conn);
        }
    });
}

/// Run the test body in the namespace: `in_netns!("test_fn_name");` first in a test.
#[macro_export]
macro_rules! in_netns {
    ($name:literal) => {
        let path = module_path!();
        let path = path.split_once("::").map_or("", |(_, rest)| rest);
        if !$crate::netns::enter(&format!("{path}::{}", $name)) {
            return;
        }
    };
}
