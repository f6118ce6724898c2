//! The rules of the Data API: ownership, versions, quota, the change sequence and the cache.

use std::time::Duration;

use entity::{ItemId, UserId};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dto::{ItemDto, ItemInput, ItemSort, ListItemsQuery};
use super::error::ItemError;
use super::events::ItemCreated;
use super::limits::check_data;
use super::list_counted;
use super::repo::{self, Item, SortKey};
use super::single_statement;
use crate::platform::idempotency::{self, Claim};
use crate::platform::jobs::outbox;
use crate::platform::pagination::{Page, PageRequest, PageStart};
use crate::platform::{cache, clock, db};
use crate::state::AppState;

const CACHE_TTL: Duration = Duration::from_secs(300);

/// Cache keys carry the owner: an entry can never answer another user's request.
fn cache_key(owner: UserId, id: ItemId) -> String {
    format!("item:{owner}:{id}")
}

pub async fn forget_cached(app: &AppState, owner: UserId, ids: &[ItemId]) {
    let keys: Vec<String> = ids.iter().map(|id| cache_key(owner, *id)).collect();
    app.cache.delete(&keys).await;
}

/// Checks `data` of an input, naming it `path` in errors.
pub fn check_input(input: &ItemInput, path: &str) -> Result<(), ItemError> {
    match &input.data {
        Some(data) => check_data(data, path),
        None => Ok(()),
    }
}

/// Creates an item inside `txn`: takes a sequence number and counts the item, enforces the
/// quota (a refusal rolls the count back with the transaction), stores the `data:created` event
/// with it.
pub async fn create_in(
    txn: &DatabaseTransaction,
    app: &AppState,
    owner: UserId,
    input: ItemInput,
) -> Result<Item, ItemError> {
    let mut items = create_all_in(txn, app, owner, vec![input])
        .await
        .map_err(|(_, err)| err)?;
    items.pop().ok_or(ItemError::Db(DbErr::RecordNotInserted))
}

/// Creates items inside `txn` as [`create_in`] would one after the other, in three statements
/// whatever their number: their sequence numbers in one step, the items, their events. A
/// refusal names the position of the input that failed (the first over the quota).
pub async fn create_all_in(
    txn: &DatabaseTransaction,
    app: &AppState,
    owner: UserId,
    inputs: Vec<ItemInput>,
) -> Result<Vec<Item>, (usize, ItemError)> {
    let count = i64::try_from(inputs.len()).unwrap_or(i64::MAX);
    if count == 0 {
        return Ok(Vec::new());
    }
    let state = repo::take_seqs(txn, owner, count, count)
        .await
        .map_err(|e| (0, e.into()))?;
    let limit = app.config.items.max_items_per_user;
    if u64::try_from(state.live_count).unwrap_or(0) > limit {
        // The creates before the first one over the limit would have succeeded alone.
        let before = u64::try_from(state.live_count - count).unwrap_or(0);
        let first_over = usize::try_from(limit.saturating_sub(before)).unwrap_or(0);
        return Err((first_over, ItemError::QuotaExceeded { limit }));
    }
    let first_seq = state.seq - count + 1;
    let new = inputs
        .into_iter()
        .zip(first_seq..)
        .map(|(input, seq)| repo::NewItem::from_input(owner, input, seq))
        .collect();
    let items = repo::insert_many(txn, new, clock::now())
        .await
        .map_err(|e| (0, e.into()))?;
    let events: Vec<ItemCreated> = items
        .iter()
        .map(|item| ItemCreated { data_id: item.id })
        .collect();
    outbox::enqueue_all(txn, &events)
        .await
        .map_err(|e| (0, e.into()))?;
    Ok(items)
}

/// `POST /api/data`, optionally completing an `Idempotency-Key` claim in the same transaction.
#[tracing::instrument(skip_all, fields(user.id = %owner))]
pub async fn create(
    app: &AppState,
    owner: UserId,
    input: ItemInput,
    claim: Option<&Claim>,
) -> Result<ItemDto, ItemError> {
    check_input(&input, "data")?;
    if claim.is_none() && app.db.backend() == DatabaseBackend::Postgres {
        let limit = app.config.items.max_items_per_user;
        let new = repo::NewItem::from_input(owner, input, 0);
        let item = single_statement::create(&*app.db, new, limit, clock::now())
            .await?
            .ok_or(ItemError::QuotaExceeded { limit })?;
        app.wake_outbox_relay();
        return Ok(ItemDto::from(item));
    }
    let txn = db::begin_write(&app.db).await?;
    let item = ItemDto::from(create_in(&txn, app, owner, input).await?);
    if let Some(claim) = claim {
        idempotency::complete(&txn, claim, 201, &item, &created_headers(&item)).await?;
    }
    txn.commit().await?;
    app.wake_outbox_relay();
    Ok(item)
}

/// `Location` and `ETag` of a creation, stored with idempotent replays too.
pub fn created_headers(item: &ItemDto) -> Vec<(String, String)> {
    vec![
        ("location".to_owned(), format!("/api/data/{}", item.id)),
        ("etag".to_owned(), super::etag::of(item.version)),
    ]
}

#[tracing::instrument(skip_all, fields(user.id = %owner, item.id = %id))]
pub async fn get(app: &AppState, owner: UserId, id: ItemId) -> Result<ItemDto, ItemError> {
    let key = cache_key(owner, id);
    if let Some(item) = cache::get_json::<ItemDto>(app.cache.as_ref(), &key).await {
        return Ok(item);
    }
    let item = repo::find_live(&*app.db, owner, id)
        .await?
        .map(ItemDto::from)
        .ok_or(ItemError::NotFound)?;
    cache::set_json(app.cache.as_ref(), &key, &item, CACHE_TTL).await;
    // An update that committed and invalidated between our read and our write would leave the
    // old version cached for a whole TTL: read the version once more, after writing.
    let current_version = repo::find_live(&*app.db, owner, id)
        .await?
        .map(|i| i.version);
    if current_version != Some(item.version) {
        cache::delete_one(app.cache.as_ref(), key).await;
    }
    Ok(item)
}

/// Replaces an item inside `txn`. `if_match` is the caller's precondition.
pub async fn replace_in(
    txn: &DatabaseTransaction,
    owner: UserId,
    id: ItemId,
    input: ItemInput,
    if_match: Option<&super::etag::Condition>,
) -> Result<Item, ItemError> {
    let state = repo::next_seq(txn, owner, 0).await?;
    let current = repo::find_live(txn, owner, id)
        .await?
        .ok_or(ItemError::NotFound)?;
    if if_match.is_some_and(|c| !c.matches_strong(current.version)) {
        return Err(ItemError::PreconditionFailed);
    }
    let now = clock::now();
    let replacement = repo::Replacement {
        description: input.description,
        name: input.name,
        data: input.data.map(Value::Object),
    };
    if !repo::replace(txn, &current, replacement, state.seq, now).await? {
        return Err(ItemError::PreconditionFailed);
    }
    repo::find_live(txn, owner, id)
        .await?
        .ok_or(ItemError::NotFound)
}

#[tracing::instrument(skip_all, fields(user.id = %owner, item.id = %id))]
pub async fn replace(
    app: &AppState,
    owner: UserId,
    id: ItemId,
    input: ItemInput,
    if_match: Option<super::etag::Condition>,
) -> Result<ItemDto, ItemError> {
    check_input(&input, "data")?;
    let txn = db::begin_write(&app.db).await?;
    let item = replace_in(&txn, owner, id, input, if_match.as_ref()).await?;
    txn.commit().await?;
    forget_cached(app, owner, &[id]).await;
    Ok(ItemDto::from(item))
}

/// Deletes an item inside `txn`, leaving a tombstone for delta sync.
pub async fn delete_in(
    txn: &DatabaseTransaction,
    owner: UserId,
    id: ItemId,
    if_match: Option<&super::etag::Condition>,
) -> Result<(), ItemError> {
    // The count drops now; a refusal below rolls it back with the transaction.
    let state = repo::next_seq(txn, owner, -1).await?;
    let current = repo::find_live(txn, owner, id)
        .await?
        .ok_or(ItemError::NotFound)?;
    if if_match.is_some_and(|c| !c.matches_strong(current.version)) {
        return Err(ItemError::PreconditionFailed);
    }
    if !repo::soft_delete(txn, &current, state.seq, clock::now()).await? {
        return Err(ItemError::PreconditionFailed);
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(user.id = %owner, item.id = %id))]
pub async fn delete(
    app: &AppState,
    owner: UserId,
    id: ItemId,
    if_match: Option<super::etag::Condition>,
) -> Result<(), ItemError> {
    let txn = db::begin_write(&app.db).await?;
    delete_in(&txn, owner, id, if_match.as_ref()).await?;
    txn.commit().await?;
    forget_cached(app, owner, &[id]).await;
    Ok(())
}

/// What a list cursor remembers: the sort and filter it belongs to, and the last position.
#[derive(Serialize, Deserialize)]
struct ListCursor {
    sort: String,
    q: Option<String>,
    key: SortKey,
    id: ItemId,
}

fn sort_name(sort: ItemSort) -> &'static str {
    match sort {
        ItemSort::CreatedAt => "createdAt",
        ItemSort::CreatedAtDesc => "-createdAt",
        ItemSort::UpdatedAt => "updatedAt",
        ItemSort::UpdatedAtDesc => "-updatedAt",
        ItemSort::Name => "name",
        ItemSort::NameDesc => "-name",
    }
}

#[tracing::instrument(skip_all, fields(user.id = %owner))]
pub async fn list(
    app: &AppState,
    owner: UserId,
    query: ListItemsQuery,
) -> Result<Page<ItemDto>, ItemError> {
    let sort = query.sort.unwrap_or_default();
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let page = PageRequest::new(query.limit, query.offset, query.cursor.as_deref(), |raw| {
        app.cursors
            .decode::<ListCursor>(raw)
            // A cursor is only valid for the listing that produced it.
            .filter(|c| c.sort == sort_name(sort) && c.q.as_deref() == q && c.key.fits(sort))
    })?;
    let (after, offset) = match page.start {
        PageStart::Offset(offset) => (None, offset),
        PageStart::After(ref cursor) => (Some((cursor.key.clone(), cursor.id)), 0),
    };
    // Unfiltered, the owner's live count is kept exactly by every write: no COUNT scan, and it
    // comes with the page, read by the same statement.
    let counted = matches!(page.start, PageStart::Offset(_)) && q.is_none();
    let (mut rows, live_count) = if counted {
        list_counted::list_live_counted(&*app.db, owner, sort, offset, page.limit + 1).await?
    } else {
        let rows = repo::list_live(&*app.db, owner, q, sort, after, offset, page.limit + 1).await?;
        (rows, None)
    };
    let has_more = rows.len() as u64 > page.limit;
    rows.truncate(page.limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|last| {
            app.cursors.encode(&ListCursor {
                sort: sort_name(sort).to_owned(),
                q: q.map(str::to_owned),
                key: repo::sort_key(last, sort),
                id: last.id,
            })
        })
    } else {
        None
    };
    let total = match page.start {
        _ if counted => Some(match live_count {
            Some(count) => u64::try_from(count).unwrap_or(0),
            // An empty page (past the end, or no items): the count alone.
            None => repo::owner_state(&*app.db, owner)
                .await?
                .map_or(0, |state| u64::try_from(state.live_count).unwrap_or(0)),
        }),
        PageStart::Offset(_) => Some(repo::count_live(&*app.db, owner, q).await?),
        PageStart::After(_) => None,
    };
    Ok(Page {
        items: rows.into_iter().map(ItemDto::from).collect(),
        limit: page.limit,
        offset: page.offset(),
        total,
        next_cursor,
    })
}

pub async fn export_all(conn: &impl ConnectionTrait, owner: UserId) -> Result<Vec<ItemDto>, DbErr> {
    Ok(repo::all_live(conn, owner)
        .await?
        .into_iter()
        .map(ItemDto::from)
        .collect())
}

pub async fn delete_all_of_owner(conn: &impl ConnectionTrait, owner: UserId) -> Result<(), DbErr> {
    repo::delete_all_of_owner(conn, owner).await
}
