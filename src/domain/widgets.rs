//! Chat widgets (ImbaChat): one per site that embeds the chat. A widget holds the HS256 key
//! the site signs its user tokens with (shown once, sealed), the site's users-info URL with
//! its Basic-auth login and password (sealed, never shown), and the origins allowed to embed it.
use crate::error::Code;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{socket_access::Notice, validate};
use crate::{
    auth::{random, widget_token},
    error::{Error, Result},
    outbound::{TargetError, check_target},
    state::AppState,
    store::{self, Window, entities::widget, widgets::Settings},
};

const MAX_ORIGINS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersInfoStatus {
    pub ok_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub error_code: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetView {
    pub id: String,
    pub org_id: Uuid,
    pub name: String,
    pub api_login: Option<String>,
    pub api_password_set: bool,
    pub users_info_url: Option<String>,
    pub allowed_origins: Vec<String>,
    pub users_info: UsersInfoStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A widget as its surface (and the users-info lookup) uses it. The key and the site's
/// password stay sealed here; only `authenticate` and `api_password` open them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widget {
    pub id: String,
    pub org_id: Uuid,
    pub api_login: Option<String>,
    pub users_info_url: Option<String>,
    pub users_info_failed_at: Option<DateTime<Utc>>,
    pub allowed_origins: Vec<String>,
    secret_sealed: String,
    api_password_sealed: Option<String>,
}

fn origins_of(m: &widget::Model) -> Vec<String> {
    serde_json::from_str(&m.allowed_origins).unwrap_or_default()
}

impl From<widget::Model> for Widget {
    fn from(m: widget::Model) -> Self {
        Self {
            allowed_origins: origins_of(&m),
            id: m.id,
            org_id: m.org_id,
            api_login: m.api_login,
            users_info_url: m.users_info_url,
            users_info_failed_at: m.users_info_failed_at,
            secret_sealed: m.secret_sealed,
            api_password_sealed: m.api_password_sealed,
        }
    }
}

impl From<widget::Model> for WidgetView {
    fn from(m: widget::Model) -> Self {
        Self {
            allowed_origins: origins_of(&m),
            id: m.id,
            org_id: m.org_id,
            name: m.name,
            api_login: m.api_login,
            api_password_set: m.api_password_sealed.is_some(),
            users_info_url: m.users_info_url,
            users_info: UsersInfoStatus {
                ok_at: m.users_info_ok_at,
                failed_at: m.users_info_failed_at,
                error_code: m.users_info_error_code,
                error: m.users_info_error,
            },
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Settings of a new widget, or changes to one (`None`: unchanged; an empty string clears an
/// optional setting).
#[derive(Debug, Clone, Default)]
pub struct WidgetSettings {
    pub name: Option<String>,
    pub api_login: Option<String>,
    pub api_password: Option<String>,
    pub users_info_url: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
}

fn secret_purpose(id: &str) -> String {
    format!("widget-secret:{id}")
}

fn password_purpose(id: &str) -> String {
    format!("widget-api-password:{id}")
}

fn check_id(id: &str) -> Result<String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then(|| id.to_string()).ok_or_else(|| {
        Error::invalid(
            "widgetId",
            "must be 1-64 characters of ASCII letters (a-z, A-Z), digits, '-' or '_'",
        )
    })
}

fn check_secret(secret: Option<String>) -> Result<String> {
    let Some(secret) = secret else {
        return Ok(random::alphanumeric(64));
    };
    let n = secret.chars().count();
    if !(32..=256).contains(&n) || secret.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "secretKey",
            "must be 32-256 characters without spaces or control characters",
        ));
    }
    Ok(secret)
}

/// An origin as browsers send it (`https://site.example[:port]`), or `*` for any.
pub fn normalise_origin(raw: &str) -> Result<String> {
    let raw = raw.trim();
    if raw == "*" {
        return Ok(raw.to_string());
    }
    let bad = || {
        Error::invalid(
            "allowedOrigins",
            format!("{raw:?} is not an origin like https://site.example or *"),
        )
    };
    let url = url::Url::parse(raw).map_err(|_| bad())?;
    let only_origin = matches!(url.path(), "" | "/") && url.query().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !only_origin {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
}

fn origins(list: Vec<String>) -> Result<String> {
    if list.len() > MAX_ORIGINS {
        return Err(Error::invalid(
            "allowedOrigins",
            format!("at most {MAX_ORIGINS} origins"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for o in list {
        let o = normalise_origin(&o)?;
        if !out.contains(&o) {
            out.push(o);
        }
    }
    Ok(serde_json::to_string(&out).expect("strings serialise"))
}

async fn users_info_url(state: &AppState, raw: &str) -> Result<Option<String>> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    match check_target(raw, state.outbound.allow_private()).await {
        Ok(url) => Ok(Some(url.to_string())),
        Err(
            TargetError::InvalidUrl(m) | TargetError::NotAllowed(m) | TargetError::Unresolvable(m),
        ) => Err(Error::invalid("usersInfoUrl", m)),
    }
}

fn optional(field: &str, v: &str, max: usize) -> Result<Option<String>> {
    if v.is_empty() {
        Ok(None)
    } else {
        validate::display_text(field, v, max).map(Some)
    }
}

/// The columns settings write to a widget row (new or loaded), checked and sealed.
async fn columns(state: &AppState, id: &str, s: WidgetSettings) -> Result<Settings> {
    let mut w = Settings::default();
    if let Some(name) = s.name {
        w.name = Some(validate::display_text("name", &name, 128)?);
    }
    if let Some(login) = s.api_login {
        w.api_login = Some(optional("apiLogin", &login, 128)?);
    }
    if let Some(password) = s.api_password {
        if password.chars().count() > 256 {
            return Err(Error::invalid(
                "apiPassword",
                "must be at most 256 characters",
            ));
        }
        w.api_password_sealed = Some(
            (!password.is_empty()).then(|| state.sealer.seal_str(&password_purpose(id), &password)),
        );
    }
    if let Some(url) = s.users_info_url {
        w.users_info_url = Some(users_info_url(state, &url).await?);
    }
    if let Some(list) = s.allowed_origins {
        w.allowed_origins = Some(origins(list)?);
    }
    Ok(w)
}

/// Create a widget; returns it and its secret key, which is shown this once.
pub async fn create(
    state: &AppState,
    org_id: Uuid,
    id: Option<String>,
    secret_key: Option<String>,
    settings: WidgetSettings,
) -> Result<(WidgetView, String)> {
    let id = match id {
        Some(id) => check_id(id.trim())?,
        None => random::alphanumeric(20),
    };
    if settings.name.is_none() {
        return Err(Error::invalid("name", "is required"));
    }
    let secret = check_secret(secret_key)?;
    let now = state.now();
    let w = store::widgets::NewWidget {
        id: id.clone(),
        org_id,
        secret_sealed: state.sealer.seal_str(&secret_purpose(&id), &secret),
        settings: columns(state, &id, settings).await?,
        now,
    };
    let model = store::widgets::insert(&state.writer, w)
        .await
        .map_err(|e| {
            if Error::is_unique_violation(&e) {
                Error::conflict(
                    Code::WidgetExists,
                    format!("a widget with id {id:?} exists"),
                )
            } else {
                e.into()
            }
        })?;
    Ok((model.into(), secret))
}

/// The org's widget row.
async fn load(state: &AppState, org_id: Uuid, id: &str) -> Result<widget::Model> {
    store::widgets::find_in_org(&state.db, org_id, id)
        .await?
        .ok_or(Error::not_found("widget"))
}

pub async fn find_in_org(state: &AppState, org_id: Uuid, id: &str) -> Result<Widget> {
    Ok(load(state, org_id, id).await?.into())
}

pub async fn get(state: &AppState, org_id: Uuid, id: &str) -> Result<WidgetView> {
    Ok(load(state, org_id, id).await?.into())
}

pub async fn list(
    state: &AppState,
    org_id: Uuid,
    window: Window,
) -> Result<(Vec<WidgetView>, bool)> {
    let rows = store::widgets::list(&state.db, org_id, window).await?;
    let (rows, more) = window.split(rows);
    Ok((rows.into_iter().map(Into::into).collect(), more))
}

pub async fn update(
    state: &AppState,
    org_id: Uuid,
    id: &str,
    settings: WidgetSettings,
) -> Result<WidgetView> {
    let model = load(state, org_id, id).await?;
    let old_url = model.users_info_url.clone();
    // New site settings: forget the old outcome so the next lookup tries at once.
    let site_settings = settings.users_info_url.is_some()
        || settings.api_login.is_some()
        || settings.api_password.is_some();
    let columns = columns(state, id, settings).await?;
    let model =
        store::widgets::update_settings(&state.writer, model, columns, site_settings, state.now())
            .await?;
    // Only another site may name its users differently; new credentials for the same site
    // keep the names, which carry chat through a site that now refuses them.
    if model.users_info_url != old_url {
        store::widgets::clear_users(&state.db, id).await?;
    }
    Ok(model.into())
}

/// Replace the secret key (generated unless given); tokens signed with the old one stop
/// working. Returns the new key, shown this once.
pub async fn rotate_secret(
    state: &AppState,
    org_id: Uuid,
    id: &str,
    secret_key: Option<String>,
) -> Result<(WidgetView, String)> {
    let model = load(state, org_id, id).await?;
    let secret = check_secret(secret_key)?;
    let sealed = state.sealer.seal_str(&secret_purpose(id), &secret);
    let view = store::widgets::set_secret(&state.writer, model, sealed, state.now())
        .await?
        .into();
    state
        .bus
        .credentials_changed(Notice::Widget(id.to_string()));
    Ok((view, secret))
}

pub async fn delete(state: &AppState, org_id: Uuid, id: &str) -> Result<()> {
    load(state, org_id, id).await?;
    store::widgets::delete(&state.writer, id).await?;
    state
        .bus
        .credentials_changed(Notice::Widget(id.to_string()));
    Ok(())
}

/// The widget an embedding page names, for the widget surface.
pub async fn find_public(state: &AppState, id: &str) -> Result<Widget> {
    store::widgets::find(&state.db, id)
        .await?
        .map(Into::into)
        .ok_or(Error::not_found("widget"))
}

/// Whether a page on `origin` may use the widget.
pub fn origin_allowed(m: &Widget, origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    m.allowed_origins
        .iter()
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
}

/// Check a site user token; returns the site user id.
pub fn authenticate(state: &AppState, m: &Widget, token: &str) -> Result<String> {
    Ok(authenticate_until(state, m, token)?.0)
}

/// [`authenticate`], with the token's expiry (for the widget's socket).
pub fn authenticate_until(
    state: &AppState,
    m: &Widget,
    token: &str,
) -> Result<(String, DateTime<Utc>)> {
    let secret = state
        .sealer
        .open_str(&secret_purpose(&m.id), &m.secret_sealed)
        .map_err(|e| anyhow::anyhow!("widget {}: {e}", m.id))?;
    widget_token::verify_until(token, &secret, state.now())
        .map_err(|e| Error::unauthenticated(e.code(), e.to_string()))
}

/// The site's Basic-auth password, when set.
pub fn api_password(state: &AppState, m: &Widget) -> Result<Option<String>> {
    m.api_password_sealed
        .as_deref()
        .map(|sealed| {
            state
                .sealer
                .open_str(&password_purpose(&m.id), sealed)
                .map_err(|e| anyhow::anyhow!("widget {}: {e}", m.id).into())
        })
        .transpose()
}
