//! `GET /v1/session/{jwt}`: opening a session link; and revoking links.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Tag,
    body::JsonBody,
    hal::{Hal, HalPage, Paging, links},
    problem::{ApiError, ApiResult},
    security::ClientAuth,
};
use crate::{
    domain::{
        revocations::{self, RevocationView, Target},
        sessions::Entered,
    },
    state::AppState,
};

pub struct SessionLinksApi;

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct SessionAdmission {
    pub entry_id: Uuid,
    pub session_id: String,
    pub peer_id: Uuid,
    /// `owner` or `guest`.
    pub role: String,
    /// Bearer token of the peer (leave, realtime); shown only here.
    pub peer_token: String,
    /// `domain/name` of the session's room.
    pub room: String,
    /// `waiting` when the peer knocked (a guest, where the org's guest lobby is on: a host
    /// lets it in), else `admitted` (or `connected`/`away` when the link's peer was resumed).
    pub state: String,
}

#[derive(ApiResponse)]
pub enum Opened {
    /// The link holds (asked with `Accept: application/json`).
    #[oai(status = 200)]
    Admitted(Json<Hal<SessionAdmission>>),
    /// The link holds: on to the join page (the peer token travels in the fragment).
    #[oai(status = 302)]
    Join(#[oai(header = "Location")] String),
}

/// The join page, with the peer token in the fragment (never sent to a server or logged).
/// The `rtn` is not passed along: the page reads it from the server (`returnUrl`), so a
/// crafted URL cannot send a user elsewhere on Leave.
fn join_page(e: &Entered) -> String {
    format!("/join/{}/{}#peerToken={}", e.domain, e.room, e.peer_token)
}

#[derive(Debug, Object, Deserialize, Default)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NewRevocation {
    /// The link itself (only its SHA-256 is kept).
    #[oai(nullable)]
    pub link: Option<String>,
    /// The hex SHA-256 of a link.
    #[oai(nullable)]
    #[oai(validator(pattern = r"^[0-9A-Fa-f]{64}$"))]
    pub link_hash: Option<String>,
    /// A link's `jti` claim.
    #[oai(nullable)]
    pub jti: Option<String>,
    /// Every link of this session…
    #[oai(nullable)]
    pub session_id: Option<String>,
    /// …or of this subscription…
    #[oai(nullable)]
    pub subscription_id: Option<Uuid>,
    /// …issued (`iat`, else `nbf`) before this time; default now.
    #[oai(nullable)]
    pub issued_before: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Revocation {
    pub revocation_id: Uuid,
    #[oai(nullable)]
    pub link_hash: Option<String>,
    #[oai(nullable)]
    pub jti: Option<String>,
    #[oai(nullable)]
    pub session_id: Option<String>,
    #[oai(nullable)]
    pub subscription_id: Option<Uuid>,
    #[oai(nullable)]
    pub issued_before: Option<DateTime<Utc>>,
    /// `revoked`, or `kicked` for links of kicked peers.
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

impl From<RevocationView> for Revocation {
    fn from(r: RevocationView) -> Self {
        Self {
            revocation_id: r.id,
            link_hash: r.link_hash,
            jti: r.jti,
            session_id: r.session_id,
            subscription_id: r.subscription_id,
            issued_before: r.issued_before,
            reason: r.reason,
            created_at: r.created_at,
        }
    }
}

#[derive(ApiResponse)]
pub enum Revoked {
    /// The links are refused from now on, on every node.
    #[oai(status = 201)]
    Created(Json<Revocation>),
}

fn target(b: NewRevocation) -> Result<Target, ApiError> {
    let chosen = [
        b.link.is_some(),
        b.link_hash.is_some(),
        b.jti.is_some(),
        b.session_id.is_some(),
        b.subscription_id.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if chosen != 1 {
        return Err(ApiError::invalid(
            "body",
            "name exactly one of link, linkHash, jti, sessionId, subscriptionId",
        ));
    }
    Ok(match b {
        NewRevocation { link: Some(l), .. } => Target::Link(l),
        NewRevocation {
            link_hash: Some(h), ..
        } => Target::LinkHash(h),
        NewRevocation { jti: Some(j), .. } => Target::Jti(j),
        NewRevocation {
            session_id: Some(sid),
            issued_before,
            ..
        } => Target::Session {
            sid,
            before: issued_before,
        },
        NewRevocation {
            subscription_id: Some(id),
            issued_before,
            ..
        } => Target::Subscription {
            id,
            before: issued_before,
        },
        _ => unreachable!("exactly one selector was checked above"),
    })
}

#[OpenApi(tag = "Tag::Sessions")]
impl SessionLinksApi {
    /// Open a session link
    ///
    /// The link is an HS256 JWT signed with an API client's secret (claims `iss`, `un`,
    /// `ref`, `sid`, `rle`, `email` for owners, optional `img`, `rtn`, `nbf`, `exp`). Every
    /// join-time check applies; a valid link records a session entry and admits a peer.
    /// `Accept: application/json` gets the admission; a browser is redirected to the join page.
    #[oai(
        path = "/v1/session/:jwt",
        method = "get",
        operation_id = "openSessionLink"
    )]
    async fn open(
        &self,
        state: Data<&AppState>,
        jwt: Path<String>,
        #[oai(name = "Accept")] accept: Header<Option<String>>,
    ) -> ApiResult<Opened> {
        let entered = crate::join_queue::enter(&state, &jwt.0).await?;
        let wants_json = accept
            .0
            .as_deref()
            .is_some_and(|a| a.contains("application/json"));
        if !wants_json {
            return Ok(Opened::Join(join_page(&entered)));
        }
        let org = format!("/v1/orgs/{}", entered.org_id);
        let l = links([
            ("session", format!("{org}/sessions/{}", entered.session_id)),
            ("join", join_page(&entered)),
            (
                "leave",
                format!("/v1/rooms/{}/{}/leave", entered.domain, entered.room),
            ),
        ]);
        Ok(Opened::Admitted(Json(Hal::new(
            SessionAdmission {
                entry_id: entered.entry_id,
                session_id: entered.session_id,
                peer_id: entered.peer.id,
                role: entered.role.to_string(),
                peer_token: entered.peer_token,
                state: entered.peer.state.as_str().to_string(),
                room: format!("{}/{}", entered.domain, entered.room),
            },
            l,
        ))))
    }

    /// Revoke session links
    #[oai(
        path = "/v1/orgs/:orgId/link-revocations",
        method = "post",
        operation_id = "revokeSessionLinks"
    )]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        body: JsonBody<NewRevocation>,
    ) -> ApiResult<Revoked> {
        auth.principal().require_org(org_id.0)?;
        let r = revocations::revoke(&state, &auth.by(), target(body.0)?).await?;
        Ok(Revoked::Created(Json(r.into())))
    }

    /// List link revocations, newest first
    #[oai(
        path = "/v1/orgs/:orgId/link-revocations",
        method = "get",
        operation_id = "listLinkRevocations"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: ClientAuth,
        #[oai(name = "orgId")] org_id: Path<Uuid>,
        #[oai(validator(minimum(value = "0")))] page: Query<Option<u64>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] count: Query<Option<u64>>,
    ) -> ApiResult<Json<HalPage<Revocation>>> {
        auth.principal().require_org(org_id.0)?;
        let paging = Paging::new(page.0, count.0);
        let (rows, more) = revocations::list(&state, org_id.0, paging.window()).await?;
        Ok(Json(HalPage::new(
            rows.into_iter().map(Revocation::from).collect(),
            paging,
            &format!("/v1/orgs/{}/link-revocations", org_id.0),
            &[],
            more,
        )))
    }
}
