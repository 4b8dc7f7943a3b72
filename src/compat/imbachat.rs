//! The ImbaChat surface (seeds 001/004, PROTOCOLS.md): the widget script a site embeds with
//! `<script src="{base}/imbachat/v1/{widgetId}/widget">`, and the JSON calls that script makes
//! for its site user (`Authorization: Bearer <user token>`, the site's HS256 JWT):
//!
//! - `GET  …/me`: the user, as the site's users-info URL names them;
//! - `GET  …/dialogs?page=&count=`: their direct dialogs, most recent first, with unread counts;
//! - `POST …/dialogs` `{"userId": 2}`: create or get the dialog with user 2 (`openDialog`);
//! - `GET  …/dialogs/{id}/messages?before=&count=`: history, newest first;
//! - `POST …/dialogs/{id}/messages` `{"text": …}`; `POST …/dialogs/{id}/read` `{"upTo"?: id}`;
//! - `GET  …/rooms`: the rooms where the user is a peer (admitted with `siteUserId`), and
//!   `GET|POST …/rooms/{domain}/{name}/messages`: their chat, written as that peer;
//! - `GET  …/socket?token=`: a WebSocket pushing `{"type":"message",…}` for the user's dialogs
//!   and `{"type":"roomMessage",…}` for their rooms.
//!
//! Pages on the widget's allowed origins may call these (CORS); other origins are refused.
use crate::error::Code;
use poem::{
    Endpoint, IntoResponse, Request, Response,
    error::ResponseError,
    handler,
    http::{HeaderValue, Method, StatusCode, header},
    web::{Data, Json, Path, Query},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{imbachat_rooms, imbachat_socket};
use crate::{
    api::{body, problem::ApiError, problem::render_poem_error},
    domain::{
        dialogs::{self, DialogMessageView, DialogView},
        socket_access::{Credential, Watch},
        widget_users::{self, SiteUser},
        widgets::{self, Widget},
    },
    error::Error,
    state::AppState,
    store::Window,
};

/// The widget's script, served as is (hand-written, no build step).
const SCRIPT: &str = include_str!("../../web/widget/imbachat.js");
const MAX_PAGE: u64 = 100;

/// The widget and the site user a request speaks for.
pub struct WidgetUser {
    pub widget: Widget,
    pub user_id: String,
}

fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

async fn widget_of(state: &AppState, req: &Request) -> Result<Widget, ApiError> {
    // `nest` strips the prefix from `uri()`; the original keeps it.
    let id = req
        .original_uri()
        .path()
        .strip_prefix("/imbachat/v1/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    Ok(widgets::find_public(state, id).await?)
}

/// Authenticate the site user of a widget call by their token.
pub fn user_of(
    state: &AppState,
    widget: Widget,
    token: Option<&str>,
) -> Result<WidgetUser, ApiError> {
    let token = token.ok_or_else(|| {
        Error::unauthenticated(
            Code::Unauthenticated,
            "pass the site's user token as Authorization: Bearer <token>",
        )
    })?;
    let user_id = widgets::authenticate(state, &widget, token)?;
    Ok(WidgetUser { widget, user_id })
}

fn cors_headers(resp: &mut Response, origin: &HeaderValue) {
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// CORS for the widget's calls: an `Origin` must be one of the widget's allowed origins.
/// Preflights are answered here; the widget (loaded once) travels to the handler.
pub async fn cors<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let state = req
        .data::<AppState>()
        .cloned()
        .ok_or_else(|| poem::Error::from_string("no state", StatusCode::INTERNAL_SERVER_ERROR))?;
    if req.uri().path().ends_with("/widget") && req.method() == Method::GET {
        // The script itself is public (loaded by a <script> tag).
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let widget = match widget_of(&state, &req).await {
        Ok(w) => w,
        Err(e) => return Ok(e.as_response()),
    };
    let origin = req.headers().get(header::ORIGIN).cloned();
    if let Some(o) = &origin
        && !widgets::origin_allowed(&widget, o.to_str().unwrap_or_default())
    {
        let e = Error::forbidden(
            Code::OriginNotAllowed,
            "this page's origin is not among the widget's allowed origins",
        );
        return Ok(ApiError::from(e).as_response());
    }
    if req.method() == Method::OPTIONS {
        let mut resp = Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS")
            .header(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type",
            )
            .header(header::ACCESS_CONTROL_MAX_AGE, "600")
            .finish();
        if let Some(o) = &origin {
            cors_headers(&mut resp, o);
        }
        return Ok(resp);
    }
    req.extensions_mut().insert(widget);
    let mut resp = match next.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => render_poem_error(e),
    };
    if let Some(o) = &origin {
        cors_headers(&mut resp, o);
    }
    Ok(resp)
}

#[handler]
pub async fn script(req: &Request, Data(state): Data<&AppState>) -> Result<Response, ApiError> {
    widget_of(state, req).await?;
    Ok(Response::builder()
        .header(
            header::CONTENT_TYPE,
            "application/javascript; charset=utf-8",
        )
        .header(header::CACHE_CONTROL, "public, max-age=300")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .body(SCRIPT))
}

pub(super) fn caller(state: &AppState, req: &Request) -> Result<WidgetUser, ApiError> {
    let widget = req
        .extensions()
        .get::<Widget>()
        .cloned()
        .ok_or_else(|| ApiError::from(Error::not_found("widget")))?;
    user_of(state, widget, bearer(req))
}

pub fn user_json(u: &SiteUser) -> Value {
    json!({
        "userId": u.user_id,
        "name": u.name,
        "avatarUrl": u.avatar_url,
        "profileUrl": u.profile_url,
        "info": u.info,
        "source": u.source,
    })
}

pub fn message_json(m: &DialogMessageView) -> Value {
    json!({
        "id": m.id,
        "dialogId": m.dialog_id,
        "from": m.from,
        "fromName": m.from_name,
        "text": m.text,
        "createdAt": m.created_at.to_rfc3339(),
    })
}

fn dialog_json(d: &DialogView) -> Value {
    json!({
        "id": d.id,
        "with": user_json(&d.with),
        "unread": d.unread,
        "lastMessage": d.last_message.as_ref().map(message_json),
        "updatedAt": d.updated_at.to_rfc3339(),
    })
}

#[handler]
pub async fn me(req: &Request, Data(state): Data<&AppState>) -> Result<Json<Value>, ApiError> {
    let c = caller(state, req)?;
    let user = widget_users::resolve_one(state, &c.widget, &c.user_id).await?;
    Ok(Json(json!({ "user": user_json(&user) })))
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<u64>,
    count: Option<u64>,
    pub(super) before: Option<i64>,
}

pub(super) fn count(q: &PageQuery) -> Result<u64, ApiError> {
    match q.count {
        None => Ok(30),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid("count", format!("must be 1-{MAX_PAGE}")).into()),
    }
}

#[handler]
pub async fn list_dialogs(
    req: &Request,
    Data(state): Data<&AppState>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(state, req)?;
    let limit = count(&q)?;
    let window = Window::page(q.page.unwrap_or(0), limit);
    let (dialogs, more) = dialogs::list(state, &c.widget, &c.user_id, window).await?;
    let list: Vec<Value> = dialogs.iter().map(dialog_json).collect();
    Ok(Json(json!({ "dialogs": list, "more": more })))
}

#[handler]
pub async fn open_dialog(
    req: &Request,
    Data(state): Data<&AppState>,
    data: Vec<u8>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(state, req)?;
    let body: Value = body::parse(&data)?;
    let other = body
        .get("userId")
        .or_else(|| body.get("user_id"))
        .unwrap_or(&Value::Null);
    let d = dialogs::open(state, &c.widget, &c.user_id, other).await?;
    Ok(Json(json!({ "dialog": dialog_json(&d) })))
}

#[handler]
pub async fn list_messages(
    req: &Request,
    Data(state): Data<&AppState>,
    Path((_, id)): Path<(String, i64)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(state, req)?;
    let (messages, more) =
        dialogs::messages(state, &c.widget, &c.user_id, id, q.before, count(&q)?).await?;
    let list: Vec<Value> = messages.iter().map(message_json).collect();
    Ok(Json(json!({ "messages": list, "more": more })))
}

#[derive(Debug, Deserialize)]
pub(super) struct NewMessage {
    pub(super) text: String,
}

#[handler]
pub async fn post_message(
    req: &Request,
    Data(state): Data<&AppState>,
    Path((_, id)): Path<(String, i64)>,
    data: Vec<u8>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(state, req)?;
    let body: NewMessage = body::parse(&data)?;
    let m = dialogs::post(state, &c.widget, &c.user_id, id, &body.text).await?;
    Ok(Json(json!({ "message": message_json(&m) })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadMark {
    up_to: Option<i64>,
}

#[handler]
pub async fn mark_read(
    req: &Request,
    Data(state): Data<&AppState>,
    Path((_, id)): Path<(String, i64)>,
    data: Vec<u8>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(state, req)?;
    let mark: ReadMark = if data.is_empty() {
        ReadMark { up_to: None }
    } else {
        body::parse(&data)?
    };
    let unread = dialogs::mark_read(state, &c.widget, &c.user_id, id, mark.up_to).await?;
    Ok(Json(json!({ "unread": unread })))
}

/// `GET …/socket?token=`: browsers cannot set headers on WebSockets.
#[handler]
pub async fn socket(
    req: &Request,
    ws: poem::web::websocket::WebSocket,
    Data(state): Data<&AppState>,
    Query(q): Query<imbachat_socket::SocketQuery>,
) -> poem::Result<impl IntoResponse> {
    let widget = req
        .extensions()
        .get::<Widget>()
        .cloned()
        .ok_or_else(|| ApiError::from(Error::not_found("widget")))?;
    let token = q.token.as_deref().or_else(|| bearer(req));
    // Checked here for the error the other calls answer; the watch checks it again, and
    // closes the socket when the token expires or the widget's key changes.
    let user = user_of(state, widget, token)?;
    let credential = Credential::WidgetUser {
        widget_id: user.widget.id.clone(),
        token: token.unwrap_or_default().to_string(),
    };
    let watch = Watch::open(state, credential)
        .await
        .map_err(ApiError::from)?;
    let state = state.clone();
    Ok(ws
        .config(crate::api::realtime::socket_config())
        .on_upgrade(move |socket| imbachat_socket::run(state, user, watch, socket)))
}

/// The widget's routes, under `/imbachat/v1`.
pub fn routes() -> impl Endpoint {
    use poem::{EndpointExt, Route, get, post};
    Route::new()
        .at("/:widget/widget", get(script))
        .at("/:widget/me", get(me).options(preflight))
        .at(
            "/:widget/dialogs",
            get(list_dialogs).post(open_dialog).options(preflight),
        )
        .at(
            "/:widget/dialogs/:id/messages",
            get(list_messages).post(post_message).options(preflight),
        )
        .at(
            "/:widget/dialogs/:id/read",
            post(mark_read).options(preflight),
        )
        .at(
            "/:widget/rooms",
            get(imbachat_rooms::list_rooms).options(preflight),
        )
        .at(
            "/:widget/rooms/:domain/:name/messages",
            get(imbachat_rooms::room_messages)
                .post(imbachat_rooms::post_room_message)
                .options(preflight),
        )
        .at("/:widget/socket", get(socket))
        .around(cors)
}

/// Answered by `cors` before it gets here.
#[handler]
fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}
