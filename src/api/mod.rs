//! The native HTTP API (`/v1`), described by poem-openapi. Handlers translate HTTP to domain
//! calls and back; they hold no rules.
pub mod admins;
pub mod audit;
pub mod auth;
pub mod body;
pub mod bookings;
pub mod chat;
pub mod chat_bridge;
pub mod clients;
pub mod dashboard;
pub mod deliveries;
pub mod docs;
pub mod domains;
pub mod event_types;
pub mod hal;
pub mod health;
pub mod idempotency;
pub mod janus_events;
pub mod janus_socket;
pub mod join;
pub mod join_page;
pub mod limits;
pub mod media;
pub mod meeting;
pub mod metrics;
pub mod nul;
pub mod openapi_doc;
pub mod orgs;
pub mod problem;
mod problem_answers;
pub mod realtime;
mod realtime_commands;
mod realtime_signals;
pub mod rendered_json;
pub mod request_id;
pub mod room_lobby;
pub mod room_peers;
pub mod room_views;
pub mod rooms;
pub mod root;
pub mod security;
pub mod server;
pub mod session_links;
pub mod sessions;
pub mod source_address;
pub mod subscriptions;
pub mod webhooks;
pub mod widget_users_info;
pub mod widgets;

use poem_openapi::{OpenApiService, Tags};

#[derive(Tags)]
pub enum Tag {
    /// OAuth2 tokens for API clients
    Auth,
    /// The API root and organisations
    Organisations,
    /// Domains and their webhook keys
    Domains,
    /// API clients (key + secret)
    Clients,
    /// Rooms, peers, locks, passwords, kicks
    Rooms,
    /// Entering and leaving rooms with a room link, password or host key
    Join,
    /// Media for a room's peers: ICE servers and the media mode (signals go over the
    /// realtime socket)
    Media,
    /// Room reservations that the scheduler activates and ends
    Bookings,
    /// Subscriptions, session links and session entries (the Coviu API)
    Sessions,
    /// Room chat
    Chat,
    /// Embeddable chat widgets (ImbaChat): settings, secret keys, the site's users-info URL
    Widgets,
    /// Webhooks, their validation and delivery log
    Webhooks,
    /// Dashboard sign-in and admin users
    Admins,
    /// Liveness and readiness
    Health,
    /// The audit log of admin, client and host actions
    Audit,
}

pub type Apis = (
    root::RootApi,
    auth::AuthApi,
    orgs::OrgsApi,
    domains::DomainsApi,
    clients::ClientsApi,
    (
        rooms::RoomsApi,
        room_peers::RoomPeersApi,
        room_lobby::RoomLobbyApi,
    ),
    (join::JoinApi, meeting::MeetingApi, media::MediaApi),
    bookings::BookingsApi,
    subscriptions::SubscriptionsApi,
    session_links::SessionLinksApi,
    sessions::SessionsApi,
    // Tuples implement OpenApi up to 16 members: the chat surfaces share one.
    (
        chat::ChatApi,
        chat_bridge::ChatBridgeApi,
        (widgets::WidgetsApi, widget_users_info::WidgetUsersInfoApi),
    ),
    webhooks::WebhooksApi,
    deliveries::DeliveriesApi,
    (health::HealthApi, admins::AdminsApi, audit::AuditApi),
);

pub fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            root::RootApi,
            auth::AuthApi,
            orgs::OrgsApi,
            domains::DomainsApi,
            clients::ClientsApi,
            (
                rooms::RoomsApi,
                room_peers::RoomPeersApi,
                room_lobby::RoomLobbyApi,
            ),
            (join::JoinApi, meeting::MeetingApi, media::MediaApi),
            bookings::BookingsApi,
            subscriptions::SubscriptionsApi,
            session_links::SessionLinksApi,
            sessions::SessionsApi,
            (
                chat::ChatApi,
                chat_bridge::ChatBridgeApi,
                (widgets::WidgetsApi, widget_users_info::WidgetUsersInfoApi),
            ),
            webhooks::WebhooksApi,
            deliveries::DeliveriesApi,
            (health::HealthApi, admins::AdminsApi, audit::AuditApi),
        ),
        "meetplane",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Self-hosted conferencing control plane: rooms, peers, domains and API clients. \
         Resources use a HAL envelope `{content, _links}` with relative hrefs; lists page with \
         0-based `page` and `count`. Errors are RFC 9457 problem documents with a stable `code`. \
         Changes (POST, PUT, PATCH, DELETE) accept an `Idempotency-Key` header: a repeat with \
         the same key gets the first answer (`Idempotent-Replayed: true`) for 24 h.",
    )
}

/// The OpenAPI document as served (pretty JSON), with what poem-openapi cannot express.
pub fn openapi_document() -> String {
    openapi_doc::render(&service().spec())
}

/// The OpenAPI document as committed in `openapi/openapi.json` (trailing newline).
pub fn openapi_json() -> String {
    format!("{}\n", openapi_document())
}
