use sea_orm_migration::{prelude::*, schema::*};

use crate::execute_sql;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Id,
    EventType,
    Payload,
    CreatedAt,
    AvailableAt,
    Attempts,
    ProcessedAt,
    LastError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .col(uuid(OutboxEvents::Id).primary_key())
                    .col(string_len(OutboxEvents::EventType, 64))
                    .col(json(OutboxEvents::Payload))
                    .col(timestamp_with_time_zone(OutboxEvents::CreatedAt))
                    .col(timestamp_with_time_zone(OutboxEvents::AvailableAt))
                    .col(integer(OutboxEvents::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(OutboxEvents::ProcessedAt))
                    .col(text_null(OutboxEvents::LastError))
                    .to_owned(),
            )
            .await?;
        // The relay's claim query reads only unprocessed events, oldest due first.
        execute_sql(
            manager,
            "CREATE INDEX idx_outbox_events_pending ON outbox_events (available_at, created_at) \
             WHERE processed_at IS NULL",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OutboxEvents::Table).to_owned())
            .await
    }
}
