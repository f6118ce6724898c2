//! A first list page and the owner's live count in one statement.

use entity::UserId;
use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, DbErr, QuerySelect};

use super::dto::ItemSort;
use super::repo::Item;

/// An unfiltered page of the owner's live items by offset, and the owner's live count read by
/// the same statement (`None` when the page is empty: there is no row to carry it).
pub async fn list_live_counted(
    conn: &impl ConnectionTrait,
    owner: UserId,
    sort: ItemSort,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Item>, Option<i64>), DbErr> {
    let rows = super::repo::list_live_query(owner, None, sort, None, offset, limit)
        .column_as(
            Expr::cust(
                "(SELECT live_count FROM item_owners WHERE item_owners.owner_id = items.owner_id)",
            ),
            COUNTED_ALIAS,
        )
        .into_model::<CountedItem>()
        .all(conn)
        .await?;
    let count = rows.first().map(|row| row.live_count);
    Ok((rows.into_iter().map(|row| row.item).collect(), count))
}

const COUNTED_ALIAS: &str = "owner_live_count";

struct CountedItem {
    item: Item,
    live_count: i64,
}

impl sea_orm::FromQueryResult for CountedItem {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(Self {
            item: Item::from_query_result(row, pre)?,
            live_count: row.try_get(pre, COUNTED_ALIAS)?,
        })
    }
}
