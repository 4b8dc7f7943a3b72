//! WebRTC signalling on a peer's realtime socket: the peer sends
//! `{"type":"signal","to":"<peerId>","data":{…}}`; every socket of that peer, on any node,
//! receives `{"type":"signal","from":"<senderPeerId>","data":{…}}`. Refusals come back as
//! `{"type":"error","code","message"}`; a relayed signal gets no answer. The rules are
//! `domain::signalling`'s; this is the socket's side only.
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use uuid::Uuid;

use super::{problem::ApiError, realtime::error};
use crate::{
    domain::{
        signalling::{self, Budget, Signal},
        socket_access::Holder,
    },
    state::AppState,
};

/// Relay one signal from this socket; the error frame when it is refused.
pub(super) async fn relay(
    state: &AppState,
    holder: &Holder,
    budget: &Budget,
    to: Option<String>,
    data: Option<Value>,
) -> Option<Value> {
    let Holder::Peer(peer) = holder else {
        return Some(error("forbidden", "only peers send signals"));
    };
    let (Some(to), Some(data)) = (to, data) else {
        return Some(error(
            "invalid_signal",
            "a signal is {\"type\": \"signal\", \"to\": peerId, \"data\": {…}}",
        ));
    };
    let sent = match budget.take() {
        Ok(()) => signalling::send(state, peer, &to, data).await,
        Err(e) => Err(e),
    };
    sent.err().map(|e| {
        let e = ApiError::from(e);
        let mut frame = error(&e.problem.code, e.problem.detail.clone());
        if let Ok(to) = Uuid::parse_str(&to) {
            frame["to"] = json!(to);
        }
        frame
    })
}

/// The next signal relayed on this node, for a socket that receives them (a peer's); never,
/// for the others.
pub(super) async fn next(
    signals: &mut Option<Receiver<Arc<Signal>>>,
) -> Result<Arc<Signal>, RecvError> {
    match signals {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// What this socket shows of a relayed signal: the signal if it is for the socket's peer.
pub(super) fn shown(holder: &Holder, org_id: Uuid, signal: &Signal) -> Option<Value> {
    let Holder::Peer(peer) = holder else {
        return None;
    };
    (signal.to == peer.peer_id && signal.org_id == org_id)
        .then(|| json!({"type": "signal", "from": signal.from, "data": signal.data}))
}

/// The frame telling a peer that signals for it may have been dropped (its socket fell
/// behind): its negotiations should start again.
pub(super) fn lost(missed: u64) -> Value {
    error(
        "signals_lost",
        format!(
            "{missed} signals relayed on this node were dropped before this socket read them; renegotiate"
        ),
    )
}
