//! Direct dialogs between two site users of a widget, and their messages.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, sea_query::Expr,
};

use super::{
    Window,
    entities::{
        dialog::{ActiveModel, Column, Entity, Model},
        dialog_message,
    },
};

pub async fn find_pair(
    db: &impl ConnectionTrait,
    widget_id: &str,
    low: &str,
    high: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::WidgetId.eq(widget_id))
        .filter(Column::UserLow.eq(low))
        .filter(Column::UserHigh.eq(high))
        .one(db)
        .await
}

/// Insert the dialog of the pair `low` < `high` unless it has one already (two users opening
/// it at once); a new dialog has no messages and nothing read.
pub async fn insert_if_absent(
    db: &impl ConnectionTrait,
    widget_id: &str,
    low: &str,
    high: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let d = ActiveModel {
        widget_id: Set(widget_id.to_string()),
        user_low: Set(low.to_string()),
        user_high: Set(high.to_string()),
        read_low: Set(0),
        read_high: Set(0),
        last_message_id: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Entity::insert(d)
        .on_conflict_do_nothing_on([Column::WidgetId, Column::UserLow, Column::UserHigh])
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn find(
    db: &impl ConnectionTrait,
    widget_id: &str,
    id: i64,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id)
        .filter(Column::WidgetId.eq(widget_id))
        .one(db)
        .await
}

/// A user's dialogs, the most recently active first.
pub async fn list_for_user(
    db: &impl ConnectionTrait,
    widget_id: &str,
    user_id: &str,
    window: Window,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::WidgetId.eq(widget_id))
        .filter(
            Condition::any()
                .add(Column::UserLow.eq(user_id))
                .add(Column::UserHigh.eq(user_id)),
        )
        .order_by_desc(Column::UpdatedAt)
        .order_by_desc(Column::Id)
        .offset(window.offset)
        .limit(window.limit + 1)
        .all(db)
        .await
}

pub async fn insert_message(
    db: &impl ConnectionTrait,
    dialog_id: i64,
    sender_user_id: &str,
    text: String,
    now: DateTime<Utc>,
) -> Result<dialog_message::Model, DbErr> {
    dialog_message::ActiveModel {
        dialog_id: Set(dialog_id),
        sender_user_id: Set(sender_user_id.to_string()),
        text: Set(text),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// After a message: the dialog's last message and activity time, and the sender has read it.
pub async fn touch(
    db: &impl ConnectionTrait,
    dialog: &Model,
    message_id: i64,
    sender_is_low: bool,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let read = if sender_is_low {
        Column::ReadLow
    } else {
        Column::ReadHigh
    };
    Entity::update_many()
        .col_expr(Column::LastMessageId, Expr::value(message_id))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .col_expr(read, Expr::value(message_id))
        .filter(Column::Id.eq(dialog.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Move one side's read mark forward (never back).
pub async fn mark_read(
    db: &impl ConnectionTrait,
    dialog_id: i64,
    low_side: bool,
    up_to: i64,
) -> Result<(), DbErr> {
    let read = if low_side {
        Column::ReadLow
    } else {
        Column::ReadHigh
    };
    Entity::update_many()
        .col_expr(read, Expr::value(up_to))
        .filter(Column::Id.eq(dialog_id))
        .filter(read.lt(up_to))
        .exec(db)
        .await?;
    Ok(())
}

/// Messages from the other side after `read`.
pub async fn unread(
    db: &impl ConnectionTrait,
    dialog_id: i64,
    reader: &str,
    read: i64,
) -> Result<u64, DbErr> {
    let counts = unread_counts(db, reader, &[(dialog_id, read)]).await?;
    Ok(counts.get(&dialog_id).copied().unwrap_or(0))
}

/// For each `(dialog id, read mark)`, the messages from the other side after the mark, in one
/// query for a whole page of dialogs. Dialogs with none are absent from the map.
pub async fn unread_counts(
    db: &impl ConnectionTrait,
    reader: &str,
    marks: &[(i64, i64)],
) -> Result<HashMap<i64, u64>, DbErr> {
    if marks.is_empty() {
        return Ok(HashMap::new());
    }
    let after_mark = marks.iter().fold(Condition::any(), |any, &(dialog, read)| {
        any.add(
            Condition::all()
                .add(dialog_message::Column::DialogId.eq(dialog))
                .add(dialog_message::Column::Id.gt(read)),
        )
    });
    let rows: Vec<(i64, i64)> = dialog_message::Entity::find()
        .select_only()
        .column(dialog_message::Column::DialogId)
        .column_as(dialog_message::Column::Id.count(), "unread")
        .filter(dialog_message::Column::SenderUserId.ne(reader))
        .filter(after_mark)
        .group_by(dialog_message::Column::DialogId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(dialog, n)| (dialog, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// The messages with these ids, by id (one query for a page of dialogs' last messages).
pub async fn messages_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, dialog_message::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = dialog_message::Entity::find()
        .filter(dialog_message::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(found.into_iter().map(|m| (m.id, m)).collect())
}

/// A dialog's messages, newest first, older than `before`, at most `limit + 1`.
pub async fn messages(
    db: &impl ConnectionTrait,
    dialog_id: i64,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<dialog_message::Model>, DbErr> {
    dialog_message::Entity::find()
        .filter(dialog_message::Column::DialogId.eq(dialog_id))
        .apply_if(before, |q, id| q.filter(dialog_message::Column::Id.lt(id)))
        .order_by_desc(dialog_message::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await
}
