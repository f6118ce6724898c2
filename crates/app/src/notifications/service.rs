//! The rules of the inbox: sending (administrators), listing, marking read. The push side is
//! `jobs.rs`.

use chrono::{DateTime, Utc};
use entity::{NotificationId, UserId};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dto::{ListNotificationsQuery, NotificationDto, NotificationPage, SendNotification};
use super::error::NotificationError;
use super::events::NotificationSend;
use super::repo::{self, Notification};
use crate::platform::error::InvalidInput;
use crate::platform::jobs::outbox;
use crate::platform::pagination::{PageRequest, PageStart};
use crate::platform::{clock, db};
use crate::state::AppState;
use crate::users;

/// Title, body and data together (serialised), within what every provider carries: Web Push
/// encrypts at most 3993 bytes of payload, APNs takes 4096 bytes of JSON.
pub const MAX_CONTENT_BYTES: usize = 3000;

impl From<Notification> for NotificationDto {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id.into(),
            title: n.title,
            body: n.body,
            data: n.data,
            read_at: n.read_at,
            created_at: n.created_at,
        }
    }
}

/// Stores the notification in the user's inbox and raises `notification:send` in the same
/// transaction.
#[tracing::instrument(skip_all, fields(admin.id = %admin, user.id = %request.user_id))]
pub async fn send(
    app: &AppState,
    admin: UserId,
    request: SendNotification,
) -> Result<NotificationDto, NotificationError> {
    let data = request.data.map(Value::Object);
    let size =
        request.title.len() + request.body.len() + data.as_ref().map_or(0, |d| d.to_string().len());
    if size > MAX_CONTENT_BYTES {
        let path = if data.is_some() { "data" } else { "body" };
        return Err(InvalidInput::new(
            path,
            "title, body and data together must be at most 3000 bytes",
        )
        .into());
    }
    let user_id = UserId::from(request.user_id);
    let now = clock::now();
    let txn = db::begin_write(&app.db).await?;
    users::service::find(&txn, user_id)
        .await?
        .ok_or(NotificationError::UserNotFound)?;
    let notification = Notification {
        id: NotificationId::new(),
        user_id,
        title: request.title,
        body: request.body,
        data,
        read_at: None,
        pushed_at: None,
        created_at: now,
    };
    repo::insert(&txn, &notification).await?;
    let event = NotificationSend {
        user_id,
        notification_id: notification.id,
    };
    outbox::enqueue(&txn, &event).await?;
    txn.commit().await?;
    app.wake_outbox_relay();
    crate::audit!("notification.sent", admin_id = %admin, user_id = %user_id, notification_id = %notification.id);
    Ok(notification.into())
}

#[derive(Serialize, Deserialize)]
struct InboxCursor(DateTime<Utc>, NotificationId, bool);

#[tracing::instrument(skip_all, fields(user.id = %user_id))]
pub async fn list(
    app: &AppState,
    user_id: UserId,
    query: ListNotificationsQuery,
) -> Result<NotificationPage, NotificationError> {
    let unread_only = query.unread.unwrap_or(false);
    let page = PageRequest::new(query.limit, query.offset, query.cursor.as_deref(), |c| {
        // A cursor continues the listing it came from only.
        app.cursors
            .decode::<InboxCursor>(c)
            .filter(|cursor| cursor.2 == unread_only)
    })?;
    let (after, offset) = match &page.start {
        PageStart::Offset(offset) => (None, *offset),
        PageStart::After(InboxCursor(at, id, _)) => (Some((*at, *id)), 0),
    };
    let rows = repo::list(
        &*app.db,
        user_id,
        unread_only,
        after,
        offset,
        page.limit + 1,
    )
    .await?;
    let total = match page.start {
        PageStart::Offset(_) => Some(repo::count(&*app.db, user_id, unread_only).await?),
        PageStart::After(_) => None,
    };
    let unread = repo::count(&*app.db, user_id, true).await?;
    let page = page.finish(
        rows,
        total,
        |n| {
            app.cursors
                .encode(&InboxCursor(n.created_at, n.id, unread_only))
        },
        NotificationDto::from,
    );
    Ok(NotificationPage {
        items: page.items,
        limit: page.limit,
        offset: page.offset,
        total: page.total,
        next_cursor: page.next_cursor,
        unread,
    })
}

#[tracing::instrument(skip_all, fields(user.id = %user_id, notification.id = %id))]
pub async fn mark_read(
    app: &AppState,
    user_id: UserId,
    id: NotificationId,
) -> Result<(), NotificationError> {
    if repo::mark_read(&*app.db, user_id, id, clock::now()).await? {
        Ok(())
    } else {
        Err(NotificationError::NotFound)
    }
}

#[tracing::instrument(skip_all, fields(user.id = %user_id))]
pub async fn mark_all_read(app: &AppState, user_id: UserId) -> Result<(), NotificationError> {
    repo::mark_all_read(&*app.db, user_id, clock::now()).await?;
    Ok(())
}

/// Every notification of the user, newest first, for the account export.
pub async fn export_all(
    conn: &impl ConnectionTrait,
    user_id: UserId,
) -> Result<Vec<NotificationDto>, DbErr> {
    Ok(repo::all_of_user(conn, user_id)
        .await?
        .into_iter()
        .map(NotificationDto::from)
        .collect())
}
