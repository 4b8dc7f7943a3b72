//! No Docker engine runs here, so compose.yaml and the Dockerfile are checked against what the
//! binary reads: service names and dependencies, healthchecks, ports, secrets, and every
//! environment variable, which the real binary must accept (it refuses unknown settings).
use std::{collections::BTreeMap, path::Path, process::Command};

use serde_yaml_ng::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn compose() -> Value {
    let text = std::fs::read_to_string(root().join("compose.yaml")).unwrap();
    let mut v: Value = serde_yaml_ng::from_str(&text).expect("compose.yaml parses");
    v.apply_merge().expect("merge keys resolve");
    v
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

fn environment(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_mapping()
        .expect("environment is a mapping")
        .iter()
        .map(|(k, v)| (text(k), text(v)))
        .collect()
}

/// `${NAME:-default}` becomes the default, `${NAME}` and `${NAME:?message}` a sample value,
/// as `docker compose` would with NAME unset (or set).
fn interpolate(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("closed ${...}");
        let inner = &rest[start + 2..end];
        out.push_str(match inner.split_once(":-") {
            Some((_, default)) => default,
            None => "sample",
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn port_of(address: &str) -> &str {
    address.rsplit(':').next().unwrap()
}

#[test]
fn compose_file_matches_what_the_binary_reads() {
    let c = compose();
    let services = c["services"].as_mapping().unwrap();
    let postgres = &c["services"]["postgres"];
    let pg_env = environment(postgres);
    assert!(
        postgres["healthcheck"]["test"].is_sequence(),
        "postgres needs a healthcheck"
    );
    let volume = text(&postgres["volumes"][0]);
    let (name, mount) = volume.split_once(':').unwrap();
    assert_eq!(mount, "/var/lib/postgresql/data");
    assert!(
        c["volumes"].get(name).is_some(),
        "volume {name} is declared"
    );

    let nodes: Vec<&str> = services
        .iter()
        .filter(|(_, s)| s.get("build").is_some())
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    assert_eq!(nodes, ["meetplane", "meetplane-replica"]);
    let mut host_ports = Vec::new();
    for node in nodes {
        let s = &c["services"][node];
        assert_eq!(
            text(&s["depends_on"]["postgres"]["condition"]),
            "service_healthy",
            "{node} waits for a healthy database"
        );
        let env = environment(s);
        let listen_port = port_of(&env["MEETPLANE_LISTEN"]).to_string();
        let health: Vec<String> = s["healthcheck"]["test"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        let url = health.last().unwrap();
        assert_eq!(
            url,
            &format!("http://127.0.0.1:{listen_port}/readyz"),
            "{node}"
        );
        let published = text(&s["ports"][0]);
        assert_eq!(
            port_of(&published),
            listen_port,
            "{node} publishes its listen port"
        );
        host_ports.push(published.split(':').next().unwrap().to_string());

        // The database URL names the postgres service and its user and database.
        let db = url::Url::parse(&interpolate(&env["DATABASE_URL"])).unwrap();
        assert_eq!(db.host_str(), Some("postgres"));
        assert_eq!(db.username(), pg_env["POSTGRES_USER"]);
        assert_eq!(db.path(), format!("/{}", pg_env["POSTGRES_DB"]));

        // Secrets: every *_FILE points at a secret the service mounts and the file declares.
        let mounted: Vec<String> = s["secrets"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        for (k, v) in env.iter().filter(|(k, _)| k.ends_with("_FILE")) {
            let secret = v
                .strip_prefix("/run/secrets/")
                .unwrap_or_else(|| panic!("{k}={v}"));
            assert!(
                mounted.iter().any(|m| m == secret),
                "{node} mounts {secret}"
            );
            assert!(
                c["secrets"].get(secret).is_some(),
                "secret {secret} is declared"
            );
        }
        binary_accepts(&env);
    }
    host_ports.dedup();
    assert_eq!(host_ports.len(), 2, "each node has its own host port");
}

/// Run the real binary with exactly the service's environment (secret files replaced by
/// local ones): it refuses unknown or malformed settings, so success means it reads them all.
fn binary_accepts(env: &BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meetplane"));
    cmd.env_clear().env("MEETPLANE_DATA_DIR", dir.path());
    for (k, v) in env {
        if k.ends_with("_FILE") {
            let file = dir.path().join(k);
            let sample = meetplane::auth::seal::MasterKey::generate().to_hex();
            std::fs::write(&file, format!("{sample}\n")).unwrap();
            cmd.env(k, &file);
        } else {
            cmd.env(k, interpolate(v));
        }
    }
    let out = cmd.arg("openapi").output().unwrap();
    assert!(
        out.status.success(),
        "meetplane refused the compose environment: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dockerfile_runs_the_server_on_the_compose_port() {
    let docker = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let c = compose();
    let env = environment(&c["services"]["meetplane"]);
    let port = port_of(&env["MEETPLANE_LISTEN"]);
    assert!(
        docker.lines().any(|l| l.trim() == format!("EXPOSE {port}")),
        "EXPOSE {port}"
    );
    assert!(docker.lines().any(|l| l.trim() == r#"CMD ["serve"]"#));
    // The health check runs curl inside the image.
    assert!(
        docker.contains("curl"),
        "the runtime image has curl for the healthcheck"
    );
    // The image carries the dashboard: build.rs must fail rather than skip it, and has npm.
    assert!(docker.contains("ENV MEETPLANE_BUILD_REQUIRE_WEB=1"));
    assert!(docker.contains("/usr/local/bin/npm"));
}
