//! Room chats in the chat widget: a site user who is a peer in a room of the widget's org
//! (admitted with `siteUserId`) sees that room's chat in their widget and writes there as
//! that peer.
use std::collections::HashSet;

use uuid::Uuid;

use super::chat::{self, MessageView, Sender};
use crate::{
    error::{Error, Result},
    events::tx::WriteTx,
    state::AppState,
    store::{
        self,
        entities::{domain, peer, room, widget},
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
    w: &widget::Model,
    me: &str,
) -> Result<Vec<(peer::Model, room::Model, domain::Model)>> {
    let mut out = Vec::new();
    for (peer, room) in store::peers::active_for_site_user(&state.db, me).await? {
        if let Some(d) = store::domains::find_by_id(&state.db, room.domain_id).await?
            && d.org_id == w.org_id
        {
            out.push((peer, room, d));
        }
    }
    Ok(out)
}

/// The rooms whose chat the user sees.
pub async fn list(state: &AppState, w: &widget::Model, me: &str) -> Result<Vec<WidgetRoom>> {
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

/// `domain/name` keys of the user's rooms (for the live channel).
pub async fn keys(state: &AppState, w: &widget::Model, me: &str) -> Result<HashSet<String>> {
    Ok(list(state, w, me)
        .await?
        .into_iter()
        .map(|r| r.room)
        .collect())
}

async fn membership(
    state: &AppState,
    w: &widget::Model,
    me: &str,
    domain_name: &str,
    name: &str,
) -> Result<(peer::Model, room::Model, domain::Model)> {
    let domain_name = domain_name.to_ascii_lowercase();
    memberships(state, w, me)
        .await?
        .into_iter()
        .find(|(_, r, d)| d.name == domain_name && r.name == name)
        .ok_or(Error::not_found("room"))
}

/// A page of the room's messages, newest first (only while the user is a peer there).
pub async fn messages(
    state: &AppState,
    w: &widget::Model,
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
    w: &widget::Model,
    me: &str,
    domain_name: &str,
    name: &str,
    text: &str,
) -> Result<MessageView> {
    let (peer, room, d) = membership(state, w, me, domain_name, name).await?;
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
