use sea_orm_migration::{prelude::*, schema::*};

use crate::execute_sql;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Items {
    Table,
    Id,
    OwnerId,
    Name,
    Description,
    Data,
    Version,
    ChangeSeq,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

/// One row per item owner: the change-sequence counter (locked by every write, which orders
/// the delta-sync feed by commit), the live item count (quota) and how far tombstones were purged.
#[derive(DeriveIden)]
enum ItemOwners {
    Table,
    OwnerId,
    LastSeq,
    LiveCount,
    PurgedSeq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Items::Table)
                    .col(uuid(Items::Id).primary_key())
                    .col(uuid(Items::OwnerId))
                    .col(text(Items::Name))
                    .col(text_null(Items::Description))
                    .col(json_null(Items::Data))
                    .col(big_integer(Items::Version))
                    .col(big_integer(Items::ChangeSeq))
                    .col(timestamp_with_time_zone(Items::CreatedAt))
                    .col(timestamp_with_time_zone(Items::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Items::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Items::Table, Items::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One index per sort order of `GET /api/data`, over live items only; the trailing id
        // makes the keyset (sort value, id) unique.
        for (name, column) in [
            ("idx_items_owner_created", "created_at"),
            ("idx_items_owner_updated", "updated_at"),
            ("idx_items_owner_name", "name"),
        ] {
            execute_sql(
                manager,
                &format!(
                    "CREATE INDEX {name} ON items (owner_id, {column}, id) WHERE deleted_at IS NULL"
                ),
            )
            .await?;
        }
        // The delta-sync feed and the tombstone purge, deletions included.
        manager
            .create_index(
                Index::create()
                    .name("idx_items_owner_change_seq")
                    .table(Items::Table)
                    .col(Items::OwnerId)
                    .col(Items::ChangeSeq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        execute_sql(
            manager,
            "CREATE INDEX idx_items_deleted_at ON items (deleted_at) WHERE deleted_at IS NOT NULL",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ItemOwners::Table)
                    .col(uuid(ItemOwners::OwnerId).primary_key())
                    .col(big_integer(ItemOwners::LastSeq).default(0))
                    .col(big_integer(ItemOwners::LiveCount).default(0))
                    .col(big_integer(ItemOwners::PurgedSeq).default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ItemOwners::Table, ItemOwners::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ItemOwners::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Items::Table).to_owned())
            .await
    }
}
