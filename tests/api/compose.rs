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

    // The nodes are the services that serve (the one-shot janus-config uses the image too).
    let nodes: Vec<&str> = services
        .iter()
        .filter(|(_, s)| {
            s.get("environment")
                .is_some_and(|e| e.get("MEETPLANE_LISTEN").is_some())
        })
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
/// Janus and coturn are wired to the nodes: Janus runs the configuration `meetplane janus
/// config` writes from the nodes' own Janus settings, its APIs are the ones the nodes dial, its
/// events come back to a node, and coturn's secret is the one the nodes mint TURN credentials
/// with.
#[test]
fn janus_and_coturn_are_wired_to_the_nodes() {
    let c = compose();
    let node = environment(&c["services"]["meetplane"]);
    let config = &c["services"]["janus-config"];
    let config_env = environment(config);
    for (k, v) in node
        .iter()
        .filter(|(k, _)| k.starts_with("MEETPLANE_JANUS_"))
    {
        assert_eq!(
            config_env.get(k),
            Some(v),
            "janus-config has the nodes' {k}"
        );
    }
    let args: Vec<String> = config["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(args[..2], ["janus", "config"]);
    let arg = |name: &str| args[args.iter().position(|a| a == name).unwrap() + 1].clone();
    let out = arg("--out");
    let events = url::Url::parse(&arg("--events-url")).unwrap();
    assert_eq!(events.host_str(), Some("meetplane"));
    assert_eq!(
        events.port().unwrap().to_string(),
        port_of(&node["MEETPLANE_LISTEN"])
    );
    assert_eq!(events.path(), "/internal/janus/events");
    let janus = &c["services"]["janus"];
    let command: Vec<String> = janus["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let folder = &command[command.iter().position(|a| a == "-F").unwrap() + 1];
    assert_eq!(folder, &out, "Janus reads the folder janus-config writes");
    let volume = |s: &Value| {
        text(&s["volumes"][0])
            .split(':')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(volume(janus), volume(config), "through one volume");
    assert_eq!(
        text(&janus["depends_on"]["janus-config"]["condition"]),
        "service_completed_successfully"
    );
    for key in ["MEETPLANE_JANUS_WS_URL", "MEETPLANE_JANUS_ADMIN_URL"] {
        let url = url::Url::parse(&node[key]).unwrap();
        assert_eq!(url.host_str(), Some("janus"), "{key}");
    }
    // The configuration command itself accepts the environment.
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meetplane"));
    cmd.env_clear();
    for (k, v) in &config_env {
        let file = dir.path().join(k);
        std::fs::write(&file, "a-sample-secret-of-some-length\n").unwrap();
        cmd.env(
            k,
            if k.ends_with("_FILE") {
                file.display().to_string()
            } else {
                v.clone()
            },
        );
    }
    let written = dir.path().join("janus");
    let out = cmd
        .args(["janus", "config", "--out"])
        .arg(&written)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(written.join("janus.jcfg").is_file());

    // coturn: the secret the nodes mint with, on the port the ICE servers name.
    let coturn: Vec<String> = c["services"]["coturn"]["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let secret_var = text(&c["secrets"]["turn_secret"]["environment"]);
    assert!(coturn.contains(&format!("--static-auth-secret=${{{secret_var}}}")));
    assert_eq!(
        node["MEETPLANE_TURN_SECRET_FILE"],
        "/run/secrets/turn_secret"
    );
    let ice = interpolate(&node["MEETPLANE_ICE_SERVERS"]);
    let port = ice.split(':').nth(2).unwrap().split('?').next().unwrap();
    assert!(
        coturn.contains(&format!("--listening-port={port}")),
        "{ice}"
    );
    let published: Vec<String> = c["services"]["coturn"]["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert!(
        published.contains(&format!("{port}:{port}/udp")),
        "{published:?}"
    );
}

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
