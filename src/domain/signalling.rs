//! WebRTC signalling between the peers of a room: offers, answers and ICE candidates, relayed
//! over the realtime socket. The server stamps the sender (from the socket's peer token, never
//! from the message) and relays only between peers present in the same room. Delivery reaches
//! every socket of the recipient on any node: on SQLite through this node's bus, on Postgres
//! through NOTIFY (`events::signal_wire`).
use std::{num::NonZeroU32, sync::Arc};

use governor::{
    DefaultDirectRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use serde_json::Value;
use uuid::Uuid;

pub use crate::events::signal_wire::Signal;

use super::peer_access::PeerSession;
use crate::{
    error::{Code, Error, Result},
    events::signal_wire,
    state::AppState,
    store::{
        self,
        entities::{peer, peer::PeerState},
    },
};

/// The largest `data` of one signal, as compact JSON. An SDP offer of a few tracks is 5-20 KB.
pub const MAX_DATA_BYTES: usize = 48 * 1024;

/// Signals one socket may send per second, and in a burst (an offer with its candidates is a
/// few dozen; renegotiating for a screen share adds as many again).
pub const PER_SECOND: u32 = 50;
pub const BURST: u32 = 200;

/// What one socket may still send, so a peer cannot flood the others (or the SFU).
pub struct Budget {
    limiter: DefaultDirectRateLimiter,
    per_second: u32,
    burst: u32,
    what: &'static str,
}

impl Default for Budget {
    /// The budget of a realtime socket's signals.
    fn default() -> Self {
        Self::new(PER_SECOND, BURST, "signals")
    }
}

impl Budget {
    /// `per_second` `what` a second, in bursts of up to `burst`.
    pub fn new(per_second: u32, burst: u32, what: &'static str) -> Self {
        let rate = NonZeroU32::new(per_second.max(1)).expect("not zero");
        let most = NonZeroU32::new(burst.max(1)).expect("not zero");
        Self {
            limiter: RateLimiter::direct(Quota::per_second(rate).allow_burst(most)),
            per_second,
            burst,
            what,
        }
    }

    /// Spend one, or refuse it with the time until the next one may go.
    pub fn take(&self) -> Result<()> {
        self.limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Error::TooManyRequests {
                code: Code::RateLimited,
                message: format!(
                    "more than {} {} a second (bursts of {}); this one was dropped",
                    self.per_second, self.what, self.burst
                ),
                retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

fn not_present(message: &str) -> Error {
    Error::forbidden(Code::PeerNotPresent, message)
}

/// Whether `peer` may take part in the room's media (send signals, be signalled, get ICE
/// servers): it is present. The one place for who takes part.
pub fn check_participant(peer: &peer::Model) -> Result<()> {
    if peer.left_at.is_some() {
        return Err(not_present("the peer has left the room"));
    }
    if peer.state == PeerState::Waiting {
        return Err(Error::forbidden(
            Code::PeerWaiting,
            "the peer waits in the lobby until a host lets it in",
        ));
    }
    Ok(())
}

/// Who may signal whom: the sender takes part (`None`: not present, or unknown), and so does
/// the recipient, in the same room (otherwise `peer_not_present`, whatever the reason, so a
/// sender learns nothing about peers elsewhere); not the same peer.
pub fn check(sender: Option<&peer::Model>, recipient: Option<&peer::Model>) -> Result<()> {
    let sender = sender.ok_or_else(|| not_present("the sending peer has left the room"))?;
    check_participant(sender)?;
    let recipient = recipient
        .filter(|r| r.room_id == sender.room_id && check_participant(r).is_ok())
        .ok_or_else(|| not_present("no such peer is present in this room"))?;
    if recipient.id == sender.id {
        return Err(Error::bad_request(
            Code::InvalidSignal,
            "a peer cannot signal itself",
        ));
    }
    Ok(())
}

/// Relay `data` from the peer holding the socket to the peer `to` of the same room.
pub async fn send(state: &AppState, from: &PeerSession, to: &str, data: Value) -> Result<()> {
    if !data.is_object() {
        return Err(Error::bad_request(
            Code::InvalidSignal,
            "data must be a JSON object",
        ));
    }
    let size = data.to_string().len();
    if size > MAX_DATA_BYTES {
        return Err(Error::bad_request(
            Code::SignalTooLarge,
            format!("data is {size} bytes; a signal carries at most {MAX_DATA_BYTES}"),
        ));
    }
    let to =
        Uuid::parse_str(to).map_err(|_| not_present("no such peer is present in this room"))?;
    let rows = store::media::present_peers(&state.db, &[from.peer_id, to]).await?;
    let find = |id| rows.iter().find(|p| p.id == id);
    check(find(from.peer_id), find(to))?;
    let signal = Signal {
        org_id: from.org_id,
        from: from.peer_id,
        to,
        data,
    };
    if state.bus.is_distributed() {
        let payloads = signal_wire::encode(&signal);
        store::media::notify_all(&state.db, signal_wire::SIGNAL_CHANNEL, payloads).await?;
    } else {
        state.bus.publish_signal(Arc::new(signal));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn peer(room_id: Uuid) -> peer::Model {
        peer::Model {
            id: Uuid::new_v4(),
            room_id,
            peer_type: 2,
            display_name: "p".into(),
            token_hash: Uuid::new_v4().to_string(),
            joined_at: Utc::now(),
            left_at: None,
            left_reason: None,
            link_hash: None,
            site_user_id: None,
            return_url: None,
            state: PeerState::Connected,
            connected_at: None,
            seat_until: None,
        }
    }

    fn code(r: Result<()>) -> Option<Code> {
        match r {
            Ok(()) => None,
            Err(Error::Forbidden { code, .. } | Error::BadRequest { code, .. }) => Some(code),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn only_present_peers_of_one_room_signal_each_other() {
        let room = Uuid::new_v4();
        let (a, b, elsewhere) = (peer(room), peer(room), peer(Uuid::new_v4()));
        assert_eq!(code(check(Some(&a), Some(&b))), None);
        let not_present = Some(Code::PeerNotPresent);
        assert_eq!(code(check(Some(&a), Some(&elsewhere))), not_present);
        assert_eq!(code(check(Some(&a), None)), not_present);
        assert_eq!(code(check(None, Some(&b))), not_present);
        let mut gone = b.clone();
        gone.left_at = Some(Utc::now());
        assert_eq!(code(check(Some(&a), Some(&gone))), not_present);
        assert_eq!(code(check(Some(&gone), Some(&a))), not_present);
        assert_eq!(code(check(Some(&a), Some(&a))), Some(Code::InvalidSignal));
    }

    #[test]
    fn a_socket_gets_a_burst_then_waits() {
        let budget = Budget::default();
        for _ in 0..BURST {
            budget.take().unwrap();
        }
        match budget.take() {
            Err(Error::TooManyRequests { code, .. }) => assert_eq!(code, Code::RateLimited),
            other => panic!("{other:?}"),
        }
    }
}
