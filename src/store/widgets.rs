//! Widgets and the cache of their site's users.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use super::{
    Window,
    entities::{
        widget::{ActiveModel, Column, Entity, Model},
        widget_user,
    },
};

pub async fn insert(db: &impl ConnectionTrait, w: ActiveModel) -> Result<Model, DbErr> {
    w.insert(db).await
}

pub async fn update(db: &impl ConnectionTrait, w: ActiveModel) -> Result<Model, DbErr> {
    w.update(db).await
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_string()).one(db).await
}

pub async fn find_in_org(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    id: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_string())
        .filter(Column::OrgId.eq(org_id))
        .one(db)
        .await
}

pub async fn list(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    window: Window,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(db)
        .await
}

pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    Entity::delete_by_id(id.to_string()).exec(db).await?;
    Ok(())
}

/// Record the outcome of a users-info lookup: `error` is `(code, message)` on failure.
pub async fn record_lookup(
    db: &impl ConnectionTrait,
    id: &str,
    now: DateTime<Utc>,
    error: Option<(&str, &str)>,
) -> Result<(), DbErr> {
    let update = Entity::update_many().filter(Column::Id.eq(id));
    let update = match error {
        None => update
            .col_expr(Column::UsersInfoOkAt, Expr::value(now))
            .col_expr(
                Column::UsersInfoFailedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                Column::UsersInfoErrorCode,
                Expr::value(Option::<String>::None),
            )
            .col_expr(Column::UsersInfoError, Expr::value(Option::<String>::None)),
        Some((code, message)) => update
            .col_expr(Column::UsersInfoFailedAt, Expr::value(now))
            .col_expr(Column::UsersInfoErrorCode, Expr::value(code))
            .col_expr(Column::UsersInfoError, Expr::value(message)),
    };
    update.exec(db).await?;
    Ok(())
}

pub async fn cached_users(
    db: &impl ConnectionTrait,
    widget_id: &str,
    user_ids: &[String],
) -> Result<Vec<widget_user::Model>, DbErr> {
    widget_user::Entity::find()
        .filter(widget_user::Column::WidgetId.eq(widget_id))
        .filter(widget_user::Column::UserId.is_in(user_ids.iter().cloned()))
        .all(db)
        .await
}

/// Insert or refresh cached users.
pub async fn store_users(
    db: &impl ConnectionTrait,
    rows: Vec<widget_user::ActiveModel>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    widget_user::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([widget_user::Column::WidgetId, widget_user::Column::UserId])
                .update_columns([
                    widget_user::Column::Name,
                    widget_user::Column::Info,
                    widget_user::Column::FetchedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Forget cached users (after the users-info settings change).
pub async fn clear_users(db: &impl ConnectionTrait, widget_id: &str) -> Result<(), DbErr> {
    widget_user::Entity::delete_many()
        .filter(widget_user::Column::WidgetId.eq(widget_id))
        .exec(db)
        .await?;
    Ok(())
}
