//! Chat messages written together (group commit, see `crate::chat_queue`): one transaction
//! locks each room once, stores every message with its `chatMessage` event, and commits once.
//! Each message is still judged alone: a message for a room that does not exist is answered
//! 404 while the others of its batch are stored. A statement that fails spoils the
//! transaction, so then each message is tried again in a transaction of its own.
use std::collections::HashMap;

use uuid::Uuid;

use super::{
    chat::{self, MessageView, Sender},
    chat_bridge::{self, Caller},
    chat_bridge_auth::{self, AcceptedChecksum},
    chat_text::ChatText,
    domains,
};
use crate::{
    error::{Error, Result},
    events::tx::WriteTx,
    state::AppState,
    store::{
        self,
        entities::{domain, room},
    },
};

/// Where a message goes.
#[derive(Debug, Clone)]
pub enum Place {
    /// A live room of the org (the native API).
    OrgRoom {
        org_id: Uuid,
        domain: String,
        name: String,
    },
    /// The room bridged to a MUC, for a chat-bridge caller (`sendChatMessage`).
    Bridged { caller: Caller, jid: String },
}

/// A message waiting to be written, its text and sender already checked.
#[derive(Debug, Clone)]
pub struct Post {
    pub place: Place,
    pub sender: Sender,
    pub text: ChatText,
    /// A chat-bridge checksum to remember as used with the message (`sendChatMessage`).
    pub checksum: Option<AcceptedChecksum>,
}

/// Write `posts` together; one result per post, in order.
pub async fn post_all(state: &AppState, posts: Vec<Post>) -> Vec<Result<MessageView>> {
    if posts.len() == 1 {
        return vec![post_together(state, &posts).await.and_then(only)];
    }
    match post_together(state, &posts).await {
        Ok(results) => results,
        Err(e) => {
            tracing::info!(error = ?e, messages = posts.len(), "a batch of chat messages failed; trying each alone");
            let mut results = Vec::with_capacity(posts.len());
            for post in posts {
                results.push(post_together(state, &[post]).await.and_then(only));
            }
            results
        }
    }
}

fn only(mut results: Vec<Result<MessageView>>) -> Result<MessageView> {
    results
        .pop()
        .unwrap_or_else(|| Err(Error::Internal(anyhow::anyhow!("a message got no result"))))
}

/// A room of the batch, locked, as the batch changed it so far.
struct Locked {
    domain: domain::Model,
    room: room::Model,
    bridged: bool,
}

/// The rooms a batch has locked, found by place and by room (two places may name one room).
#[derive(Default)]
struct Rooms {
    locked: Vec<Locked>,
    by_place: HashMap<String, usize>,
    by_room: HashMap<Uuid, usize>,
}

/// Post in one transaction: `Err` when a statement failed (nothing was written then).
async fn post_together(state: &AppState, posts: &[Post]) -> Result<Vec<Result<MessageView>>> {
    let mut tx = WriteTx::begin_batch(state).await?;
    let mut rooms = Rooms::default();
    let mut results = Vec::with_capacity(posts.len());
    for post in posts {
        if let Some(checksum) = &post.checksum {
            match chat_bridge_auth::remember(tx.conn(), checksum, tx.now()).await {
                Ok(()) => {}
                Err(e @ Error::Database(_)) => return Err(e),
                Err(replayed) => {
                    results.push(Err(replayed));
                    continue;
                }
            }
        }
        let slot = match locate(&tx, &mut rooms, &post.place).await {
            Ok(slot) => slot,
            Err(e @ Error::Database(_)) => return Err(e),
            Err(e) => {
                results.push(Err(e));
                continue;
            }
        };
        let Locked {
            domain,
            room,
            bridged,
        } = &mut rooms.locked[slot];
        let (sender, text) = (post.sender.clone(), post.text.clone());
        let message = chat::post_known(&mut tx, domain, room, *bridged, sender, text).await?;
        results.push(Ok(message));
    }
    tx.commit().await?;
    Ok(results)
}

/// The batch's slot of the room `place` names, locking it on first use.
async fn locate(tx: &WriteTx, rooms: &mut Rooms, place: &Place) -> Result<usize> {
    let key = match place {
        Place::OrgRoom {
            org_id,
            domain,
            name,
        } => format!("room {org_id} {} {name}", domains::canonical_name(domain)),
        Place::Bridged { caller, jid } => format!("muc {} {jid}", caller.org_id),
    };
    if let Some(&slot) = rooms.by_place.get(&key) {
        return Ok(slot);
    }
    let (domain, room, bridged) = match place {
        Place::OrgRoom {
            org_id,
            domain,
            name,
        } => {
            let domain = domains::find_model(tx.conn(), *org_id, domain).await?;
            let room = store::rooms::find_live(tx.conn(), domain.id, name, true)
                .await?
                .ok_or(Error::not_found("room"))?;
            let bridged = store::chat::binding_of_room(tx.conn(), room.id)
                .await?
                .is_some();
            (domain, room, bridged)
        }
        Place::Bridged { caller, jid } => {
            let (domain, room) = chat_bridge::bound_room_of(tx, *caller, jid).await?;
            (domain, room, true)
        }
    };
    let slot = match rooms.by_room.get(&room.id) {
        Some(&slot) => slot,
        None => {
            rooms.by_room.insert(room.id, rooms.locked.len());
            rooms.locked.push(Locked {
                domain,
                room,
                bridged,
            });
            rooms.locked.len() - 1
        }
    };
    rooms.by_place.insert(key, slot);
    Ok(slot)
}
