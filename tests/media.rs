//! Browser media tests: headless Chromium with fake camera and microphone on the meeting page,
//! media proven by `getStats()` (video frames decoded, audio bytes received, the selected
//! candidate pair). Each test runs inside its own private network namespace (see
//! `media/netns.rs`), so it needs root; outside CI it is skipped without, in CI it fails.
//! The app helpers and the WebDriver set-up are the API tests' own files, included here.
#[allow(dead_code)]
#[path = "api/browser.rs"]
mod browser;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

#[path = "media/controls.rs"]
mod controls;
#[path = "media/janus.rs"]
mod janus;
#[path = "media/janus_recovery.rs"]
mod janus_recovery;
// The bench uses the rest (its process id).
#[allow(dead_code)]
#[path = "media/janus_proc.rs"]
mod janus_proc;
#[path = "media/mesh_limit.rs"]
mod mesh_limit;
#[path = "media/netns.rs"]
mod netns;
#[allow(dead_code)]
#[path = "media/pages.rs"]
mod pages;

#[path = "media/seats.rs"]
mod seats;
#[path = "media/turn.rs"]
mod turn;
#[path = "media/two_peers.rs"]
mod two_peers;
