//! `POST /api/data/batch`: many operations in one request, all or nothing by default.

use entity::{ItemId, UserId};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::dto::{BatchOp, BatchOperation, BatchResponse, ItemDto, OperationResult};
use super::error::ItemError;
use super::etag::Condition;
use super::service;
use crate::platform::db;
use crate::platform::idempotency::{self, Claim};
use crate::state::AppState;

enum Applied {
    Created(ItemDto),
    Updated(ItemDto),
    Deleted(ItemId),
}

fn invalid(index: usize, field: &str, message: &'static str) -> ItemError {
    ItemError::InvalidOperation {
        path: format!("operations[{index}].{field}"),
        message,
    }
}

async fn apply(
    txn: &DatabaseTransaction,
    app: &AppState,
    owner: UserId,
    index: usize,
    operation: BatchOperation,
) -> Result<Applied, ItemError> {
    if operation
        .if_match
        .as_ref()
        .is_some_and(|tag| tag.len() > 64)
    {
        return Err(invalid(index, "ifMatch", "must be at most 64 characters"));
    }
    let if_match = operation.if_match.as_deref().map(Condition::parse);
    match operation.op {
        BatchOp::Create => {
            if operation.id.is_some() {
                return Err(invalid(index, "id", "is assigned by the server on create"));
            }
            let body = operation
                .body
                .ok_or_else(|| invalid(index, "body", "is required"))?;
            service::check_input(&body, &format!("operations[{index}].body.data"))?;
            let item = service::create_in(txn, app, owner, body).await?;
            Ok(Applied::Created(ItemDto::from(item)))
        }
        BatchOp::Update => {
            let id = operation
                .id
                .map(ItemId)
                .ok_or_else(|| invalid(index, "id", "is required"))?;
            let body = operation
                .body
                .ok_or_else(|| invalid(index, "body", "is required"))?;
            service::check_input(&body, &format!("operations[{index}].body.data"))?;
            let item = service::replace_in(txn, owner, id, body, if_match.as_ref()).await?;
            Ok(Applied::Updated(ItemDto::from(item)))
        }
        BatchOp::Delete => {
            let id = operation
                .id
                .map(ItemId)
                .ok_or_else(|| invalid(index, "id", "is required"))?;
            if operation.body.is_some() {
                return Err(invalid(index, "body", "is not allowed on delete"));
            }
            service::delete_in(txn, owner, id, if_match.as_ref()).await?;
            Ok(Applied::Deleted(id))
        }
    }
}

fn success(applied: &Applied) -> OperationResult {
    match applied {
        Applied::Created(item) => OperationResult {
            status: 201,
            item: Some(item.clone()),
            error: None,
        },
        Applied::Updated(item) => OperationResult {
            status: 200,
            item: Some(item.clone()),
            error: None,
        },
        Applied::Deleted(_) => OperationResult {
            status: 204,
            item: None,
            error: None,
        },
    }
}

fn touched(applied: &[Applied]) -> Vec<ItemId> {
    applied
        .iter()
        .filter_map(|a| match a {
            Applied::Updated(item) => Some(ItemId(item.id)),
            Applied::Deleted(id) => Some(*id),
            Applied::Created(_) => None,
        })
        .collect()
}

/// Runs the batch. Atomic: the first failing operation rolls everything back and the whole
/// request fails with that operation's error, its index in `details`. Best effort: each
/// operation runs in its own savepoint and reports its own status.
#[tracing::instrument(skip_all, fields(user.id = %owner, operations = request_len(&operations)))]
pub async fn run(
    app: &AppState,
    owner: UserId,
    operations: Vec<BatchOperation>,
    atomic: bool,
    claim: Option<&Claim>,
) -> Result<BatchResponse, ItemError> {
    let txn = db::begin_write(&app.db).await?;
    let mut applied = Vec::with_capacity(operations.len());
    let mut results = Vec::with_capacity(operations.len());
    for (index, operation) in operations.into_iter().enumerate() {
        if atomic {
            match apply(&txn, app, owner, index, operation).await {
                Ok(done) => {
                    results.push(success(&done));
                    applied.push(done);
                }
                Err(err) => {
                    return Err(ItemError::InBatch {
                        index,
                        source: Box::new(err),
                    });
                }
            }
        } else {
            let savepoint = txn.begin().await?;
            match apply(&savepoint, app, owner, index, operation).await {
                Ok(done) => {
                    savepoint.commit().await?;
                    results.push(success(&done));
                    applied.push(done);
                }
                Err(ItemError::Db(err)) => return Err(err.into()),
                Err(err) => {
                    savepoint.rollback().await?;
                    results.push(failure(err));
                }
            }
        }
    }
    let response = BatchResponse { results };
    if let Some(claim) = claim {
        idempotency::complete(&txn, claim, 200, &response, &[]).await?;
    }
    txn.commit().await?;
    if applied.iter().any(|a| matches!(a, Applied::Created(_))) {
        app.wake_outbox_relay();
    }
    service::forget_cached(app, owner, &touched(&applied)).await;
    Ok(response)
}

fn request_len(operations: &[BatchOperation]) -> usize {
    operations.len()
}

fn failure(err: ItemError) -> OperationResult {
    OperationResult::failed(err)
}
