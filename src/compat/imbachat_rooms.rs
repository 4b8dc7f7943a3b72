//! The ImbaChat widget's room chat: the rooms where its user is a peer (admitted with
//! `siteUserId`), and their messages, read and written as that peer.
use poem::{
    Request, handler,
    web::{Data, Json, Path, Query},
};
use serde_json::{Value, json};

use super::imbachat::{NewMessage, PageQuery, caller, count};
use crate::{
    api::{body, problem::ApiError},
    domain::{chat::MessageView, widget_rooms},
    state::AppState,
};

/// A room chat message as the widget shows it.
pub fn room_message_json(m: &MessageView) -> Value {
    json!({
        "id": m.id,
        "room": m.room,
        "peerId": m.peer_id,
        "fromName": m.display_name,
        "text": m.text,
        "createdAt": m.created_at.to_rfc3339(),
    })
}

#[handler]
pub async fn list_rooms(
    req: &Request,
    Data(state): Data<&AppState>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(state, req)?;
    let rooms: Vec<Value> = widget_rooms::list(state, &c.widget, &c.user_id)
        .await?
        .into_iter()
        .map(|r| json!({"room": r.room, "peerId": r.peer_id, "displayName": r.display_name}))
        .collect();
    Ok(Json(json!({ "rooms": rooms })))
}

#[handler]
pub async fn room_messages(
    req: &Request,
    Data(state): Data<&AppState>,
    Path((_, domain, name)): Path<(String, String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(state, req)?;
    let (messages, more) = widget_rooms::messages(
        state,
        &c.widget,
        &c.user_id,
        &domain,
        &name,
        q.before,
        count(&q)?,
    )
    .await?;
    let list: Vec<Value> = messages.iter().map(room_message_json).collect();
    Ok(Json(json!({ "messages": list, "more": more })))
}

#[handler]
pub async fn post_room_message(
    req: &Request,
    Data(state): Data<&AppState>,
    Path((_, domain, name)): Path<(String, String, String)>,
    data: Vec<u8>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(state, req)?;
    let body: NewMessage = body::parse(&data)?;
    let m = widget_rooms::post(state, &c.widget, &c.user_id, &domain, &name, &body.text).await?;
    Ok(Json(json!({ "message": room_message_json(&m) })))
}
