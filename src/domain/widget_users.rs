//! Names and avatars of a widget's site users, from the site's users-info URL:
//! `GET {url}?user_ids=1,2,3` with HTTP Basic auth, answered by a JSON array of
//! `{user_id, name, avatar_url?, profile_url?, profiles?, …}` (every field is kept). Answers are
//! cached for `MEETPLANE_WIDGET_USERS_TTL`; a failing site is recorded on the widget for the
//! admin, retried at most every `RETRY_AFTER_FAILURE`, and never breaks chat: stale cache
//! entries, then `User {id}`, stand in.
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};

use super::widgets::{self, Widget};
use crate::{
    auth::widget_token::user_id_of,
    error::Result,
    state::AppState,
    store::{self, entities::widget_user},
};

/// Ids per request to the site.
const BATCH: usize = 100;
/// Largest answer read from a site.
const MAX_ANSWER_BYTES: usize = 1 << 20;
/// After a failed lookup, serve stand-ins this long before asking the site again.
const RETRY_AFTER_FAILURE: TimeDelta = TimeDelta::seconds(30);

#[derive(Debug, Clone, PartialEq)]
pub struct SiteUser {
    pub user_id: String,
    pub name: String,
    pub avatar_url: Option<String>,
    pub profile_url: Option<String>,
    /// The site's whole entry, including fields meetplane does not interpret.
    pub info: Map<String, Value>,
    /// `site` (just fetched), `cache`, or `fallback` (the site could not say).
    pub source: &'static str,
}

impl SiteUser {
    pub(crate) fn fallback(user_id: &str) -> Self {
        Self {
            user_id: user_id.to_string(),
            name: format!("User {user_id}"),
            avatar_url: None,
            profile_url: None,
            info: Map::new(),
            source: "fallback",
        }
    }

    fn from_entry(
        user_id: String,
        name: String,
        info: Map<String, Value>,
        source: &'static str,
    ) -> Self {
        let text = |k: &str| info.get(k).and_then(Value::as_str).map(str::to_string);
        Self {
            avatar_url: text("avatar_url"),
            profile_url: text("profile_url"),
            user_id,
            name,
            info,
            source,
        }
    }

    fn from_cache(m: widget_user::Model) -> Self {
        let info = serde_json::from_str(&m.info).unwrap_or_default();
        Self::from_entry(m.user_id, m.name, info, "cache")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("the widget has no users-info URL")]
    NotConfigured,
    #[error("the site refused the API login and password (HTTP {0})")]
    Unauthorized(u16),
    #[error("the site answered HTTP {0}")]
    Status(u16),
    #[error("the site did not answer within {0} ms")]
    Timeout(u128),
    #[error("the site cannot be reached: {0}")]
    Unreachable(String),
    #[error("the site's answer is not usable: {0}")]
    Malformed(String),
}

impl LookupError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured => "users_info_not_configured",
            Self::Unauthorized(_) => "users_info_unauthorized",
            Self::Status(_) => "users_info_status",
            Self::Timeout(_) => "users_info_timeout",
            Self::Unreachable(_) => "users_info_unreachable",
            Self::Malformed(_) => "users_info_malformed",
        }
    }
}

/// What one request to the site gave: the usable users, and complaints about the rest.
#[derive(Debug, Default)]
pub struct Fetched {
    pub users: Vec<SiteUser>,
    pub problems: Vec<String>,
}

fn request_url(base: &str, ids: &[String]) -> Result<url::Url, LookupError> {
    let mut url = url::Url::parse(base).map_err(|e| LookupError::Unreachable(e.to_string()))?;
    // Commas stay literal, as sites split `user_ids` on them.
    let ids = ids
        .iter()
        .map(|id| url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join(",");
    let query = match url.query() {
        Some(q) if !q.is_empty() => format!("{q}&user_ids={ids}"),
        _ => format!("user_ids={ids}"),
    };
    url.set_query(Some(&query));
    Ok(url)
}

fn parse_answer(bytes: &[u8]) -> Result<Fetched, LookupError> {
    let entries = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Array(entries)) => entries,
        Ok(_) => {
            return Err(LookupError::Malformed(
                "expected a JSON array of users".into(),
            ));
        }
        Err(e) => return Err(LookupError::Malformed(format!("not JSON: {e}"))),
    };
    let mut out = Fetched::default();
    for (i, entry) in entries.into_iter().enumerate() {
        let Value::Object(info) = entry else {
            out.problems.push(format!("entry {i} is not an object"));
            continue;
        };
        let Some(user_id) = info.get("user_id").and_then(user_id_of) else {
            out.problems
                .push(format!("entry {i} has no usable user_id"));
            continue;
        };
        let name = match info.get("name").and_then(Value::as_str).map(str::trim) {
            Some(n) if !n.is_empty() => n.chars().take(128).collect::<String>(),
            _ => {
                out.problems
                    .push(format!("the entry of user {user_id} has no name"));
                continue;
            }
        };
        out.users
            .push(SiteUser::from_entry(user_id, name, info, "site"));
    }
    Ok(out)
}

/// Ask the site about `ids` (one request; at most `BATCH` ids).
async fn request(state: &AppState, w: &Widget, ids: &[String]) -> Result<Fetched, LookupError> {
    let base = w
        .users_info_url
        .as_deref()
        .ok_or(LookupError::NotConfigured)?;
    let url = request_url(base, ids)?;
    state
        .outbound
        .vet(&url)
        .map_err(|e| LookupError::Unreachable(e.to_string()))?;
    let timeout = state.config.chat.users_info_timeout;
    let mut req = state.outbound.client().get(url).timeout(timeout);
    if let Some(login) = &w.api_login {
        let password = widgets::api_password(state, w)
            .map_err(|_| LookupError::Unreachable("the API password cannot be unsealed".into()))?;
        req = req.basic_auth(login, password);
    }
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            LookupError::Timeout(timeout.as_millis())
        } else {
            LookupError::Unreachable(crate::events::webhook_post::describe(e))
        }
    };
    let mut resp = req.send().await.map_err(failed)?;
    let status = resp.status().as_u16();
    if status == 401 || status == 403 {
        return Err(LookupError::Unauthorized(status));
    }
    if !resp.status().is_success() {
        return Err(LookupError::Status(status));
    }
    if resp
        .content_length()
        .is_some_and(|n| n as usize > MAX_ANSWER_BYTES)
    {
        return Err(LookupError::Malformed(
            "the answer is larger than 1 MiB".into(),
        ));
    }
    let (bytes, whole) = crate::outbound::body_up_to(&mut resp, MAX_ANSWER_BYTES)
        .await
        .map_err(failed)?;
    if !whole {
        return Err(LookupError::Malformed(
            "the answer is larger than 1 MiB".into(),
        ));
    }
    parse_answer(&bytes)
}

/// Site user ids given by a client, checked.
pub fn parse_ids(raw: &[String]) -> Result<Vec<String>> {
    raw.iter()
        .map(|id| {
            user_id_of(&Value::String(id.clone())).ok_or_else(|| {
                crate::error::Error::invalid("userIds", format!("{id:?} is not a user id"))
            })
        })
        .collect()
}

/// Ask the site about `ids` in batches, cache what it says and record the outcome on the
/// widget. An error of any batch is the outcome.
pub async fn fetch(
    state: &AppState,
    w: &Widget,
    ids: &[String],
) -> Result<Result<Fetched, LookupError>> {
    let mut all = Fetched::default();
    let mut failure = None;
    for chunk in ids.chunks(BATCH) {
        match request(state, w, chunk).await {
            Ok(f) => {
                all.users.extend(f.users);
                all.problems.extend(f.problems);
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let now = state.now();
    store::widgets::store_users(
        &state.db,
        all.users
            .iter()
            .map(|u| widget_user::Model {
                widget_id: w.id.clone(),
                user_id: u.user_id.clone(),
                name: u.name.clone(),
                info: Value::Object(u.info.clone()).to_string(),
                fetched_at: now,
            })
            .collect(),
    )
    .await?;
    let outcome = match failure {
        Some(e) => Err(e),
        None if !all.problems.is_empty() => {
            let e = LookupError::Malformed(all.problems.join("; "));
            record(state, w, now, Some(&e)).await?;
            return Ok(Ok(all));
        }
        None => Ok(all),
    };
    record(state, w, now, outcome.as_ref().err()).await?;
    Ok(outcome)
}

async fn record(
    state: &AppState,
    w: &Widget,
    now: DateTime<Utc>,
    e: Option<&LookupError>,
) -> Result<()> {
    match e {
        None => store::widgets::record_lookup(&state.writer, &w.id, now, None).await?,
        Some(e) => {
            tracing::warn!(widget = %w.id, code = e.code(), error = %e, "users-info lookup failed");
            let message = e.to_string();
            store::widgets::record_lookup(&state.writer, &w.id, now, Some((e.code(), &message)))
                .await?
        }
    }
    Ok(())
}

/// Names for `ids`: fresh cache entries, else the site, else stale entries, else `User {id}`.
pub async fn resolve(
    state: &AppState,
    w: &Widget,
    ids: &[String],
) -> Result<HashMap<String, SiteUser>> {
    let mut ids: Vec<String> = ids.to_vec();
    ids.sort();
    ids.dedup();
    let now = state.now();
    let ttl = TimeDelta::from_std(state.config.chat.users_info_ttl).unwrap_or(TimeDelta::MAX);
    let mut known: HashMap<String, (SiteUser, bool)> =
        store::widgets::cached_users(&state.db, &w.id, &ids)
            .await?
            .into_iter()
            .map(|m| {
                let fresh = m.fetched_at + ttl > now;
                (m.user_id.clone(), (SiteUser::from_cache(m), fresh))
            })
            .collect();
    let wanted: Vec<String> = ids
        .iter()
        .filter(|id| !known.get(*id).is_some_and(|(_, fresh)| *fresh))
        .cloned()
        .collect();
    let backing_off = w
        .users_info_failed_at
        .is_some_and(|t| t + RETRY_AFTER_FAILURE > now);
    if !wanted.is_empty() && w.users_info_url.is_some() && !backing_off {
        // Whatever the site answers is better than the cache; failures are recorded.
        if let Ok(fetched) = fetch(state, w, &wanted).await? {
            for u in fetched.users {
                known.insert(u.user_id.clone(), (u, true));
            }
        }
    }
    Ok(ids
        .into_iter()
        .map(|id| {
            let user = known
                .remove(&id)
                .map(|(u, _)| u)
                .unwrap_or_else(|| SiteUser::fallback(&id));
            (id, user)
        })
        .collect())
}

/// One user's name (see `resolve`).
pub async fn resolve_one(state: &AppState, w: &Widget, id: &str) -> Result<SiteUser> {
    let mut all = resolve(state, w, &[id.to_string()]).await?;
    Ok(all.remove(id).unwrap_or_else(|| SiteUser::fallback(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keep_extra_fields_and_report_bad_entries() {
        let f = parse_answer(
            br#"[{"user_id": 6, "name": "John", "avatar_url": false, "badge": "gold",
                 "profiles": {"11": {"user_id": "P11-A", "name": "P11-John"}}},
                {"user_id": "7", "name": "Ann", "avatar_url": "https://x.example/a.png"},
                {"user_id": 8}]"#,
        )
        .unwrap();
        assert_eq!(f.users.len(), 2);
        assert_eq!(
            (
                f.users[0].user_id.as_str(),
                f.users[0].avatar_url.as_deref()
            ),
            ("6", None)
        );
        assert_eq!(f.users[0].info["badge"], "gold");
        assert_eq!(f.users[0].info["profiles"]["11"]["name"], "P11-John");
        assert_eq!(
            f.users[1].avatar_url.as_deref(),
            Some("https://x.example/a.png")
        );
        assert_eq!(f.problems, vec!["the entry of user 8 has no name"]);
        assert!(matches!(
            parse_answer(b"{}"),
            Err(LookupError::Malformed(_))
        ));
        assert!(matches!(
            parse_answer(b"<html>"),
            Err(LookupError::Malformed(_))
        ));
    }

    #[test]
    fn request_urls_keep_commas() {
        let ids = ["1".to_string(), "2".into(), "a b".into()];
        assert_eq!(
            request_url("https://site.example/api/users", &ids)
                .unwrap()
                .as_str(),
            "https://site.example/api/users?user_ids=1,2,a+b"
        );
        assert_eq!(
            request_url("https://site.example/u?key=1", &ids[..1])
                .unwrap()
                .as_str(),
            "https://site.example/u?key=1&user_ids=1"
        );
    }
}
