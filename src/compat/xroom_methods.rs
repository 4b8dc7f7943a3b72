//! The methods of the xroom collections, each mapped onto the domain function that owns its
//! rules, with the seed's input and output shapes.
use poem::http::StatusCode;
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Map, Value, json};

use super::{
    xroom::{Failure, Outcome},
    xroom_bookings,
};
use crate::{
    domain::{
        audit::By,
        domains,
        principal::Principal,
        redaction,
        rooms::{self, KickTarget, RoomOptions},
        webhooks::{self, NewWebhook, WebhookView},
    },
    state::AppState,
    store::Window,
};

pub const COLLECTIONS: [&str; 3] = ["room", "booking", "webhook"];

pub fn methods(collection: &str) -> &'static [&'static str] {
    match collection {
        "room" => &[
            "init",
            "destroy",
            "kickOut",
            "setLock",
            "setPassword",
            "list",
        ],
        "booking" => &["add", "remove", "update", "list", "get"],
        _ => &["add", "remove", "list", "validate"],
    }
}

/// Everything at once: xroom lists are not paged.
pub(super) const ALL: Window = Window {
    offset: 0,
    limit: 100_000,
};

pub(super) fn parse<T: DeserializeOwned>(data: Value) -> Result<T, Failure> {
    serde_path_to_error::deserialize(data).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name.to_string(),
            (p, Some(name)) => format!("{p}.{name}"),
            (p, None) => p.to_string(),
        };
        Failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("data.{field}: {message}"),
        )
    })
}

fn room_id(id: &str) -> Result<(&str, &str), Failure> {
    id.split_once('/')
        .filter(|(d, n)| !d.is_empty() && !n.is_empty())
        .ok_or_else(|| {
            Failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                "data.id: must be a room id such as chat.org/my-room".into(),
            )
        })
}

pub async fn dispatch(
    state: &AppState,
    who: &Principal,
    collection: &str,
    method: &str,
    data: Value,
) -> Outcome {
    match collection {
        "room" => room_method(state, who, method, data).await,
        "booking" => xroom_bookings::dispatch(state, who, method, data).await,
        "webhook" => webhook_method(state, who, method, data).await,
        _ => Err(unknown_method(collection, method)),
    }
}

async fn room_method(state: &AppState, who: &Principal, method: &str, data: Value) -> Outcome {
    match method {
        "init" => room_init(state, who, parse(data)?).await,
        "destroy" => {
            let d: Destroy = parse(data)?;
            let (domain, name) = room_id(&d.id)?;
            rooms::destroy(
                state,
                &By::from(who),
                domain,
                name,
                d.force_kick.unwrap_or(false),
            )
            .await?;
            Ok(json!(true))
        }
        "kickOut" => {
            let k: KickOut = parse(data)?;
            let (domain, name) = room_id(&k.id)?;
            let target = KickTarget::parse(&k.peer_id)?;
            rooms::kick(state, &By::from(who), domain, name, target).await?;
            Ok(json!(true))
        }
        "setLock" => {
            let l: SetLock = parse(data)?;
            let (domain, name) = room_id(&l.id)?;
            rooms::set_lock(state, &By::from(who), domain, name, l.lock).await?;
            Ok(json!(true))
        }
        "setPassword" => {
            let p: SetPassword = parse(data)?;
            let (domain, name) = room_id(&p.id)?;
            rooms::set_password(state, &By::from(who), domain, name, p.password.as_deref()).await?;
            Ok(json!(true))
        }
        "list" => room_list(state, who, parse(data)?).await,
        _ => Err(unknown_method("room", method)),
    }
}

async fn webhook_method(state: &AppState, who: &Principal, method: &str, data: Value) -> Outcome {
    match method {
        "add" => {
            let w: WebhookAdd = parse(data)?;
            let v = webhooks::add(
                state,
                &By::from(who),
                NewWebhook {
                    domain: w.domain,
                    kind: w.kind,
                    room_name: w.room_name,
                    url: w.url,
                    robot_id: w.robot_id,
                    events: Some(webhooks::xroom_events(w.events)?),
                },
            )
            .await?;
            Ok(json!({"id": v.id, "validated": v.validated}))
        }
        "remove" => {
            let w: ById = parse(data)?;
            webhooks::remove(state, &By::from(who), w.id).await?;
            Ok(json!(true))
        }
        "list" => {
            let l: WebhookList = parse(data)?;
            let (views, _) = webhooks::list(
                state,
                who.org_id,
                Some(&l.domain),
                l.token,
                l.validated,
                ALL,
            )
            .await?;
            Ok(Value::Array(
                views.into_iter().map(webhook_object).collect(),
            ))
        }
        "validate" => {
            let w: ById = parse(data)?;
            let (_, result) = webhooks::validate(state, &By::from(who), w.id).await?;
            Ok(json!({"validated": result.validated}))
        }
        _ => Err(unknown_method("webhook", method)),
    }
}

pub(super) fn unknown_method(collection: &str, method: &str) -> Failure {
    Failure(
        StatusCode::BAD_REQUEST,
        format!(
            "unknown method {method:?} for {collection}; valid methods: {}",
            methods(collection).join(", ")
        ),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Init {
    id: String,
    #[serde(rename = "type")]
    room_type: Option<i64>,
    lock: Option<bool>,
    key: Option<String>,
    add_host_key: Option<bool>,
    capacity: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Destroy {
    id: String,
    force_kick: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KickOut {
    id: String,
    peer_id: String,
}

#[derive(Deserialize)]
struct SetLock {
    id: String,
    lock: bool,
}

#[derive(Deserialize)]
struct SetPassword {
    id: String,
    /// `null` (or absent) removes the password.
    password: Option<String>,
}

#[derive(Deserialize, Default)]
struct OptionalDomain {
    domain: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ById {
    pub(super) id: i64,
}

async fn room_init(state: &AppState, who: &Principal, i: Init) -> Outcome {
    let (domain, name) = room_id(&i.id)?;
    let created = rooms::init(
        state,
        &By::from(who),
        who.origin(),
        domain,
        name,
        RoomOptions {
            room_type: i.room_type,
            lock: i.lock,
            password: i.key,
            add_host_key: i.add_host_key.unwrap_or(false),
            capacity: i.capacity,
            lobby: None,
        },
    )
    .await?;
    let r = created.room;
    let mut out =
        json!({"id": r.full_id(), "type": r.room_type, "isLocked": r.is_locked, "key": r.password});
    if let Some(key) = created.host_key {
        out["hostKey"] = key.into();
    }
    Ok(out)
}

async fn room_list(state: &AppState, who: &Principal, l: OptionalDomain) -> Outcome {
    let (views, _) = rooms::list(state, who.org_id, l.domain.as_deref(), ALL).await?;
    let mut by_domain: Map<String, Value> = Map::new();
    for r in views {
        let r = redaction::shown_to(who.into(), r);
        let object = json!({
            "options": {"type": r.room_type, "isLocked": r.is_locked, "password": r.password},
            // `state` and `connectedAt` are ours (presence); xroom's clients read id and type.
            "clients": r.peers.iter().map(|p| json!({"id": p.id, "type": p.peer_type,
                "state": p.state.as_str(), "connectedAt": p.connected_at})).collect::<Vec<_>>(),
        });
        let entry = by_domain
            .entry(r.domain.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(rooms) = entry {
            rooms.insert(r.full_id(), object);
        }
    }
    if let Some(d) = l.domain
        && by_domain.is_empty()
    {
        by_domain.insert(domains::canonical_name(&d), json!({}));
    }
    Ok(Value::Object(by_domain))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookAdd {
    domain: String,
    #[serde(rename = "type")]
    kind: String,
    room_name: Option<String>,
    url: Option<String>,
    robot_id: Option<i64>,
    /// Beyond the manual: some of its events only.
    events: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct WebhookList {
    domain: String,
    token: Option<String>,
    validated: Option<bool>,
}

fn webhook_object(v: WebhookView) -> Value {
    json!({
        "id": v.id,
        "domain": v.domain,
        "roomName": v.room_name,
        "url": v.url,
        "robotId": v.robot_id,
        "validated": v.validated,
    })
}
