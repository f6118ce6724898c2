use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    ResponseBytes,
}

/// Bytes of stored responses per scope (a user, or an anonymous client's address), kept by
/// every write of `idempotency_keys`, so that the per-scope cap is checked without a scan.
#[derive(DeriveIden)]
enum IdempotencyUsage {
    Table,
    Scope,
    StoredBytes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .add_column(big_integer(IdempotencyKeys::ResponseBytes).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyUsage::Table)
                    .col(string_len(IdempotencyUsage::Scope, 80).primary_key())
                    .col(big_integer(IdempotencyUsage::StoredBytes).default(0))
                    .to_owned(),
            )
            .await?;
        // Oldest first within a scope, for dropping the oldest stored responses over the cap.
        crate::execute_sql(
            manager,
            "CREATE INDEX idx_idempotency_keys_scope_created \
             ON idempotency_keys (scope, created_at) WHERE state = 'completed'",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::execute_sql(manager, "DROP INDEX idx_idempotency_keys_scope_created").await?;
        manager
            .drop_table(Table::drop().table(IdempotencyUsage::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .drop_column(IdempotencyKeys::ResponseBytes)
                    .to_owned(),
            )
            .await
    }
}
