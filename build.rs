//! Builds the dashboard and the meeting page (`web/`) into `$OUT_DIR/dashboard`, which the
//! binary embeds. Runs when `web/` or the OpenAPI document changed and npm is present; without
//! npm the folder is left empty and the server says at `/` (and `/join/…`) how to get them.
//! The build type-checks both against a client freshly generated from `openapi/openapi.json`,
//! so a spec change that breaks them breaks the build. `MEETPLANE_BUILD_SKIP_WEB=1` skips it (e.g. while
//! iterating on Rust only); `MEETPLANE_BUILD_REQUIRE_WEB=1` (CI) makes a failed or impossible
//! build an error instead of a warning.
use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
};

const INPUTS: &[&str] = &[
    "web/src",
    "web/index.html",
    "web/meeting.html",
    "web/package.json",
    "web/package-lock.json",
    "web/tsconfig.json",
    "web/vite.config.ts",
    "openapi/openapi.json",
];

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("dashboard");
    for input in INPUTS {
        println!("cargo:rerun-if-changed={input}");
    }
    println!("cargo:rerun-if-env-changed=MEETPLANE_BUILD_SKIP_WEB");
    println!("cargo:rerun-if-env-changed=MEETPLANE_BUILD_REQUIRE_WEB");
    let required =
        env::var_os("MEETPLANE_BUILD_REQUIRE_WEB").is_some_and(|v| !v.is_empty() && v != "0");
    // Start empty: a stale dashboard must never be served after a failed build.
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).expect("create the dashboard output folder");
    if env::var_os("MEETPLANE_BUILD_SKIP_WEB").is_some_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    let web = Path::new("web");
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        give_up(required, "npm was not found; the dashboard is not built");
        return;
    }
    if needs_install(web)
        && let Err(e) = run(Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(web))
    {
        give_up(required, &format!("npm ci failed: {e}"));
        return;
    }
    let built = run(Command::new(npm)
        .args(["run", "build"])
        .env("MEETPLANE_WEB_OUT", &out)
        .current_dir(web));
    if let Err(e) = built {
        let _ = fs::remove_dir_all(&out);
        let _ = fs::create_dir_all(&out);
        give_up(required, &format!("the dashboard build failed: {e}"));
    }
}

/// node_modules is missing, or older than the lock file (someone changed the dependencies).
fn needs_install(web: &Path) -> bool {
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(&web.join("node_modules/.package-lock.json")),
        modified(&web.join("package-lock.json")),
    ) {
        (Some(installed), Some(locked)) => installed < locked,
        _ => true,
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| e.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

fn give_up(required: bool, why: &str) {
    if required {
        panic!("{why}");
    }
    for line in why.lines().take(20) {
        println!("cargo:warning={line}");
    }
}
