//! Signals between nodes: on Postgres a signal travels as NOTIFY payloads on a channel of its
//! own. A payload holds less than 8000 bytes and an SDP offer can be larger, so a signal is
//! cut into numbered chunks, notified in one transaction (delivered together and in order,
//! or not at all), and put together again by each listening node. Signals are not stored: a
//! node whose LISTEN connection was down misses the ones sent meanwhile, and the peers'
//! negotiation starts again (as after any network blip).
use std::{collections::HashMap, time::Duration};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;
use uuid::Uuid;

/// A signal on its way to the sockets of peer `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    #[serde(rename = "o")]
    pub org_id: Uuid,
    #[serde(rename = "f")]
    pub from: Uuid,
    #[serde(rename = "t")]
    pub to: Uuid,
    #[serde(rename = "d")]
    pub data: Value,
}

/// The Postgres channel signals travel on.
pub const SIGNAL_CHANNEL: &str = "meetplane_signals";
/// Bytes of a signal's text per chunk: the payload (with its `id/index/count/` prefix) must
/// stay under Postgres's 8000-byte limit.
const CHUNK_BYTES: usize = 7800;
/// The most chunks one signal may have (a signal's data is limited well below this).
const MAX_CHUNKS: usize = 16;
/// How long the first chunks of a signal wait for the rest before they are dropped.
const PARTIAL_TTL: Duration = Duration::from_secs(10);
/// Signals being put together at once; more means chunks were lost, the oldest go.
const MAX_PARTIAL: usize = 64;

/// The NOTIFY payloads carrying `signal`.
pub fn encode(signal: &Signal) -> Vec<String> {
    let text = serde_json::to_string(signal).expect("a signal serialises");
    let mut chunks = Vec::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let mut end = rest.len().min(CHUNK_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        chunks.push(&rest[..end]);
        rest = &rest[end..];
    }
    let id = Uuid::new_v4().simple().to_string();
    let count = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| format!("{id}/{i}/{count}/{chunk}"))
        .collect()
}

struct Partial {
    parts: Vec<Option<String>>,
    missing: usize,
    started: Instant,
}

/// Chunks received so far, by signal.
#[derive(Default)]
pub struct Reassembly {
    partial: HashMap<String, Partial>,
}

impl Reassembly {
    /// Take one NOTIFY payload; the signal once its last chunk has arrived.
    pub fn accept(&mut self, payload: &str, now: Instant) -> Option<Signal> {
        let mut fields = payload.splitn(4, '/');
        let id = fields.next()?;
        let index: usize = fields.next()?.parse().ok()?;
        let count: usize = fields.next()?.parse().ok()?;
        let chunk = fields.next()?;
        if count == 0 || count > MAX_CHUNKS || index >= count {
            return None;
        }
        if count == 1 {
            return serde_json::from_str(chunk).ok();
        }
        self.partial
            .retain(|_, p| now.duration_since(p.started) < PARTIAL_TTL);
        if !self.partial.contains_key(id) && self.partial.len() >= MAX_PARTIAL {
            let oldest = self
                .partial
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(k, _)| k.clone());
            oldest.map(|k| self.partial.remove(&k));
        }
        let p = self
            .partial
            .entry(id.to_string())
            .or_insert_with(|| Partial {
                parts: vec![None; count],
                missing: count,
                started: now,
            });
        if p.parts.len() != count {
            return None;
        }
        if p.parts[index].is_none() {
            p.parts[index] = Some(chunk.to_string());
            p.missing -= 1;
        }
        if p.missing > 0 {
            return None;
        }
        let done = self.partial.remove(id)?;
        let text: String = done.parts.into_iter().flatten().collect();
        serde_json::from_str(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn signal(size: usize) -> Signal {
        Signal {
            org_id: Uuid::new_v4(),
            from: Uuid::new_v4(),
            to: Uuid::new_v4(),
            // Multi-byte characters straddle chunk ends.
            data: json!({"description": {"type": "offer", "sdp": "é".repeat(size / 2)}}),
        }
    }

    #[test]
    fn big_signals_travel_in_chunks_under_the_notify_limit() {
        let now = Instant::now();
        for size in [10, 7_900, 12_000, 48 * 1024] {
            let s = signal(size);
            let chunks = encode(&s);
            assert!(chunks.iter().all(|c| c.len() < 8000), "{size}");
            assert_eq!(chunks.len() > 1, size > 7_000, "{size}");
            let mut r = Reassembly::default();
            // Out of order, and with a chunk repeated, still gives the signal once.
            let repeat = chunks.len() > 1;
            let mut got = Vec::new();
            for c in chunks
                .last()
                .filter(|_| repeat)
                .into_iter()
                .chain(chunks.iter().rev())
            {
                got.extend(r.accept(c, now));
            }
            assert_eq!(got, vec![s.clone()], "{size}");
            assert!(r.partial.is_empty());
        }
    }

    #[test]
    fn interleaved_signals_and_lost_chunks() {
        let now = Instant::now();
        let (a, b) = (signal(20_000), signal(20_000));
        let (ca, cb) = (encode(&a), encode(&b));
        let mut r = Reassembly::default();
        let mut got = Vec::new();
        for (x, y) in ca.iter().zip(&cb) {
            got.extend(r.accept(x, now));
            got.extend(r.accept(y, now));
        }
        assert_eq!(got, vec![a, b]);
        // A signal missing a chunk is dropped after a while, not kept forever.
        let c = encode(&signal(20_000));
        assert!(r.accept(&c[0], now).is_none());
        assert_eq!(r.partial.len(), 1);
        assert!(
            r.accept(&encode(&signal(20_000))[0], now + PARTIAL_TTL)
                .is_none()
        );
        assert_eq!(r.partial.len(), 1, "the stale one went, the new one waits");
        for junk in [
            "",
            "x/0",
            "x/a/2/{}",
            "x/2/2/{}",
            "x/0/99/{}",
            "x/0/1/not json",
        ] {
            assert!(r.accept(junk, now).is_none(), "{junk}");
        }
    }
}
