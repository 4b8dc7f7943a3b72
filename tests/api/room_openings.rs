//! Rooms opened by two transactions at the same moment (on Postgres: on SQLite one writer at
//! a time does this already). Whoever opens a missing room claims its name first, so the
//! second waits for the first and then finds its room, rather than failing on the live-name
//! index. Session links opened together have tests of their own in `session_batches`.
use meetplane::store::rooms::{NAME_CLAIMS, name_claim};
use reqwest::{Method, StatusCode};
use sea_orm::sqlx::{self, Connection};
use serde_json::json;

use crate::session_batches::{on_postgres, open_room, until_waiting};

/// Two people open a room's public link on two nodes at once: the second joins the room the
/// first opened (it used to get 409 room_exists from the index).
#[tokio::test]
async fn a_public_link_opened_on_two_nodes_at_once_lets_both_in() {
    let Some((db, app, domain)) = on_postgres().await else {
        return;
    };
    let t = app.token().await;
    let (s, b) = app
        .call(
            &t,
            Method::PATCH,
            &app.org_path(&format!("/domains/{}", domain.name)),
            Some(json!({"forbidNonApiRooms": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // The other node's join: the name claimed and the room written, not yet committed.
    let mut other = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let mut opening = other.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(NAME_CLAIMS)
        .bind(name_claim(domain.id, "both"))
        .execute(&mut *opening)
        .await
        .unwrap();
    open_room(&mut *opening, domain.id, "both", "room").await;

    let path = format!("{}/both", domain.name);
    let ((s, b), ()) = tokio::join!(app.join(&path, json!({"displayName": "Second"})), async {
        until_waiting(&db, 1).await;
        opening.commit().await.unwrap();
    });
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        b["content"]["peer"]["type"], 2,
        "a guest of the opener: {b}"
    );
}
