use chrono::{DateTime, Utc};
use entity::session;
use entity::{SessionId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

pub use session::Model as Session;

pub struct NewSession {
    pub user_id: UserId,
    pub device_name: Option<String>,
    pub platform: Option<String>,
    pub app_version: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    new: NewSession,
    now: DateTime<Utc>,
) -> Result<Session, DbErr> {
    session::ActiveModel {
        id: Set(SessionId::new()),
        user_id: Set(new.user_id),
        device_name: Set(new.device_name),
        platform: Set(new.platform),
        app_version: Set(new.app_version),
        user_agent: Set(new.user_agent),
        ip: Set(new.ip),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
    }
    .insert(conn)
    .await
}

pub async fn find(conn: &impl ConnectionTrait, id: SessionId) -> Result<Option<Session>, DbErr> {
    session::Entity::find_by_id(id).one(conn).await
}

pub fn is_live(session: &Session, now: DateTime<Utc>) -> bool {
    session.revoked_at.is_none() && session.expires_at > now
}

/// Live sessions of a user, most recently used first.
pub async fn list_live(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<Vec<Session>, DbErr> {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .order_by_desc(session::Column::LastUsedAt)
        .order_by_desc(session::Column::Id)
        .all(conn)
        .await
}

pub async fn all_of_user(
    conn: &impl ConnectionTrait,
    user_id: UserId,
) -> Result<Vec<Session>, DbErr> {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .order_by_asc(session::Column::CreatedAt)
        .all(conn)
        .await
}

/// Ids of the sessions of a user that are not revoked (expired ones too: harmless to include).
pub async fn unrevoked_ids_of_user(
    conn: &impl ConnectionTrait,
    user_id: UserId,
) -> Result<Vec<SessionId>, DbErr> {
    session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .into_tuple()
        .all(conn)
        .await
}

/// Extends a session on refresh.
pub async fn touch(
    conn: &impl ConnectionTrait,
    id: SessionId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .col_expr(session::Column::ExpiresAt, Expr::value(expires_at))
        .filter(session::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Whether the session is live, taking its row lock (an update that changes nothing) so that a
/// revocation waits for the caller's transaction.
pub async fn hold_live(
    conn: &impl ConnectionTrait,
    id: SessionId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = session::Entity::update_many()
        .col_expr(
            session::Column::LastUsedAt,
            Expr::col(session::Column::LastUsedAt),
        )
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Which sessions of a user to revoke.
pub enum Revoke {
    One(SessionId),
    All,
    AllExcept(SessionId),
}

/// Revokes live sessions of `user_id` and returns their ids (for cache invalidation), and
/// unregisters their push devices. The revocation is announced to every instance when the
/// caller's transaction commits.
pub async fn revoke(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    which: Revoke,
    now: DateTime<Utc>,
) -> Result<Vec<SessionId>, DbErr> {
    let mut select = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null());
    select = match which {
        Revoke::One(id) => select.filter(session::Column::Id.eq(id)),
        Revoke::All => select,
        Revoke::AllExcept(id) => select.filter(session::Column::Id.ne(id)),
    };
    let ids: Vec<SessionId> = select.into_tuple().all(conn).await?;
    if !ids.is_empty() {
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(now))
            .filter(session::Column::Id.is_in(ids.clone()))
            .exec(conn)
            .await?;
        crate::devices::service::unbind_sessions(conn, &ids).await?;
        crate::auth::revocation::announce(conn, &ids).await?;
    }
    Ok(ids)
}

/// Removes sessions that ended (revoked or expired) before `before`.
pub async fn purge_ended(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let result = session::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(session::Column::RevokedAt.lt(before))
                .add(session::Column::ExpiresAt.lt(before)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
