//! `POST /api/data/batch`: many operations in one request, all or nothing by default.

use entity::{ItemId, UserId};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use super::dto::{BatchOp, BatchOperation, BatchResponse, ItemDto, ItemInput, OperationResult};
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

fn check_if_match(index: usize, operation: &BatchOperation) -> Result<(), ItemError> {
    if operation
        .if_match
        .as_ref()
        .is_some_and(|tag| tag.len() > 64)
    {
        return Err(invalid(index, "ifMatch", "must be at most 64 characters"));
    }
    Ok(())
}

/// The checked input of a create operation whose `ifMatch` is checked already.
fn create_input(index: usize, operation: BatchOperation) -> Result<ItemInput, ItemError> {
    if operation.id.is_some() {
        return Err(invalid(index, "id", "is assigned by the server on create"));
    }
    let body = operation
        .body
        .ok_or_else(|| invalid(index, "body", "is required"))?;
    service::check_input(&body, &format!("operations[{index}].body.data"))?;
    Ok(body)
}

async fn apply(
    txn: &DatabaseTransaction,
    app: &AppState,
    owner: UserId,
    index: usize,
    operation: BatchOperation,
) -> Result<Applied, ItemError> {
    check_if_match(index, &operation)?;
    let if_match = operation.if_match.as_deref().map(Condition::parse);
    match operation.op {
        BatchOp::Create => {
            let body = create_input(index, operation)?;
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

fn in_batch(index: usize, err: ItemError) -> ItemError {
    ItemError::InBatch {
        index,
        source: Box::new(err),
    }
}

/// An all-or-nothing batch: a run of consecutive creates is written in three statements
/// (`service::create_all_in`) instead of three per create, the other operations one by one.
/// The first failing operation, by position, fails the batch.
async fn run_atomic(
    txn: &DatabaseTransaction,
    app: &AppState,
    owner: UserId,
    operations: Vec<BatchOperation>,
) -> Result<Vec<Applied>, ItemError> {
    let mut applied = Vec::with_capacity(operations.len());
    // Creates not written yet; the first of them is operation `applied.len()`.
    let mut creates = Vec::new();
    for (index, operation) in operations.into_iter().enumerate() {
        if matches!(operation.op, BatchOp::Create) {
            match check_if_match(index, &operation).and_then(|()| create_input(index, operation)) {
                Ok(input) => {
                    creates.push(input);
                    continue;
                }
                Err(err) => {
                    // A create before this one may fail first: the batch names the first.
                    write_creates(txn, app, owner, &mut creates, &mut applied).await?;
                    return Err(in_batch(index, err));
                }
            }
        }
        // Written first: one of them may fail before this operation's turn.
        write_creates(txn, app, owner, &mut creates, &mut applied).await?;
        let done = apply(txn, app, owner, index, operation).await;
        applied.push(done.map_err(|err| in_batch(index, err))?);
    }
    write_creates(txn, app, owner, &mut creates, &mut applied).await?;
    Ok(applied)
}

async fn write_creates(
    txn: &DatabaseTransaction,
    app: &AppState,
    owner: UserId,
    creates: &mut Vec<ItemInput>,
    applied: &mut Vec<Applied>,
) -> Result<(), ItemError> {
    if creates.is_empty() {
        return Ok(());
    }
    let first = applied.len();
    let items = service::create_all_in(txn, app, owner, std::mem::take(creates))
        .await
        .map_err(|(offset, err)| in_batch(first + offset, err))?;
    applied.extend(
        items
            .into_iter()
            .map(|item| Applied::Created(ItemDto::from(item))),
    );
    Ok(())
}

/// A best-effort batch: each operation in its own savepoint, reporting its own status.
async fn run_best_effort(
    txn: &DatabaseTransaction,
    app: &AppState,
    owner: UserId,
    operations: Vec<BatchOperation>,
) -> Result<(Vec<Applied>, Vec<OperationResult>), ItemError> {
    let mut applied = Vec::with_capacity(operations.len());
    let mut results = Vec::with_capacity(operations.len());
    for (index, operation) in operations.into_iter().enumerate() {
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
    Ok((applied, results))
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
    let (applied, results) = if atomic {
        let applied = run_atomic(&txn, app, owner, operations).await?;
        let results = applied.iter().map(success).collect();
        (applied, results)
    } else {
        run_best_effort(&txn, app, owner, operations).await?
    };
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
