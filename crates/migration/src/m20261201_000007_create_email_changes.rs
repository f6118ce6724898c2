use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every change of an account's email: the address it had before, so that the notice to the
/// old address can be sent by a job that is given only this row's id, and so that support can
/// trace a takeover. Deleted with the account.
#[derive(DeriveIden)]
enum EmailChanges {
    Table,
    Id,
    UserId,
    PreviousEmail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailChanges::Table)
                    .col(uuid(EmailChanges::Id).primary_key())
                    .col(uuid(EmailChanges::UserId))
                    .col(string_len(EmailChanges::PreviousEmail, 254))
                    .col(timestamp_with_time_zone(EmailChanges::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EmailChanges::Table, EmailChanges::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_changes_user_id")
                    .table(EmailChanges::Table)
                    .col(EmailChanges::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_changes_created_at")
                    .table(EmailChanges::Table)
                    .col(EmailChanges::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailChanges::Table).to_owned())
            .await
    }
}
