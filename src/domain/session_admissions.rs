//! Admitting the links of one batch in turn (see [`super::session_joins`]), inside its
//! transaction: each link sees the rooms opened and owners admitted by the links before it.
use crate::error::Code;
use std::collections::{HashMap, HashSet, hash_map};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    peers::{self, Entry},
    room_model::PeerView,
    room_model::Role,
    session_joins::{Link, Subscribed, is_owner},
    sessions::{Entered, open_session_room, room_name},
};
use crate::{
    auth::random,
    error::{Error, Result},
    events::tx::WriteTx,
    state::AppState,
    store::{
        self,
        entities::{peer, peer::PeerState, room, subscription},
        session_entries::NewSessionEntry,
    },
};

/// The batch being admitted: what earlier links changed for later ones (rooms opened,
/// owners present) and the rows to insert at the end.
pub(super) struct Admissions {
    pub(super) now: DateTime<Utc>,
    pub(super) rooms: HashMap<(Uuid, String), room::Model>,
    pub(super) owners_live: HashSet<(Uuid, String)>,
    pub(super) new_peers: Vec<peer::Model>,
    pub(super) entries: Vec<NewSessionEntry>,
}

impl Admissions {
    /// Admit one link: `Ok(Err)` refuses it, `Err` fails the batch.
    pub(super) async fn admit(
        &mut self,
        state: &AppState,
        tx: &mut WriteTx,
        checked: &Subscribed<'_, '_>,
    ) -> Result<Result<Entered>> {
        let Subscribed {
            link,
            hash,
            subscription,
        } = checked;
        let claims = &link.claims;
        let owner = is_owner(link);
        if let Err(e) = self.refusal(link, subscription) {
            return Ok(Err(e));
        }
        let name = room_name(&claims.sid);
        let key = (link.domain.id, name.clone());
        if let hash_map::Entry::Vacant(place) = self.rooms.entry(key.clone()) {
            place.insert(
                open_session_room(
                    state,
                    tx,
                    link.domain,
                    &name,
                    claims,
                    link.client.id,
                    link.org.session_capacity,
                )
                .await?,
            );
        }
        let now = self.now;
        let room_id = self.rooms[&key].id;
        let resumed = self.resumed(state, tx, room_id, hash).await?;
        let room = self
            .rooms
            .get_mut(&key)
            .expect("the room was found or opened above");
        let (peer, peer_token) = match resumed {
            // Same link, same seat: the peer it admitted is still present.
            Some(resumed) => resumed,
            None => {
                let entry = Entry::Link {
                    role: if owner { Role::Host } else { Role::User },
                    link_hash: hash.clone(),
                    return_url: claims.rtn.clone(),
                    lobby: !owner && link.org.guest_lobby,
                };
                let (peer, peer_token) =
                    match peers::admission(state, room, &claims.un, &entry, None, now) {
                        Ok(admission) => admission,
                        Err(e) => return Ok(Err(e)),
                    };
                self.new_peers.push(peer.clone());
                (
                    peers::admitted(tx, link.domain, room, peer).await?,
                    peer_token,
                )
            }
        };
        if owner {
            self.owners_live
                .insert((subscription.id, claims.sid.clone()));
        }
        let entered = Entered {
            entry_id: Uuid::new_v4(),
            org_id: link.org.id,
            session_id: claims.sid.clone(),
            role: if owner { "owner" } else { "guest" },
            peer,
            peer_token,
            domain: link.domain.name.clone(),
            room: name,
        };
        self.entries
            .push(entry_row(checked, room_id, &entered, now));
        Ok(Ok(entered))
    }

    /// Resume the present peer this link admitted into the room earlier (in an earlier
    /// transaction, or earlier in this batch), if any: a new token, the same seat.
    async fn resumed(
        &mut self,
        state: &AppState,
        tx: &mut WriteTx,
        room_id: Uuid,
        link_hash: &str,
    ) -> Result<Option<(PeerView, String)>> {
        let in_batch = self
            .new_peers
            .iter_mut()
            .find(|p| p.room_id == room_id && p.link_hash.as_deref() == Some(link_hash));
        if let Some(p) = in_batch {
            let token = random::token("mppt_");
            p.token_hash = random::digest(&token);
            return Ok(Some((PeerView::from(p.clone()), token)));
        }
        match store::presence::find_by_link(tx.conn(), room_id, link_hash).await? {
            Some(peer) => Ok(Some(resume(state, tx, peer, self.now).await?)),
            None => Ok(None),
        }
    }

    /// Why the link is refused before a room opens for it (a refused link leaves nothing
    /// behind).
    fn refusal(&self, link: &Link<'_>, subscription: &subscription::Model) -> Result<()> {
        let sid = &link.claims.sid;
        if is_owner(link)
            && self
                .owners_live
                .iter()
                .any(|(s, live)| *s == subscription.id && live != sid)
        {
            return Err(Error::conflict(
                Code::SubscriptionBusy,
                "the subscription is live in another session; one subscription hosts one session at a time",
            ));
        }
        peers::display_name_of(&link.claims.un).map(drop)
    }
}

/// Give the peer a link admitted before a new token (the old one stops working) and, unless
/// it is connected, a fresh connect window; it keeps its seat and its place in the lobby.
async fn resume(
    state: &AppState,
    tx: &mut WriteTx,
    peer: peer::Model,
    now: DateTime<Utc>,
) -> Result<(PeerView, String)> {
    let token = random::token("mppt_");
    store::presence::replace_token(tx.conn(), peer.id, &random::digest(&token)).await?;
    if peer.state != PeerState::Connected {
        let until = super::presence::connect_deadline(state, now);
        store::presence::set_state(tx.conn(), peer.id, peer.state, None, until).await?;
    }
    Ok((PeerView::from(peer), token))
}

/// The session entry recording an admission.
fn entry_row(
    checked: &Subscribed<'_, '_>,
    room_id: Uuid,
    entered: &Entered,
    now: DateTime<Utc>,
) -> NewSessionEntry {
    let link = &checked.link;
    NewSessionEntry {
        id: entered.entry_id,
        org_id: link.org.id,
        client_id: link.client.id,
        session_id: entered.session_id.clone(),
        room_id,
        subscription_id: checked.subscription.id,
        peer_id: entered.peer.id,
        role: entered.role.to_string(),
        name: entered.peer.display_name.clone(),
        // The id of the issued peer token, never the token itself.
        access_token_id: format!("tok_{}", Uuid::new_v4().simple()),
        link_hash: checked.hash.clone(),
        entry_time: now,
    }
}
