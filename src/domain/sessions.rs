//! Sessions (Coviu): a call named by the `sid` of its links, living in a room of the org's
//! default domain. Opening a valid session link records a session entry and admits a peer:
//! the owner (an active subscription, not live in another session at the same time) as host,
//! guests as users, within the org's session capacity.
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use super::{
    clients,
    peers::{self, Entry},
    room_model::{Origin, PeerView, Role, RoomType},
    rooms::{self, RoomSpec},
    validate,
};
use crate::{
    auth::{
        random,
        session_link::{self, LinkClaims, LinkError, LinkRole},
    },
    error::{Error, Result},
    events::{EventKind, payloads, tx::WriteTx},
    state::AppState,
    store::{
        self,
        entities::{domain, room, session_entry},
        revocations::LinkFacts,
    },
};

/// A session's room name: the `sid` itself when it is a valid room name (a UUID is), else a
/// stable digest of it.
pub fn room_name(sid: &str) -> String {
    match validate::room_name("sid", sid) {
        Ok(name) => name,
        Err(_) => format!("sid-{}", &random::digest(sid)[..40]),
    }
}

fn link_error(e: LinkError) -> Error {
    let message = e.to_string();
    match e {
        LinkError::TooLong => Error::bad_request("link_too_long", message),
        LinkError::Malformed(_) => Error::bad_request("malformed_link", message),
        LinkError::UnsupportedAlgorithm(_) => {
            Error::unauthenticated("unsupported_algorithm", message)
        }
        LinkError::BadSignature => Error::unauthenticated("invalid_signature", message),
        LinkError::Expired(_) => Error::unauthenticated("link_expired", message),
        LinkError::NotYetValid(_) => Error::unauthenticated("link_not_yet_valid", message),
        LinkError::MissingClaim(name) | LinkError::InvalidClaim(name, _) => {
            Error::invalid(name, message)
        }
    }
}

/// What opening a link produced.
#[derive(Debug, Clone)]
pub struct Entered {
    pub entry_id: Uuid,
    pub org_id: Uuid,
    pub session_id: String,
    pub role: &'static str,
    pub peer: PeerView,
    pub peer_token: String,
    pub domain: String,
    pub room: String,
    pub rtn: Option<String>,
}

/// Check a session link at join time and, when it holds, admit its bearer.
pub async fn enter(state: &AppState, token: &str) -> Result<Entered> {
    let now = state.now();
    let iss = session_link::issuer(token).map_err(link_error)?;
    let client = store::clients::find_by_api_key(&state.db, &iss)
        .await?
        .filter(|c| c.revoked_at.is_none())
        .ok_or_else(|| {
            Error::unauthenticated("unknown_issuer", "iss names no active API client")
        })?;
    let secret = clients::secret_of(&state.sealer, &client)?;
    let claims = session_link::verify(token, &secret, now).map_err(link_error)?;
    let (org, domain) = store::orgs::with_default_domain(&state.db, client.org_id)
        .await?
        .ok_or(Error::not_found("domain"))?;
    let link_hash = random::digest(token);

    let mut tx = WriteTx::begin(state).await?;
    // An owner's entries lock the subscription, so it cannot become live in two sessions at
    // once; guests only read it (they need not wait for each other).
    let subscription = if claims.role == LinkRole::Owner {
        store::subscriptions::lock_active_by_ref(tx.conn(), org.id, &claims.reference).await?
    } else {
        store::subscriptions::find_active_by_ref(tx.conn(), org.id, &claims.reference).await?
    };
    let subscription = subscription.ok_or_else(|| {
        Error::forbidden(
            "inactive_subscription",
            "no active subscription has this ref; the owner may not host",
        )
    })?;
    let facts = LinkFacts {
        link_hash: &link_hash,
        jti: claims.jti.as_deref(),
        session_id: &claims.sid,
        subscription_id: subscription.id,
        issued_at: claims.iat.or(claims.nbf),
    };
    if store::revocations::is_revoked(tx.conn(), org.id, &facts).await? {
        return Err(Error::forbidden(
            "link_revoked",
            "this link has been revoked",
        ));
    }
    if claims.role == LinkRole::Owner
        && store::session_entries::owner_present_elsewhere(tx.conn(), subscription.id, &claims.sid)
            .await?
    {
        return Err(Error::conflict(
            "subscription_busy",
            "the subscription is live in another session; one subscription hosts one session at a time",
        ));
    }
    let name = room_name(&claims.sid);
    let mut room = match store::rooms::find_live(tx.conn(), domain.id, &name, true).await? {
        Some(room) => room,
        None => {
            open_session_room(
                state,
                &mut tx,
                &domain,
                &name,
                &claims,
                client.id,
                org.session_capacity,
            )
            .await?
        }
    };
    let role = match claims.role {
        LinkRole::Owner => Role::Host,
        LinkRole::Guest => Role::User,
    };
    let entry = Entry::Link {
        role,
        link_hash: link_hash.clone(),
    };
    let (peer, peer_token) =
        peers::admit_in(state, &mut tx, &domain, &mut room, &claims.un, &entry, None).await?;
    let entry_id = Uuid::new_v4();
    let role_name = match claims.role {
        LinkRole::Owner => "owner",
        LinkRole::Guest => "guest",
    };
    store::session_entries::insert(
        tx.conn(),
        session_entry::ActiveModel {
            id: Set(entry_id),
            org_id: Set(org.id),
            client_id: Set(client.id),
            session_id: Set(claims.sid.clone()),
            room_id: Set(room.id),
            subscription_id: Set(subscription.id),
            peer_id: Set(peer.id),
            role: Set(role_name.to_string()),
            name: Set(peer.display_name.clone()),
            // The id of the issued peer token, never the token itself.
            access_token_id: Set(format!("tok_{}", Uuid::new_v4().simple())),
            link_hash: Set(link_hash),
            entry_time: Set(now),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Entered {
        entry_id,
        org_id: org.id,
        session_id: claims.sid,
        role: role_name,
        peer,
        peer_token,
        domain: domain.name,
        room: name,
        rtn: claims.rtn,
    })
}

async fn open_session_room(
    state: &AppState,
    tx: &mut WriteTx,
    domain: &domain::Model,
    name: &str,
    claims: &LinkClaims,
    client_id: Uuid,
    capacity: i32,
) -> Result<room::Model> {
    rooms::check_creation(tx, domain, name, Origin::Client(client_id)).await?;
    let spec = RoomSpec {
        room_type: RoomType::Conference,
        lock: false,
        password: None,
        capacity,
        host_key: None,
        session: true,
    };
    let mut room = rooms::create_in(state, tx, domain, name, spec).await?;
    let payload = payloads::session(&claims.sid, name);
    tx.emit_room(domain, &mut room, EventKind::SessionStarted, payload)
        .await?;
    Ok(room)
}

/// After peers left or were removed: a session room that is now empty ends (`roomRemoved`,
/// `sessionEnded`).
pub(super) async fn after_departure(
    tx: &mut WriteTx,
    domain: &domain::Model,
    room: room::Model,
) -> Result<()> {
    if room.kind == "session" && room.present_count == 0 {
        rooms::close_in(tx, domain, room, Vec::new(), "session_ended").await?;
    }
    Ok(())
}

/// `sessionEnded` when a session room closes, however that happens.
pub(super) async fn on_close(
    tx: &mut WriteTx,
    domain: &domain::Model,
    room: &mut room::Model,
) -> Result<()> {
    if room.kind != "session" {
        return Ok(());
    }
    let sid = store::session_entries::session_of_room(tx.conn(), room.id)
        .await?
        .unwrap_or_else(|| room.name.clone());
    let payload = payloads::session(&sid, &room.name);
    tx.emit_room(domain, room, EventKind::SessionEnded, payload)
        .await
}

/// A session entry as the Coviu API shows it.
#[derive(Debug, Clone)]
pub struct EntryView {
    pub entry_id: Uuid,
    pub name: String,
    pub access_token: String,
    pub client_id: Uuid,
    pub session_id: String,
    pub org_id: Uuid,
    pub entry_time: DateTime<Utc>,
    pub subscription_id: Uuid,
    pub role: String,
    pub peer_id: Uuid,
}

impl From<session_entry::Model> for EntryView {
    fn from(e: session_entry::Model) -> Self {
        Self {
            entry_id: e.id,
            name: e.name,
            access_token: e.access_token_id,
            client_id: e.client_id,
            session_id: e.session_id,
            org_id: e.org_id,
            entry_time: e.entry_time,
            subscription_id: e.subscription_id,
            role: e.role,
            peer_id: e.peer_id,
        }
    }
}

pub use super::session_entries::{EntryFilter, csv, entries, session};
