//! One migration set for SQLite and PostgreSQL. Migrations are expand/contract and a merged
//! migration is never edited: add a new one.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_outbox;
mod m20261125_000002_create_users_and_sessions;
mod m20261125_000003_create_items;
mod m20261125_000004_create_idempotency_keys;
mod m20261201_000005_refresh_token_successor;
mod m20261201_000006_idempotency_stored_bytes;
mod m20261201_000007_create_email_changes;
mod m20261201_000010_create_files;
mod m20261201_000011_create_devices_and_notifications;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_outbox::Migration),
            Box::new(m20261125_000002_create_users_and_sessions::Migration),
            Box::new(m20261125_000003_create_items::Migration),
            Box::new(m20261125_000004_create_idempotency_keys::Migration),
            Box::new(m20261201_000005_refresh_token_successor::Migration),
            Box::new(m20261201_000006_idempotency_stored_bytes::Migration),
            Box::new(m20261201_000007_create_email_changes::Migration),
            Box::new(m20261201_000010_create_files::Migration),
            Box::new(m20261201_000011_create_devices_and_notifications::Migration),
        ]
    }
}

/// Partial indexes have the same syntax on both databases; sea-query cannot express them.
pub(crate) async fn execute_sql(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(sql)
        .await
        .map(|_| ())
}
