//! Admitting the links of one batch in turn (see [`super::session_joins`]), inside its
//! transaction: each link sees the rooms opened and owners admitted by the links before it.
use crate::error::Code;
use std::collections::{HashMap, HashSet, hash_map};

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use super::{
    peers::{self, Entry},
    room_model::Role,
    session_joins::{Link, Subscribed, is_owner},
    sessions::{Entered, open_session_room, room_name},
};
use crate::{
    error::{Error, Result},
    events::tx::WriteTx,
    state::AppState,
    store::entities::{peer, room, session_entry, subscription},
};

/// The batch being admitted: what earlier links changed for later ones (rooms opened,
/// owners present) and the rows to insert at the end.
pub(super) struct Admissions {
    pub(super) now: DateTime<Utc>,
    pub(super) rooms: HashMap<(Uuid, String), room::Model>,
    pub(super) owners_live: HashSet<(Uuid, String)>,
    pub(super) new_peers: Vec<peer::Model>,
    pub(super) entries: Vec<session_entry::ActiveModel>,
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
        let room = match self.rooms.entry((link.domain.id, name.clone())) {
            hash_map::Entry::Occupied(room) => room.into_mut(),
            hash_map::Entry::Vacant(place) => place.insert(
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
            ),
        };
        let entry = Entry::Link {
            role: if owner { Role::Host } else { Role::User },
            link_hash: hash.clone(),
            return_url: claims.rtn.clone(),
        };
        let now = self.now;
        let (peer, peer_token) = match peers::admission(state, room, &claims.un, &entry, None, now)
        {
            Ok(admission) => admission,
            Err(e) => return Ok(Err(e)),
        };
        self.new_peers.push(peer.clone());
        let peer = peers::admitted(tx, link.domain, room, peer).await?;
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
            .push(entry_row(checked, room.id, &entered, now));
        Ok(Ok(entered))
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

/// The session entry recording an admission.
fn entry_row(
    checked: &Subscribed<'_, '_>,
    room_id: Uuid,
    entered: &Entered,
    now: DateTime<Utc>,
) -> session_entry::ActiveModel {
    let link = &checked.link;
    session_entry::ActiveModel {
        id: Set(entered.entry_id),
        org_id: Set(link.org.id),
        client_id: Set(link.client.id),
        session_id: Set(entered.session_id.clone()),
        room_id: Set(room_id),
        subscription_id: Set(checked.subscription.id),
        peer_id: Set(entered.peer.id),
        role: Set(entered.role.to_string()),
        name: Set(entered.peer.display_name.clone()),
        // The id of the issued peer token, never the token itself.
        access_token_id: Set(format!("tok_{}", Uuid::new_v4().simple())),
        link_hash: Set(checked.hash.clone()),
        entry_time: Set(now),
    }
}
