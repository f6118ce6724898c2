use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The pair a refresh issued, kept sealed on the token it spent, so that a retried or concurrent
/// refresh inside the grace window is sent that same pair instead of forking the session.
/// Expand only: the column is nullable and older servers never read it.
#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Successor,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .add_column(text_null(RefreshTokens::Successor))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .drop_column(RefreshTokens::Successor)
                    .to_owned(),
            )
            .await
    }
}
