//! Queries on `items` and `item_owners`.

use chrono::{DateTime, Utc};
use entity::{ItemId, UserId};
use entity::{item, item_owner};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use serde_json::Value;

use super::dto::ItemSort;
use crate::platform::db::{escape_like, statement};

pub use item::Model as Item;

/// The owner's sync state after taking the next change sequence number (and moving the count).
#[derive(Debug, Clone, Copy)]
pub struct OwnerSeq {
    pub seq: i64,
    pub live_count: i64,
}

/// Takes the owner's next change sequence number and moves its live count by `live_delta`, in
/// one statement (the owner's first write creates its row). The row stays locked until the
/// transaction ends, so an owner's writes commit one at a time and in sequence order: the
/// delta-sync feed can never skip a change that commits late. A write that then fails rolls the
/// transaction (or its savepoint) back, and the count with it.
pub async fn next_seq(
    conn: &impl ConnectionTrait,
    owner: UserId,
    live_delta: i64,
) -> Result<OwnerSeq, DbErr> {
    take_seqs(conn, owner, 1, live_delta).await
}

/// Like [`next_seq`] for `count` changes at once: the returned `seq` is the last of them, so
/// they are `seq - count + 1 ..= seq`.
pub async fn take_seqs(
    conn: &impl ConnectionTrait,
    owner: UserId,
    count: i64,
    live_delta: i64,
) -> Result<OwnerSeq, DbErr> {
    let row = conn
        .query_one_raw(statement(
            conn,
            "INSERT INTO item_owners (owner_id, last_seq, live_count, purged_seq) \
             VALUES ($1, $3, $2, 0) ON CONFLICT (owner_id) DO UPDATE \
             SET last_seq = item_owners.last_seq + $3, live_count = item_owners.live_count + $2 \
             RETURNING last_seq, live_count",
            [
                uuid::Uuid::from(owner).into(),
                live_delta.into(),
                count.into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("item owner".to_owned()))?;
    Ok(OwnerSeq {
        seq: row.try_get("", "last_seq")?,
        live_count: row.try_get("", "live_count")?,
    })
}

pub async fn owner_state(
    conn: &impl ConnectionTrait,
    owner: UserId,
) -> Result<Option<item_owner::Model>, DbErr> {
    item_owner::Entity::find_by_id(owner).one(conn).await
}

pub struct NewItem {
    pub id: ItemId,
    pub owner: UserId,
    pub name: String,
    pub description: Option<String>,
    pub data: Option<Value>,
    pub seq: i64,
}

impl NewItem {
    /// What a create of `input` by `owner` writes; `seq` is set once it is taken.
    pub fn from_input(owner: UserId, input: super::dto::ItemInput, seq: i64) -> Self {
        Self {
            id: ItemId::new(),
            owner,
            description: input.description,
            name: input.name,
            data: input.data.map(Value::Object),
            seq,
        }
    }

    /// The item as stored: version 1, created and updated `now`.
    pub fn stored(self, now: DateTime<Utc>) -> Item {
        Item {
            id: self.id,
            owner_id: self.owner,
            name: self.name,
            description: self.description,
            data: self.data,
            version: 1,
            change_seq: self.seq,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }
}

/// Inserts new items in one statement; returns them as stored, in the same order.
pub async fn insert_many(
    conn: &impl ConnectionTrait,
    new: Vec<NewItem>,
    now: DateTime<Utc>,
) -> Result<Vec<Item>, DbErr> {
    let stored: Vec<Item> = new.into_iter().map(|n| n.stored(now)).collect();
    if stored.is_empty() {
        return Ok(stored);
    }
    item::Entity::insert_many(stored.iter().map(|model| item::ActiveModel {
        id: Set(model.id),
        owner_id: Set(model.owner_id),
        name: Set(model.name.clone()),
        description: Set(model.description.clone()),
        data: Set(model.data.clone()),
        version: Set(model.version),
        change_seq: Set(model.change_seq),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(stored)
}

/// A live (not deleted) item of `owner`; another owner's item is simply not found.
pub async fn find_live(
    conn: &impl ConnectionTrait,
    owner: UserId,
    id: ItemId,
) -> Result<Option<Item>, DbErr> {
    find_live_query(owner, id).one(conn).await
}

/// The query behind [`find_live`], unexecuted (the query-plan tests explain it).
pub fn find_live_query(owner: UserId, id: ItemId) -> Select<item::Entity> {
    item::Entity::find_by_id(id)
        .filter(item::Column::OwnerId.eq(owner))
        .filter(item::Column::DeletedAt.is_null())
}

pub struct Replacement {
    pub name: String,
    pub description: Option<String>,
    pub data: Option<Value>,
}

/// Replaces an item if it is still at `version`; false if it changed or went away meanwhile.
pub async fn replace(
    conn: &impl ConnectionTrait,
    current: &Item,
    with: Replacement,
    seq: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = item::Entity::update_many()
        .col_expr(item::Column::Name, Expr::value(with.name))
        .col_expr(item::Column::Description, Expr::value(with.description))
        .col_expr(item::Column::Data, Expr::value(with.data))
        .col_expr(item::Column::Version, Expr::value(current.version + 1))
        .col_expr(item::Column::ChangeSeq, Expr::value(seq))
        .col_expr(item::Column::UpdatedAt, Expr::value(now))
        .filter(item::Column::Id.eq(current.id))
        .filter(item::Column::Version.eq(current.version))
        .filter(item::Column::DeletedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Turns an item into a tombstone that delta sync reports until it is purged.
pub async fn soft_delete(
    conn: &impl ConnectionTrait,
    current: &Item,
    seq: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = item::Entity::update_many()
        .col_expr(item::Column::DeletedAt, Expr::value(now))
        .col_expr(item::Column::Version, Expr::value(current.version + 1))
        .col_expr(item::Column::ChangeSeq, Expr::value(seq))
        .col_expr(item::Column::UpdatedAt, Expr::value(now))
        .filter(item::Column::Id.eq(current.id))
        .filter(item::Column::Version.eq(current.version))
        .filter(item::Column::DeletedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The position of an item in a sort order: the sort column's value and the id. Tagged, so a
/// name that looks like a timestamp stays a name when a cursor is read back.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    Time(DateTime<Utc>),
    Text(String),
}

impl SortKey {
    /// Whether this key is a position in `sort` (a time for the time orders, a name for names).
    pub fn fits(&self, sort: ItemSort) -> bool {
        matches!(
            (self, sort),
            (
                SortKey::Time(_),
                ItemSort::CreatedAt
                    | ItemSort::CreatedAtDesc
                    | ItemSort::UpdatedAt
                    | ItemSort::UpdatedAtDesc
            ) | (SortKey::Text(_), ItemSort::Name | ItemSort::NameDesc)
        )
    }
}

pub fn sort_key(item: &Item, sort: ItemSort) -> SortKey {
    match sort {
        ItemSort::CreatedAt | ItemSort::CreatedAtDesc => SortKey::Time(item.created_at),
        ItemSort::UpdatedAt | ItemSort::UpdatedAtDesc => SortKey::Time(item.updated_at),
        ItemSort::Name | ItemSort::NameDesc => SortKey::Text(item.name.clone()),
    }
}

fn sort_column(sort: ItemSort) -> (item::Column, Order) {
    match sort {
        ItemSort::CreatedAt => (item::Column::CreatedAt, Order::Asc),
        ItemSort::CreatedAtDesc => (item::Column::CreatedAt, Order::Desc),
        ItemSort::UpdatedAt => (item::Column::UpdatedAt, Order::Asc),
        ItemSort::UpdatedAtDesc => (item::Column::UpdatedAt, Order::Desc),
        ItemSort::Name => (item::Column::Name, Order::Asc),
        ItemSort::NameDesc => (item::Column::Name, Order::Desc),
    }
}

fn live_of(owner: UserId, q: Option<&str>) -> Select<item::Entity> {
    let mut select = item::Entity::find()
        .filter(item::Column::OwnerId.eq(owner))
        .filter(item::Column::DeletedAt.is_null());
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
        select = select.filter(
            Func::lower(Expr::col(item::Column::Name)).like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    select
}

pub async fn count_live(
    conn: &impl ConnectionTrait,
    owner: UserId,
    q: Option<&str>,
) -> Result<u64, DbErr> {
    let count: Option<i64> = count_live_query(owner, q).into_tuple().one(conn).await?;
    Ok(count.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

/// The query behind [`count_live`], unexecuted (the query-plan tests explain it).
pub fn count_live_query(owner: UserId, q: Option<&str>) -> Select<item::Entity> {
    live_of(owner, q).select_only().column_as(
        SimpleExpr::from(Func::count(Expr::col((item::Entity, item::Column::Id)))),
        "total",
    )
}

/// One page of live items in `sort` order, after `after` (keyset) or from `offset`.
pub async fn list_live(
    conn: &impl ConnectionTrait,
    owner: UserId,
    q: Option<&str>,
    sort: ItemSort,
    after: Option<(SortKey, ItemId)>,
    offset: u64,
    limit: u64,
) -> Result<Vec<Item>, DbErr> {
    list_live_query(owner, q, sort, after, offset, limit)
        .all(conn)
        .await
}

/// The query behind [`list_live`], unexecuted (the query-plan tests explain it).
pub fn list_live_query(
    owner: UserId,
    q: Option<&str>,
    sort: ItemSort,
    after: Option<(SortKey, ItemId)>,
    offset: u64,
    limit: u64,
) -> Select<item::Entity> {
    let (column, order) = sort_column(sort);
    let mut select = live_of(owner, q);
    if let Some((key, id)) = after {
        let key: SimpleExpr = match key {
            SortKey::Time(at) => Expr::value(at),
            SortKey::Text(text) => Expr::value(text),
        };
        // Row-value comparison: one index range on (owner_id, column, id) in both databases.
        let position = Expr::tuple([Expr::col(column), Expr::col(item::Column::Id)]);
        let bound = Expr::tuple([key, Expr::value(id)]);
        select = select.filter(match order {
            Order::Asc => position.gt(bound),
            _ => position.lt(bound),
        });
    }
    select
        .order_by(column, order.clone())
        .order_by(item::Column::Id, order)
        .offset(offset)
        .limit(limit)
}

/// Every change (live items and tombstones) after `since`, in sequence order.
pub async fn changes_after(
    conn: &impl ConnectionTrait,
    owner: UserId,
    since: i64,
    include_deleted: bool,
    limit: u64,
) -> Result<Vec<Item>, DbErr> {
    let mut select = item::Entity::find()
        .filter(item::Column::OwnerId.eq(owner))
        .filter(item::Column::ChangeSeq.gt(since));
    if !include_deleted {
        select = select.filter(item::Column::DeletedAt.is_null());
    }
    select
        .order_by_asc(item::Column::ChangeSeq)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn all_live(conn: &impl ConnectionTrait, owner: UserId) -> Result<Vec<Item>, DbErr> {
    live_of(owner, None)
        .order_by_asc(item::Column::CreatedAt)
        .order_by_asc(item::Column::Id)
        .all(conn)
        .await
}

pub async fn delete_all_of_owner(conn: &impl ConnectionTrait, owner: UserId) -> Result<(), DbErr> {
    item::Entity::delete_many()
        .filter(item::Column::OwnerId.eq(owner))
        .exec(conn)
        .await?;
    item_owner::Entity::delete_by_id(owner).exec(conn).await?;
    Ok(())
}

/// Owners with tombstones older than `before`, and the highest sequence among them.
pub async fn expired_tombstones(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<Vec<(UserId, i64)>, DbErr> {
    item::Entity::find()
        .select_only()
        .column(item::Column::OwnerId)
        .column_as(item::Column::ChangeSeq.max(), "max_seq")
        .filter(item::Column::DeletedAt.lt(before))
        .group_by(item::Column::OwnerId)
        .into_tuple()
        .all(conn)
        .await
}

/// Deletes an owner's tombstones up to `max_seq` and remembers that sync before it is gone.
pub async fn purge_tombstones(
    conn: &impl ConnectionTrait,
    owner: UserId,
    max_seq: i64,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let deleted = item::Entity::delete_many()
        .filter(item::Column::OwnerId.eq(owner))
        .filter(item::Column::DeletedAt.lt(before))
        .filter(item::Column::ChangeSeq.lte(max_seq))
        .exec(conn)
        .await?;
    item_owner::Entity::update_many()
        .col_expr(item_owner::Column::PurgedSeq, Expr::value(max_seq))
        .filter(item_owner::Column::OwnerId.eq(owner))
        .filter(item_owner::Column::PurgedSeq.lt(max_seq))
        .exec(conn)
        .await?;
    Ok(deleted.rows_affected)
}
