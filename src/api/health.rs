//! `/healthz` (the process answers) and `/readyz` (the database answers and its schema is the
//! one this binary expects).
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::Tag;
use crate::{state::AppState, store::connect};

pub struct HealthApi;

#[derive(Debug, Object)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct Readiness {
    /// `ok` or `unavailable`.
    pub status: String,
    /// `ok`, or why the database cannot be used.
    pub database: String,
    /// Migrations this binary has that the database lacks.
    pub pending_migrations: Vec<String>,
    /// Migrations the database has that this binary does not know (it is older than the schema).
    pub unknown_migrations: Vec<String>,
    /// The XMPP chat bridge, when configured. Informational: it does not affect readiness.
    #[oai(nullable)]
    pub xmpp_bridge: Option<XmppBridgeHealth>,
    /// The Janus SFU, when configured: `up` or `down` (as this node's last call found it).
    /// Informational: without it small rooms meet browser to browser.
    #[oai(nullable)]
    pub janus: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct XmppBridgeHealth {
    /// `standby`, `connecting`, `connected` or `disconnected`.
    pub state: String,
    /// How many MUCs the bridge is in.
    pub rooms_joined: usize,
    #[oai(nullable)]
    pub last_error: Option<String>,
    #[oai(nullable)]
    pub last_error_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// Ready to serve.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// Not ready: see the details.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

#[OpenApi(tag = "Tag::Health")]
impl HealthApi {
    /// Liveness
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<Health> {
        Json(Health {
            status: "ok".into(),
        })
    }

    /// Readiness
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> ReadyResponse {
        let database = match connect::ping(&state.db).await {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("unreachable: {e}"),
        };
        let (pending, unknown) = if database == "ok" {
            match connect::migration_status(&state.db).await {
                Ok(s) => (s.pending, s.unknown),
                Err(e) => (vec![format!("cannot read migrations: {e}")], vec![]),
            }
        } else {
            (vec![], vec![])
        };
        let ready = database == "ok" && pending.is_empty() && unknown.is_empty();
        let body = Json(Readiness {
            status: if ready { "ok" } else { "unavailable" }.into(),
            database,
            pending_migrations: pending,
            unknown_migrations: unknown,
            xmpp_bridge: state.config.chat.xmpp.as_ref().map(|_| {
                let b = state.bridge.get();
                XmppBridgeHealth {
                    state: b.state,
                    rooms_joined: b.rooms_joined.len(),
                    last_error: b.last_error,
                    last_error_at: b.last_error_at,
                }
            }),
            janus: state
                .janus
                .as_ref()
                .map(|j| if j.is_up() { "up" } else { "down" }.to_string()),
        });
        if ready {
            ReadyResponse::Ready(body)
        } else {
            ReadyResponse::NotReady(body)
        }
    }
}
