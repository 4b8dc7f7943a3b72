//! WebRTC signalling on a peer's realtime socket: the peer sends
//! `{"type":"signal","to":"<peerId>","data":{…}}`; every socket of that peer, on any node,
//! receives `{"type":"signal","from":"<senderPeerId>","data":{…}}`. Refusals come back as
//! `{"type":"error","code","message"}` (made by `realtime`); a relayed signal gets no answer.
//! The rules are `domain::signalling`'s; this is the socket's side only.
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use uuid::Uuid;

use super::problem::ApiError;
pub(super) use crate::domain::signalling::Budget;
use crate::{
    domain::{
        signalling::{self, Signal},
        socket_access::Holder,
    },
    state::AppState,
};

/// The signals relayed on this node, for a peer's socket (others receive none).
pub(super) fn subscribe(state: &AppState, holder: &Holder) -> Option<Receiver<Arc<Signal>>> {
    matches!(holder, Holder::Peer(_)).then(|| state.bus.subscribe_signals())
}

/// Relay one signal from this socket; the error's code and message when it is refused.
pub(super) async fn relay(
    state: &AppState,
    holder: &Holder,
    budget: &Budget,
    to: Option<String>,
    data: Option<Value>,
) -> Option<(String, String)> {
    let Holder::Peer(peer) = holder else {
        return Some(("forbidden".into(), "only peers send signals".into()));
    };
    let (Some(to), Some(data)) = (to, data) else {
        return Some((
            "invalid_signal".into(),
            "a signal is {\"type\": \"signal\", \"to\": peerId, \"data\": {…}}".into(),
        ));
    };
    let sent = match budget.take() {
        Ok(()) => signalling::send(state, peer, &to, data).await,
        Err(e) => Err(e),
    };
    sent.err().map(|e| {
        let e = ApiError::from(e);
        (e.problem.code.clone(), e.problem.detail.clone())
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

/// Why a peer is told `signals_lost`: signals for it may have been dropped (its socket fell
/// behind), so its negotiations should start again.
pub(super) fn lost(missed: u64) -> String {
    format!(
        "{missed} signals relayed on this node were dropped before this socket read them \
         (some may have been for this peer); renegotiate"
    )
}
