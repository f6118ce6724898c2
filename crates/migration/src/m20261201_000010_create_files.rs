use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

/// Uploaded files. Rows go with their owner (`ON DELETE CASCADE`), but account deletion
/// deletes them itself first, so that the stored bytes are queued for removal too.
#[derive(DeriveIden)]
enum Files {
    Table,
    Id,
    OwnerId,
    Filename,
    ContentType,
    Size,
    Sha256,
    StorageKey,
    Status,
    ThumbnailKey,
    ThumbnailType,
    ThumbnailSize,
    Failure,
    CreatedAt,
    UpdatedAt,
}

/// Bytes stored per owner, for `MAX_STORAGE_BYTES_PER_USER` without a `SUM` scan.
#[derive(DeriveIden)]
enum FileUsage {
    Table,
    OwnerId,
    Bytes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Files::Table)
                    .col(uuid(Files::Id).primary_key())
                    .col(uuid(Files::OwnerId))
                    .col(string_len(Files::Filename, 255))
                    .col(string_len(Files::ContentType, 127))
                    .col(big_integer(Files::Size))
                    .col(string_len(Files::Sha256, 64))
                    .col(string_len(Files::StorageKey, 255))
                    .col(string_len(Files::Status, 16))
                    .col(string_len_null(Files::ThumbnailKey, 255))
                    .col(string_len_null(Files::ThumbnailType, 127))
                    .col(big_integer_null(Files::ThumbnailSize))
                    .col(text_null(Files::Failure))
                    .col(timestamp_with_time_zone(Files::CreatedAt))
                    .col(timestamp_with_time_zone(Files::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Files::Table, Files::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // `GET /api/files`: newest first, keyset on (created_at, id).
        manager
            .create_index(
                Index::create()
                    .name("idx_files_owner_created")
                    .table(Files::Table)
                    .col(Files::OwnerId)
                    .col(Files::CreatedAt)
                    .col(Files::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FileUsage::Table)
                    .col(uuid(FileUsage::OwnerId).primary_key())
                    .col(big_integer(FileUsage::Bytes).default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(FileUsage::Table, FileUsage::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FileUsage::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Files::Table).to_owned())
            .await
    }
}
