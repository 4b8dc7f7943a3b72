//! Room chat: messages from peers, from the org's API clients (under a display name) and from
//! a bridged XMPP room. Each message is a `chatMessage` event (webhooks, realtime); in a room
//! bridged to XMPP it also waits, durably, to be sent to the MUC.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    chat_batches::{Place, Post},
    chat_text::ChatText,
    domains, event_payloads, validate,
};
use crate::{
    error::{Error, Result},
    events::{EventKind, tx::WriteTx},
    state::AppState,
    store::{
        self,
        chat::NewChatMessage,
        entities::{
            chat_message::{self, XmppState},
            domain, room,
        },
    },
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    pub id: i64,
    /// `domain/name`.
    pub room: String,
    /// `peer`, `client` or `xmpp`.
    pub sender_kind: String,
    pub peer_id: Option<Uuid>,
    pub display_name: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// In a room bridged to XMPP: `pending`, `sent` (the MUC has it) or `failed`.
    pub xmpp_state: Option<String>,
    /// Why a `failed` message could not be sent to the MUC.
    pub xmpp_error: Option<String>,
}

fn view(domain: &str, room: &str, m: chat_message::Model) -> MessageView {
    MessageView {
        id: m.id,
        room: format!("{domain}/{room}"),
        sender_kind: m.sender_kind,
        peer_id: m.peer_id,
        display_name: m.display_name,
        text: m.text,
        created_at: m.created_at,
        xmpp_state: m.xmpp_state.map(|s| s.as_str().to_string()),
        xmpp_error: m.xmpp_error,
    }
}

/// Who wrote a message.
#[derive(Debug, Clone)]
pub enum Sender {
    Peer { id: Uuid, display_name: String },
    Client { display_name: String },
    Xmpp { nick: String },
}

/// Store a message in a live room (locked by `tx`) and emit `chatMessage`.
pub(crate) async fn post_in(
    tx: &mut WriteTx,
    domain: &domain::Model,
    room: &mut room::Model,
    sender: Sender,
    text: ChatText,
) -> Result<MessageView> {
    let bridged = store::chat::binding_of_room(tx.conn(), room.id)
        .await?
        .is_some();
    post_known(tx, domain, room, bridged, sender, text).await
}

/// [`post_in`] when the caller knows whether the room is bridged to a MUC.
pub(crate) async fn post_known(
    tx: &mut WriteTx,
    domain: &domain::Model,
    room: &mut room::Model,
    bridged: bool,
    sender: Sender,
    text: ChatText,
) -> Result<MessageView> {
    let (kind, peer_id, display_name) = match sender {
        Sender::Peer { id, display_name } => ("peer", Some(id), display_name),
        Sender::Client { display_name } => ("client", None, display_name),
        Sender::Xmpp { nick } => ("xmpp", None, nick),
    };
    // Messages from XMPP are already in the MUC; others wait to be sent there.
    let xmpp_state = (bridged && kind != "xmpp").then_some(XmppState::Pending);
    let model = store::chat::insert(
        tx.conn(),
        NewChatMessage {
            org_id: domain.org_id,
            room_id: room.id,
            sender_kind: kind.to_string(),
            peer_id,
            display_name,
            text: text.into_string(),
            xmpp_state,
            created_at: tx.now(),
        },
    )
    .await?;
    let message = view(&domain.name, &room.name, model);
    let payload = event_payloads::chat_message(&room.name, &message);
    tx.emit_room(domain, room, EventKind::ChatMessage, payload)
        .await?;
    if bridged {
        tx.wake_bridge();
    }
    Ok(message)
}

/// An API client of the org posts under a display name: the message, checked, for the
/// chat queue (`crate::chat_queue`), which writes it.
pub fn client_post(
    org_id: Uuid,
    domain_name: &str,
    name: &str,
    display_name: &str,
    text: &str,
) -> Result<Post> {
    let display_name = validate::display_text("displayName", display_name, 128)?;
    let text = ChatText::parse("text", text)?;
    Ok(Post {
        place: Place::OrgRoom {
            org_id,
            domain: domain_name.to_string(),
            name: name.to_string(),
        },
        sender: Sender::Client { display_name },
        text,
        checksum: None,
    })
}

/// A peer posts in its room.
pub async fn post_as_peer(
    state: &AppState,
    domain_name: &str,
    name: &str,
    token: &str,
    text: &str,
) -> Result<MessageView> {
    let mut tx = WriteTx::begin(state).await?;
    let (domain, mut room, peer) = peer_room(&tx, domain_name, name, token).await?;
    let text = ChatText::parse("text", text)?;
    let sender = Sender::Peer {
        id: peer.id,
        display_name: peer.display_name,
    };
    let m = post_in(&mut tx, &domain, &mut room, sender, text).await?;
    tx.commit().await?;
    Ok(m)
}

async fn peer_room(
    tx: &WriteTx,
    domain_name: &str,
    name: &str,
    token: &str,
) -> Result<(domain::Model, room::Model, store::entities::peer::Model)> {
    let (domain, _, peer) =
        super::peer_access::present_in(tx.conn(), domain_name, name, token).await?;
    super::peer_access::admitted_only(&peer)?;
    let room = store::rooms::find_live(tx.conn(), domain.id, name, true)
        .await?
        .ok_or(Error::not_found("room"))?;
    Ok((domain, room, peer))
}

/// A page of a room's messages, newest first, and whether older ones exist.
pub async fn list(
    state: &AppState,
    room_id: Uuid,
    domain: &str,
    room: &str,
    before: Option<i64>,
    since: Option<i64>,
    count: u64,
) -> Result<(Vec<MessageView>, bool)> {
    let rows = store::chat::list(&state.db, room_id, before, since, count).await?;
    let more = rows.len() as u64 > count;
    Ok((
        rows.into_iter()
            .take(count as usize)
            .map(|m| view(domain, room, m))
            .collect(),
        more,
    ))
}

/// The live room of the org for a message listing.
pub async fn org_room(
    state: &AppState,
    org_id: Uuid,
    domain_name: &str,
    name: &str,
) -> Result<(Uuid, String)> {
    let domain = domains::find_model(&state.db, org_id, domain_name).await?;
    let room = store::rooms::find_live(&state.db, domain.id, name, false)
        .await?
        .ok_or(Error::not_found("room"))?;
    Ok((room.id, domain.name))
}

/// The peer's room for a message listing.
pub async fn peer_room_id(
    state: &AppState,
    domain_name: &str,
    name: &str,
    token: &str,
) -> Result<(Uuid, String)> {
    let (domain, room, peer) =
        super::peer_access::present_in(&state.db, domain_name, name, token).await?;
    super::peer_access::admitted_only(&peer)?;
    Ok((room.id, domain.name))
}
