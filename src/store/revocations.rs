use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{
    Window,
    entities::link_revocation::{ActiveModel, Column, Entity, Model},
};

pub async fn insert(db: &impl ConnectionTrait, r: ActiveModel) -> Result<Model, DbErr> {
    r.insert(db).await
}

pub async fn list(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    window: Window,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .order_by_desc(Column::CreatedAt)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(db)
        .await
}

/// What identifies a presented link for revocation checks.
#[derive(Debug, Clone)]
pub struct LinkFacts<'a> {
    pub link_hash: &'a str,
    pub jti: Option<&'a str>,
    pub session_id: &'a str,
    pub subscription_id: Uuid,
    /// `iat` (or else `nbf`); a link without either counts as issued before any cutoff.
    pub issued_at: Option<DateTime<Utc>>,
}

fn issued_before_cutoff(issued_at: Option<DateTime<Utc>>) -> Condition {
    match issued_at {
        Some(t) => Condition::all().add(Column::IssuedBefore.gt(t)),
        None => Condition::all(),
    }
}

pub async fn is_revoked(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    f: &LinkFacts<'_>,
) -> Result<bool, DbErr> {
    let mut any = Condition::any().add(Column::LinkHash.eq(f.link_hash));
    if let Some(jti) = f.jti {
        any = any.add(Column::Jti.eq(jti));
    }
    any = any
        .add(
            Condition::all()
                .add(Column::SessionId.eq(f.session_id))
                .add(issued_before_cutoff(f.issued_at)),
        )
        .add(
            Condition::all()
                .add(Column::SubscriptionId.eq(f.subscription_id))
                .add(issued_before_cutoff(f.issued_at)),
        );
    let n = Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(any)
        .count(db)
        .await?;
    Ok(n > 0)
}
