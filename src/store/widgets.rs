//! Widgets and the cache of their site's users.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
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

/// The settings columns a change writes; `None` leaves a column as it is (and a new widget's
/// name unset, which the database refuses).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub name: Option<String>,
    pub api_login: Option<Option<String>>,
    pub api_password_sealed: Option<Option<String>>,
    pub users_info_url: Option<Option<String>>,
    /// The JSON array of origins.
    pub allowed_origins: Option<String>,
}

impl Settings {
    fn write_to(self, w: &mut ActiveModel) {
        if let Some(name) = self.name {
            w.name = Set(name);
        }
        if let Some(login) = self.api_login {
            w.api_login = Set(login);
        }
        if let Some(sealed) = self.api_password_sealed {
            w.api_password_sealed = Set(sealed);
        }
        if let Some(url) = self.users_info_url {
            w.users_info_url = Set(url);
        }
        if let Some(origins) = self.allowed_origins {
            w.allowed_origins = Set(origins);
        }
    }
}

/// A new widget: no site settings but those given, no users-info outcome yet.
#[derive(Debug, Clone)]
pub struct NewWidget {
    pub id: String,
    pub org_id: Uuid,
    pub secret_sealed: String,
    pub settings: Settings,
    pub now: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewWidget) -> Result<Model, DbErr> {
    let mut w = ActiveModel {
        id: Set(new.id),
        org_id: Set(new.org_id),
        secret_sealed: Set(new.secret_sealed),
        api_login: Set(None),
        api_password_sealed: Set(None),
        users_info_url: Set(None),
        allowed_origins: Set("[]".into()),
        users_info_ok_at: Set(None),
        users_info_failed_at: Set(None),
        users_info_error_code: Set(None),
        users_info_error: Set(None),
        created_at: Set(new.now),
        updated_at: Set(new.now),
        ..Default::default()
    };
    new.settings.write_to(&mut w);
    w.insert(db).await
}

/// Change a widget's settings; with `forget_failure`, also the last failed lookup's outcome.
pub async fn update_settings(
    db: &impl ConnectionTrait,
    w: Model,
    settings: Settings,
    forget_failure: bool,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut w: ActiveModel = w.into();
    settings.write_to(&mut w);
    w.updated_at = Set(now);
    if forget_failure {
        w.users_info_failed_at = Set(None);
        w.users_info_error_code = Set(None);
        w.users_info_error = Set(None);
    }
    w.update(db).await
}

pub async fn set_secret(
    db: &impl ConnectionTrait,
    w: Model,
    secret_sealed: String,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut w: ActiveModel = w.into();
    w.secret_sealed = Set(secret_sealed);
    w.updated_at = Set(now);
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

/// Insert or refresh cached users (rows made whole by the caller).
pub async fn store_users(
    db: &impl ConnectionTrait,
    rows: Vec<widget_user::Model>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows = rows
        .into_iter()
        .map(|u| widget_user::ActiveModel::from(u).reset_all());
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
