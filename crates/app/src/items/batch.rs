//! `POST /api/data/batch`: many operations in one request, all or nothing by default.

use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::dto::{
    BatchOp, BatchOperation, BatchResponse, ItemDto, OperationError, OperationResult,
};
use super::error::ItemError;
use super::etag::Condition;
use super::service;
use crate::http::error::ApiError;
use crate::platform::db;
use crate::platform::error::FieldError;
use crate::platform::idempotency::{self, Claim};
use crate::state::AppState;

enum Applied {
    Created(ItemDto),
    Updated(ItemDto),
    Deleted(Uuid),
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
    owner: Uuid,
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

fn touched(applied: &[Applied]) -> Vec<Uuid> {
    applied
        .iter()
        .filter_map(|a| match a {
            Applied::Updated(item) => Some(item.id),
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
    owner: Uuid,
    operations: Vec<BatchOperation>,
    atomic: bool,
    claim: Option<&Claim>,
) -> Result<BatchResponse, ApiError> {
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
                Err(err) => return Err(atomic_failure(index, err)),
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

fn atomic_failure(index: usize, err: ItemError) -> ApiError {
    let mut error = ApiError::from(err);
    let mut details = error.details.take().unwrap_or_default();
    if details.is_empty() {
        details.push(FieldError::new(
            format!("operations[{index}]"),
            error.message.to_string(),
        ));
    }
    error.details = Some(details);
    error
}

fn failure(err: ItemError) -> OperationResult {
    let error = ApiError::from(err);
    OperationResult {
        status: error.status().as_u16(),
        item: None,
        error: Some(OperationError {
            error: error.message.to_string(),
            code: json!(error.code),
            details: error.details.map(|d| json!(d)),
        }),
    }
}
