//! Room chats in the chat widget: a site user who is a peer in a room of the widget's org
//! (admitted with `siteUserId`) sees that room's chat in their widget and writes there as
//! that peer.
use std::collections::{HashMap, HashSet};

use serde_json::Value;
use uuid::Uuid;

use super::{
    chat::{self, MessageView, Sender},
    chat_text::ChatText,
    widgets::Widget,
};
use crate::{
    error::{Error, Result},
    events::{Event, EventKind, tx::WriteTx},
    state::AppState,
    store::{
        self,
        entities::{domain, peer, room},
    },
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetRoom {
    /// `domain/name`.
    pub room: String,
    pub peer_id: Uuid,
    pub display_name: String,
}

async fn memberships(
    state: &AppState,
    w: &Widget,
    me: &str,
) -> Result<Vec<(peer::Model, room::Model, domain::Model)>> {
    let peers = store::peers::active_for_site_user(&state.db, me).await?;
    let domain_ids: Vec<Uuid> = peers.iter().map(|(_, r)| r.domain_id).collect();
    // Only the widget's org's domains come back, so rooms elsewhere drop out below.
    let domains: HashMap<Uuid, domain::Model> =
        store::domains::find_many_in_org(&state.db, w.org_id, &domain_ids)
            .await?
            .into_iter()
            .map(|d| (d.id, d))
            .collect();
    Ok(peers
        .into_iter()
        .filter_map(|(peer, room)| {
            let d = domains.get(&room.domain_id)?.clone();
            Some((peer, room, d))
        })
        .collect())
}

/// The rooms whose chat the user sees.
pub async fn list(state: &AppState, w: &Widget, me: &str) -> Result<Vec<WidgetRoom>> {
    Ok(memberships(state, w, me)
        .await?
        .into_iter()
        .map(|(p, r, d)| WidgetRoom {
            room: format!("{}/{}", d.name, r.name),
            peer_id: p.id,
            display_name: p.display_name,
        })
        .collect())
}

/// The user's rooms as a live channel keeps them: `domain/name` keys and the user's peers
/// there. Kept up to date from the org's events, going to the database only when an event
/// may concern the user, so a busy org does not cost every open widget a query per join.
#[derive(Debug, Default)]
pub struct LiveRooms {
    keys: HashSet<String>,
    peers: HashSet<Uuid>,
}

impl LiveRooms {
    pub async fn load(state: &AppState, w: &Widget, me: &str) -> Result<Self> {
        let rooms = list(state, w, me).await?;
        Ok(Self {
            peers: rooms.iter().map(|r| r.peer_id).collect(),
            keys: rooms.into_iter().map(|r| r.room).collect(),
        })
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// Follow one event of the widget's org: a removed room is dropped; a peer added for
    /// this user, or one of the user's peers removed, reloads the set (the user may hold
    /// another peer in the same room); anything else changes nothing.
    pub async fn follow(
        &mut self,
        state: &AppState,
        w: &Widget,
        me: &str,
        event: &Event,
    ) -> Result<()> {
        let peer_id = |client: &Value| client["id"].as_str().and_then(|id| id.parse().ok());
        let reload = match EventKind::parse(&event.kind) {
            Some(EventKind::RoomRemoved) => {
                self.keys.remove(&event.order_key());
                false
            }
            Some(EventKind::ClientsRemoved) => {
                event.payload["clients"].as_array().is_some_and(|c| {
                    c.iter()
                        .filter_map(peer_id)
                        .any(|p| self.peers.contains(&p))
                })
            }
            Some(EventKind::ClientAdded) => match peer_id(&event.payload["client"]) {
                Some(p) => store::peers::site_user_of(&state.db, p).await?.as_deref() == Some(me),
                None => false,
            },
            _ => false,
        };
        if reload {
            *self = Self::load(state, w, me).await?;
        }
        Ok(())
    }
}

async fn membership(
    state: &AppState,
    w: &Widget,
    me: &str,
    domain_name: &str,
    name: &str,
) -> Result<(peer::Model, room::Model, domain::Model)> {
    let domain_name = super::domains::canonical_name(domain_name);
    memberships(state, w, me)
        .await?
        .into_iter()
        .find(|(_, r, d)| d.name == domain_name && r.name == name)
        .ok_or(Error::not_found("room"))
}

/// A page of the room's messages, newest first (only while the user is a peer there).
pub async fn messages(
    state: &AppState,
    w: &Widget,
    me: &str,
    domain_name: &str,
    name: &str,
    before: Option<i64>,
    count: u64,
) -> Result<(Vec<MessageView>, bool)> {
    let (_, room, d) = membership(state, w, me, domain_name, name).await?;
    chat::list(state, room.id, &d.name, &room.name, before, None, count).await
}

/// The user writes in the room as their peer.
pub async fn post(
    state: &AppState,
    w: &Widget,
    me: &str,
    domain_name: &str,
    name: &str,
    text: &str,
) -> Result<MessageView> {
    let (peer, room, d) = membership(state, w, me, domain_name, name).await?;
    let text = ChatText::parse("text", text)?;
    let mut tx = WriteTx::begin(state).await?;
    let mut room = store::rooms::find_live(tx.conn(), d.id, &room.name, true)
        .await?
        .ok_or(Error::not_found("room"))?;
    let sender = Sender::Peer {
        id: peer.id,
        display_name: peer.display_name,
    };
    let m = chat::post_in(&mut tx, &d, &mut room, sender, text).await?;
    tx.commit().await?;
    Ok(m)
}
