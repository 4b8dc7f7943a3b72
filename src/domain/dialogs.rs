//! Direct dialogs between two site users of a chat widget (ImbaChat's `openDialog`): one
//! dialog per pair, created on first open; messages, history paging, unread counts. Each
//! message is a `dialogMessage` event of the org's default domain, which carries it live to
//! both users' widgets (on every node) and to the org's webhooks.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{
    chat_text::ChatText,
    widget_users::{self, SiteUser},
    widgets::Widget,
};
use crate::{
    auth::widget_token::user_id_of,
    error::{Error, Result},
    events::{EventKind, tx::WriteTx},
    state::AppState,
    store::{
        self, Window,
        entities::{dialog, dialog_message},
    },
};

#[derive(Debug, Clone, PartialEq)]
pub struct DialogMessageView {
    pub id: i64,
    pub dialog_id: i64,
    pub from: String,
    pub from_name: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DialogView {
    pub id: i64,
    /// The other participant.
    pub with: SiteUser,
    pub unread: u64,
    pub last_message: Option<DialogMessageView>,
    pub updated_at: DateTime<Utc>,
}

/// The side of `me` in a dialog (`true`: the low side), or 404 for non-participants.
fn side(d: &dialog::Model, me: &str) -> Result<bool> {
    if d.user_low == me {
        Ok(true)
    } else if d.user_high == me {
        Ok(false)
    } else {
        Err(Error::not_found("dialog"))
    }
}

/// The last message id one side has read (`low`: the low side).
fn read_mark(d: &dialog::Model, low: bool) -> i64 {
    if low { d.read_low } else { d.read_high }
}

fn other(d: &dialog::Model, me: &str) -> String {
    if d.user_low == me {
        d.user_high.clone()
    } else {
        d.user_low.clone()
    }
}

fn message_view(m: dialog_message::Model, from_name: String) -> DialogMessageView {
    DialogMessageView {
        id: m.id,
        dialog_id: m.dialog_id,
        from: m.sender_user_id,
        from_name,
        text: m.text,
        created_at: m.created_at,
    }
}

/// Views of `rows` as `me` sees them, with unread counts and last messages read for all of
/// them at once (two queries however many dialogs). `names` holds every participant.
async fn dialog_views(
    state: &AppState,
    rows: &[dialog::Model],
    me: &str,
    names: &HashMap<String, SiteUser>,
) -> Result<Vec<DialogView>> {
    let marks = rows
        .iter()
        .map(|d| Ok((d.id, read_mark(d, side(d, me)?))))
        .collect::<Result<Vec<_>>>()?;
    let unread = store::dialogs::unread_counts(&state.db, me, &marks).await?;
    let last_ids: Vec<i64> = rows
        .iter()
        .map(|d| d.last_message_id)
        .filter(|&id| id != 0)
        .collect();
    let mut last = store::dialogs::messages_by_id(&state.db, &last_ids).await?;
    let name_of = |id: &str| {
        names
            .get(id)
            .cloned()
            .unwrap_or_else(|| SiteUser::fallback(id))
    };
    Ok(rows
        .iter()
        .map(|d| {
            let last_message = last.remove(&d.last_message_id).map(|m| {
                let name = name_of(&m.sender_user_id).name;
                message_view(m, name)
            });
            DialogView {
                id: d.id,
                with: name_of(&other(d, me)),
                unread: unread.get(&d.id).copied().unwrap_or(0),
                last_message,
                updated_at: d.updated_at,
            }
        })
        .collect())
}

/// Create or get the dialog of `me` with `other` (ImbaChat's `openDialog(userId)`).
pub async fn open(state: &AppState, w: &Widget, me: &str, other_raw: &Value) -> Result<DialogView> {
    let other = user_id_of(other_raw).ok_or_else(|| {
        Error::invalid(
            "userId",
            "must be an integer or a short string without commas",
        )
    })?;
    if other == me {
        return Err(Error::invalid(
            "userId",
            "cannot open a dialog with yourself",
        ));
    }
    let (low, high) = if me < other.as_str() {
        (me, other.as_str())
    } else {
        (other.as_str(), me)
    };
    let now = state.now();
    store::dialogs::insert_if_absent(&state.db, &w.id, low, high, now).await?;
    let d = store::dialogs::find_pair(&state.db, &w.id, low, high)
        .await?
        .ok_or_else(|| anyhow::anyhow!("dialog {low}/{high} vanished after insert"))?;
    let names = widget_users::resolve(state, w, &[me.to_string(), other]).await?;
    let mut views = dialog_views(state, std::slice::from_ref(&d), me, &names).await?;
    views
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no view of dialog {}", d.id).into())
}

/// The dialogs of `me`, most recently active first.
pub async fn list(
    state: &AppState,
    w: &Widget,
    me: &str,
    window: Window,
) -> Result<(Vec<DialogView>, bool)> {
    let rows = store::dialogs::list_for_user(&state.db, &w.id, me, window).await?;
    let (rows, more) = window.split(rows);
    let mut ids: Vec<String> = rows.iter().map(|d| other(d, me)).collect();
    ids.push(me.to_string());
    let names = widget_users::resolve(state, w, &ids).await?;
    Ok((dialog_views(state, &rows, me, &names).await?, more))
}

async fn participant(
    state: &AppState,
    w: &Widget,
    me: &str,
    id: i64,
) -> Result<(dialog::Model, bool)> {
    let d = store::dialogs::find(&state.db, &w.id, id)
        .await?
        .ok_or(Error::not_found("dialog"))?;
    let low = side(&d, me)?;
    Ok((d, low))
}

/// A page of a dialog's messages, newest first, and whether older ones exist.
pub async fn messages(
    state: &AppState,
    w: &Widget,
    me: &str,
    id: i64,
    before: Option<i64>,
    count: u64,
) -> Result<(Vec<DialogMessageView>, bool)> {
    let (d, _) = participant(state, w, me, id).await?;
    let rows = store::dialogs::messages(&state.db, d.id, before, count).await?;
    let more = rows.len() as u64 > count;
    let names = widget_users::resolve(state, w, &[d.user_low.clone(), d.user_high.clone()]).await?;
    Ok((
        rows.into_iter()
            .take(count as usize)
            .map(|m| {
                let name = names[&m.sender_user_id].name.clone();
                message_view(m, name)
            })
            .collect(),
        more,
    ))
}

/// `me` writes in a dialog.
pub async fn post(
    state: &AppState,
    w: &Widget,
    me: &str,
    id: i64,
    text: &str,
) -> Result<DialogMessageView> {
    let (d, low) = participant(state, w, me, id).await?;
    let text = ChatText::parse("text", text)?.into_string();
    // Resolved before the transaction: the site may be slow.
    let from_name = widget_users::resolve_one(state, w, me).await?.name;
    let (_, domain) = store::orgs::with_default_domain(&state.db, w.org_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("org {} has no default domain", w.org_id))?;
    let mut tx = WriteTx::begin(state).await?;
    let now = tx.now();
    let m = store::dialogs::insert_message(tx.conn(), d.id, me, text, now).await?;
    store::dialogs::touch(tx.conn(), &d, m.id, low, now).await?;
    let view = message_view(m, from_name);
    tx.emit_domain(&domain, EventKind::DialogMessage, payload(w, &d, &view))
        .await?;
    tx.commit().await?;
    Ok(view)
}

fn payload(w: &Widget, d: &dialog::Model, m: &DialogMessageView) -> Value {
    json!({
        "widgetId": w.id,
        "dialogId": d.id,
        "users": [d.user_low, d.user_high],
        "message": {
            "id": m.id,
            "dialogId": m.dialog_id,
            "from": m.from,
            "fromName": m.from_name,
            "text": m.text,
            "createdAt": m.created_at.to_rfc3339(),
        }
    })
}

/// `me` has read up to `up_to` (default: everything); returns what is still unread.
pub async fn mark_read(
    state: &AppState,
    w: &Widget,
    me: &str,
    id: i64,
    up_to: Option<i64>,
) -> Result<u64> {
    let (d, low) = participant(state, w, me, id).await?;
    let up_to = up_to.unwrap_or(d.last_message_id).min(d.last_message_id);
    store::dialogs::mark_read(&state.writer, d.id, low, up_to).await?;
    let read = read_mark(&d, low).max(up_to);
    Ok(store::dialogs::unread(&state.db, d.id, me, read).await?)
}

/// Whether a `dialogMessage` event is for this widget user.
pub fn event_is_for(payload: &Value, widget_id: &str, me: &str) -> bool {
    payload["widgetId"] == widget_id
        && payload["users"]
            .as_array()
            .is_some_and(|u| u.iter().any(|u| u == me))
}
