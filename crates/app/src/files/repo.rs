//! Queries on `files` and `file_usage`.

use chrono::{DateTime, Utc};
use entity::file::{self, FileStatus};
use entity::file_usage;
use entity::{FileId, UserId};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

pub use file::Model as File;

pub async fn insert(conn: &impl ConnectionTrait, file: &File) -> Result<(), DbErr> {
    file::Entity::insert(file::ActiveModel {
        id: Set(file.id),
        owner_id: Set(file.owner_id),
        filename: Set(file.filename.clone()),
        content_type: Set(file.content_type.clone()),
        size: Set(file.size),
        sha256: Set(file.sha256.clone()),
        storage_key: Set(file.storage_key.clone()),
        status: Set(file.status),
        thumbnail_key: Set(file.thumbnail_key.clone()),
        thumbnail_type: Set(file.thumbnail_type.clone()),
        thumbnail_size: Set(file.thumbnail_size),
        failure: Set(file.failure.clone()),
        created_at: Set(file.created_at),
        updated_at: Set(file.updated_at),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// A file of `owner`; another owner's file is simply not found.
pub async fn find_owned(
    conn: &impl ConnectionTrait,
    owner: UserId,
    id: FileId,
) -> Result<Option<File>, DbErr> {
    file::Entity::find_by_id(id)
        .filter(file::Column::OwnerId.eq(owner))
        .one(conn)
        .await
}

pub async fn find(conn: &impl ConnectionTrait, id: FileId) -> Result<Option<File>, DbErr> {
    file::Entity::find_by_id(id).one(conn).await
}

/// One page of `owner`'s files, newest first, after `after` (keyset) or from `offset`.
pub async fn list(
    conn: &impl ConnectionTrait,
    owner: UserId,
    after: Option<(DateTime<Utc>, FileId)>,
    offset: u64,
    limit: u64,
) -> Result<Vec<File>, DbErr> {
    let mut select = file::Entity::find().filter(file::Column::OwnerId.eq(owner));
    if let Some((at, id)) = after {
        let position = Expr::tuple([
            Expr::col(file::Column::CreatedAt),
            Expr::col(file::Column::Id),
        ]);
        select = select.filter(position.lt(Expr::tuple([Expr::value(at), Expr::value(id)])));
    }
    select
        .order_by_desc(file::Column::CreatedAt)
        .order_by_desc(file::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn count(conn: &impl ConnectionTrait, owner: UserId) -> Result<u64, DbErr> {
    let count: Option<i64> = file::Entity::find()
        .select_only()
        .column_as(file::Column::Id.count(), "total")
        .filter(file::Column::OwnerId.eq(owner))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(count.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

pub async fn all_of_owner(conn: &impl ConnectionTrait, owner: UserId) -> Result<Vec<File>, DbErr> {
    file::Entity::find()
        .filter(file::Column::OwnerId.eq(owner))
        .order_by_asc(file::Column::CreatedAt)
        .order_by_asc(file::Column::Id)
        .all(conn)
        .await
}

/// Deletes a file of `owner` and returns it as it was when deleted (so a thumbnail recorded
/// by a concurrent job is not missed).
pub async fn delete_owned(
    conn: &impl ConnectionTrait,
    owner: UserId,
    id: FileId,
) -> Result<Option<File>, DbErr> {
    let deleted = file::Entity::delete_many()
        .filter(file::Column::Id.eq(id))
        .filter(file::Column::OwnerId.eq(owner))
        .exec_with_returning(conn)
        .await?;
    Ok(deleted.into_iter().next())
}

pub async fn delete_all_of_owner(
    conn: &impl ConnectionTrait,
    owner: UserId,
) -> Result<Vec<File>, DbErr> {
    let deleted = file::Entity::delete_many()
        .filter(file::Column::OwnerId.eq(owner))
        .exec_with_returning(conn)
        .await?;
    file_usage::Entity::delete_by_id(owner).exec(conn).await?;
    Ok(deleted)
}

/// Of `ids`, those that have a row.
pub async fn existing(conn: &impl ConnectionTrait, ids: &[FileId]) -> Result<Vec<FileId>, DbErr> {
    file::Entity::find()
        .select_only()
        .column(file::Column::Id)
        .filter(file::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await
}

/// A stored thumbnail: key, content type, size.
pub struct StoredThumbnail {
    pub key: String,
    pub content_type: String,
    pub size: i64,
}

/// The outcome of processing a file.
pub struct Processed {
    pub status: FileStatus,
    pub thumbnail: Option<StoredThumbnail>,
    pub failure: Option<String>,
}

/// Records the outcome; only a file still `processing` changes (a delivery repeated after a
/// success changes nothing). False when the file is gone or was processed already.
pub async fn finish_processing(
    conn: &impl ConnectionTrait,
    id: FileId,
    outcome: Processed,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let thumbnail = outcome.thumbnail;
    let result = file::Entity::update_many()
        .col_expr(file::Column::Status, Expr::value(outcome.status))
        .col_expr(
            file::Column::ThumbnailKey,
            Expr::value(thumbnail.as_ref().map(|t| t.key.clone())),
        )
        .col_expr(
            file::Column::ThumbnailType,
            Expr::value(thumbnail.as_ref().map(|t| t.content_type.clone())),
        )
        .col_expr(
            file::Column::ThumbnailSize,
            Expr::value(thumbnail.as_ref().map(|t| t.size)),
        )
        .col_expr(file::Column::Failure, Expr::value(outcome.failure))
        .col_expr(file::Column::UpdatedAt, Expr::value(now))
        .filter(file::Column::Id.eq(id))
        .filter(file::Column::Status.eq(FileStatus::Processing))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Bytes `owner` has stored.
pub async fn usage(conn: &impl ConnectionTrait, owner: UserId) -> Result<u64, DbErr> {
    let row = file_usage::Entity::find_by_id(owner).one(conn).await?;
    Ok(row.map_or(0, |r| u64::try_from(r.bytes).unwrap_or(0)))
}

/// Adds `size` to `owner`'s usage if the total stays within `limit`; false (and nothing
/// changed) otherwise. One conditional update: concurrent uploads cannot both pass it.
pub async fn reserve(
    conn: &impl ConnectionTrait,
    owner: UserId,
    size: i64,
    limit: i64,
) -> Result<bool, DbErr> {
    file_usage::Entity::insert(file_usage::ActiveModel {
        owner_id: Set(owner),
        bytes: Set(0),
    })
    .on_conflict_do_nothing_on([file_usage::Column::OwnerId])
    .exec_without_returning(conn)
    .await?;
    let result = file_usage::Entity::update_many()
        .col_expr(
            file_usage::Column::Bytes,
            Expr::col(file_usage::Column::Bytes).add(size),
        )
        .filter(file_usage::Column::OwnerId.eq(owner))
        .filter(Expr::col(file_usage::Column::Bytes).add(size).lte(limit))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn release(conn: &impl ConnectionTrait, owner: UserId, size: i64) -> Result<(), DbErr> {
    file_usage::Entity::update_many()
        .col_expr(
            file_usage::Column::Bytes,
            Expr::col(file_usage::Column::Bytes).sub(size),
        )
        .filter(file_usage::Column::OwnerId.eq(owner))
        .exec(conn)
        .await?;
    Ok(())
}
