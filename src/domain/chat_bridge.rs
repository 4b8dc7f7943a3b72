//! The chat bridge (seed 000): a binding ties an XMPP multi-user chat to a room of the org's
//! default domain (the room named by the MUC's local part), optionally with a callback that
//! receives every message coming from XMPP. Messages posted over HTTP land in the room's chat
//! and wait there, durably, until the XMPP bridge has sent them to the MUC.
use crate::error::Code;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use xmpp_parsers::jid::BareJid;

use super::{
    chat::{self, MessageView, Sender},
    chat_batches::{Place, Post},
    chat_bridge_auth::AcceptedChecksum,
    chat_text::ChatText,
    room_model::{Origin, RoomOptions},
    rooms::{self, RoomSpec},
    validate,
};
use crate::{
    error::{Error, Result},
    events::tx::WriteTx,
    outbound,
    state::AppState,
    store::{
        self,
        entities::{chat_binding, domain, room, webhook},
    },
};

/// Webhook kind of a binding's callback; never listed or matched as a webhook.
pub const CALLBACK: &str = "callback";

/// Who called the chat-bridge API (see `chat_bridge_auth`).
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub org_id: Uuid,
    /// The API client whose secret made the checksum; `None` for the shared secret.
    pub client_id: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct BindingView {
    pub jid: String,
    /// `domain/name` of the bridged room.
    pub room: String,
    pub callback_uri: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a callback secret is sealed for: its domain and room.
fn secret_purpose(domain_id: Uuid, room_name: &str) -> String {
    format!("chat-callback-secret:{domain_id}/{room_name}")
}

/// The callback secret of a callback webhook, for signing.
pub fn callback_secret(state: &AppState, hook: &webhook::Model) -> Result<Option<String>> {
    let Some(sealed) = hook.secret_sealed.as_deref() else {
        return Ok(None);
    };
    let purpose = secret_purpose(
        hook.domain_id,
        hook.room_name.as_deref().unwrap_or_default(),
    );
    state
        .sealer
        .open_str(&purpose, sealed)
        .map(Some)
        .map_err(|e| Error::Internal(anyhow::anyhow!("callback {}: {e}", hook.id)))
}

/// A MUC's bare JID, and the room name its local part gives.
pub fn parse_room_jid(field: &str, raw: &str) -> Result<(String, String)> {
    let jid = BareJid::new(raw.trim())
        .map_err(|e| Error::invalid(field, format!("{raw:?} is not a valid JID: {e}")))?;
    let node = jid.node().ok_or_else(|| {
        Error::invalid(
            field,
            format!("{raw:?} names no room (like room@conference.example.org)"),
        )
    })?;
    let name = validate::room_name(field, node.as_str())?;
    Ok((jid.to_string(), name))
}

/// Start bridging a MUC. 409 when it is bridged already.
pub async fn start(
    state: &AppState,
    caller: Caller,
    raw_jid: &str,
    field: &str,
    callback: Option<(String, String)>,
) -> Result<BindingView> {
    let (jid, name) = parse_room_jid(field, raw_jid)?;
    let callback = match callback {
        None => None,
        Some((uri, secret)) => Some(checked_callback(state, &uri, secret).await?),
    };
    let (_, domain) = store::orgs::with_default_domain(&state.db, caller.org_id)
        .await?
        .ok_or(Error::not_found("domain"))?;
    let mut tx = WriteTx::begin(state).await?;
    let started = || {
        Error::conflict(
            Code::ChatStarted,
            format!("the chat for {jid} is already started"),
        )
    };
    if store::chat::binding_by_jid(tx.conn(), &jid)
        .await?
        .is_some()
    {
        return Err(started());
    }
    let room = unbridged_room(state, &mut tx, caller, &domain, &name).await?;
    let now = tx.now();
    let webhook_id = match &callback {
        None => None,
        Some(callback) => {
            Some(insert_callback(state, &tx, caller, &domain, &name, callback, now).await?)
        }
    };
    let binding = store::chat::insert_binding(
        tx.conn(),
        store::chat::NewBinding {
            org_id: caller.org_id,
            room_id: room.id,
            jid: jid.clone(),
            webhook_id,
            created_at: now,
        },
    )
    .await
    .map_err(|e| {
        if Error::is_unique_violation(&e) {
            started()
        } else {
            e.into()
        }
    })?;
    tx.wake_bridge();
    tx.commit().await?;
    Ok(BindingView {
        jid,
        room: format!("{}/{name}", domain.name),
        callback_uri: callback.map(|(u, _)| u),
        created_at: binding.created_at,
    })
}

/// A callback's URL (an allowed target) and secret.
async fn checked_callback(state: &AppState, uri: &str, secret: String) -> Result<(String, String)> {
    let url = outbound::check_target(uri, state.outbound.allow_private())
        .await
        .map_err(|e| Error::invalid("callback_uri", e.to_string()))?;
    if secret.is_empty() {
        return Err(Error::invalid("callback_secret", "must not be empty"));
    }
    Ok((url.to_string(), secret))
}

/// The live room `name` (locked), opened when there is none; 409 when another MUC is bridged
/// to it.
async fn unbridged_room(
    state: &AppState,
    tx: &mut WriteTx,
    caller: Caller,
    domain: &domain::Model,
    name: &str,
) -> Result<room::Model> {
    let origin = caller.client_id.map_or(Origin::ChatBridge, Origin::Client);
    let default_spec =
        || RoomSpec::from_options(&RoomOptions::default(), state.config.max_room_capacity);
    let room = rooms::find_or_open(state, tx, domain, name, origin, default_spec)
        .await?
        .into_room();
    if store::chat::binding_of_room(tx.conn(), room.id)
        .await?
        .is_some()
    {
        return Err(Error::conflict(
            Code::RoomBridged,
            format!(
                "the room {}/{name} is bridged to another XMPP room",
                domain.name
            ),
        ));
    }
    Ok(room)
}

/// The binding's callback, kept as a webhook of its own kind (with its secret sealed to the
/// room), so deliveries and retries are the webhooks'.
async fn insert_callback(
    state: &AppState,
    tx: &WriteTx,
    caller: Caller,
    domain: &domain::Model,
    name: &str,
    (url, secret): &(String, String),
    now: DateTime<Utc>,
) -> Result<i64> {
    let purpose = secret_purpose(domain.id, name);
    let hook = store::webhooks::insert(
        tx.conn(),
        store::webhooks::NewWebhook {
            org_id: caller.org_id,
            domain_id: domain.id,
            room_name: Some(name.to_string()),
            kind: CALLBACK.to_string(),
            url: Some(url.clone()),
            robot_id: None,
            events: None,
            validated: true,
            secret_sealed: Some(state.sealer.seal_str(&purpose, secret)),
            created_at: now,
        },
    )
    .await?;
    Ok(hook.id)
}

async fn org_binding(
    tx: &WriteTx,
    caller: Caller,
    raw_jid: &str,
    field: &str,
) -> Result<chat_binding::Model> {
    let (jid, _) = parse_room_jid(field, raw_jid)?;
    store::chat::binding_by_jid(tx.conn(), &jid)
        .await?
        .filter(|b| b.org_id == caller.org_id)
        .ok_or(Error::not_found("chat room"))
}

/// Stop bridging a MUC: the binding and its callback (with the secret) are deleted.
pub async fn end(state: &AppState, caller: Caller, raw_jid: &str, field: &str) -> Result<()> {
    let mut tx = WriteTx::begin(state).await?;
    let binding = org_binding(&tx, caller, raw_jid, field).await?;
    delete_binding(&mut tx, binding).await?;
    tx.commit().await
}

async fn delete_binding(tx: &mut WriteTx, binding: chat_binding::Model) -> Result<()> {
    store::chat::delete_binding(tx.conn(), binding.id).await?;
    if let Some(id) = binding.webhook_id {
        store::webhooks::delete(tx.conn(), id).await?;
    }
    tx.wake_bridge();
    Ok(())
}

/// A closing room stops being bridged.
pub(super) async fn on_close(tx: &mut WriteTx, room: &room::Model) -> Result<()> {
    if let Some(binding) = store::chat::binding_of_room(tx.conn(), room.id).await? {
        delete_binding(tx, binding).await?;
    }
    Ok(())
}

/// The bound room, locked for writing, with its domain.
async fn bound_room(
    tx: &WriteTx,
    binding: &chat_binding::Model,
) -> Result<(store::entities::domain::Model, room::Model)> {
    let room = store::rooms::find_by_id(tx.conn(), binding.room_id)
        .await?
        .filter(|r| r.removed_at.is_none())
        .ok_or(Error::not_found("chat room"))?;
    let domain = store::domains::find_by_id(tx.conn(), room.domain_id)
        .await?
        .ok_or(Error::not_found("chat room"))?;
    let room = store::rooms::find_live(tx.conn(), domain.id, &room.name, true)
        .await?
        .ok_or(Error::not_found("chat room"))?;
    Ok((domain, room))
}

/// A message from HTTP for the MUC, checked, for the chat queue (`crate::chat_queue`): it is
/// stored in the room's chat and sent to XMPP by the bridge.
pub fn bridge_post(
    caller: Caller,
    checksum: AcceptedChecksum,
    raw_jid: &str,
    user_name: &str,
    message: ChatText,
) -> Result<Post> {
    let user_name = validate::display_text("user_name", user_name, 128)?;
    Ok(Post {
        place: Place::Bridged {
            caller,
            jid: raw_jid.to_string(),
        },
        sender: Sender::Client {
            display_name: user_name,
        },
        text: message,
        checksum: Some(checksum),
    })
}

/// The room bridged to the caller's MUC `raw_jid`, locked for writing, with its domain.
pub(super) async fn bound_room_of(
    tx: &WriteTx,
    caller: Caller,
    raw_jid: &str,
) -> Result<(store::entities::domain::Model, room::Model)> {
    let binding = org_binding(tx, caller, raw_jid, "jid").await?;
    bound_room(tx, &binding).await
}

/// A message that arrived from the MUC: stored in the room's chat and queued for the callback.
/// `None` when the MUC is no longer bridged.
pub async fn from_xmpp(
    state: &AppState,
    jid: &str,
    nick: &str,
    text: &str,
) -> Result<Option<MessageView>> {
    let text = ChatText::parse("message", text)?;
    let mut tx = WriteTx::begin(state).await?;
    let Some(binding) = store::chat::binding_by_jid(tx.conn(), jid).await? else {
        return Ok(None);
    };
    let (domain, mut room) = bound_room(&tx, &binding).await?;
    let sender = Sender::Xmpp {
        nick: nick.to_string(),
    };
    let m = chat::post_in(&mut tx, &domain, &mut room, sender, text).await?;
    if let Some(webhook_id) = binding.webhook_id {
        tx.deliver_last_to(webhook_id).await?;
    }
    tx.commit().await?;
    Ok(Some(m))
}

/// The text the bridge sends to the MUC for a message (seed 000).
pub fn muc_text(display_name: &str, text: &str) -> String {
    format!("{display_name} wrote:\n{text}")
}

/// The MUCs an org bridges.
pub async fn jids_of_org(state: &AppState, org_id: Uuid) -> Result<Vec<String>> {
    Ok(store::chat::bindings_of_org(&state.db, org_id)
        .await?
        .into_iter()
        .map(|b| b.jid)
        .collect())
}
