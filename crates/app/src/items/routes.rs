//! HTTP handlers of the Data API.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity::ItemId;

use super::dto::*;
use super::etag::{self, Condition};
use super::{batch, service, sync};
use crate::auth::AuthUser;
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{ValidPath, ValidatedJson, ValidatedQuery};
use crate::http::idempotency::{self, IdempotencyKey};
use crate::platform::idempotency::request_hash;
use crate::platform::pagination::Page;
use crate::state::AppState;

fn with_etag(status: StatusCode, item: ItemDto) -> Response {
    let tag = etag::header_value(item.version);
    let mut response = (status, Json(item)).into_response();
    response.headers_mut().insert(header::ETAG, tag);
    response
}

#[utoipa::path(summary = "List your items", description = "A page of your items, by `offset` (with `total`) or by `cursor` (keyset pagination, stable under concurrent inserts); sorted by `sort`, filtered by `q`.",
    get, path = "/api/data", tag = "data", security(("bearer" = [])),
    params(ListItemsQuery),
    responses((status = 200, body = Page<ItemDto>),
        (status = 400, description = "`VALIDATION_FAILED`: a parameter out of range, both `offset` and `cursor`, or a `cursor` this server did not issue for this listing (same `sort` and `q`; `details` names `cursor`)", body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_items(
    State(app): State<AppState>,
    user: AuthUser,
    ValidatedQuery(query): ValidatedQuery<ListItemsQuery>,
) -> ApiResult<Json<Page<ItemDto>>> {
    Ok(Json(service::list(&app, user.user_id, query).await?))
}

#[utoipa::path(summary = "Create an item", description = "Creates an item of yours. The answer carries its `Location` and `ETag`. Honours `Idempotency-Key`.",
    post, path = "/api/data", tag = "data", security(("bearer" = [])),
    request_body(content = ItemInput, example = json!({"name": "Groceries", "description": "For the weekend", "data": {"milk": 2, "eggs": 12}})),
    params(("Idempotency-Key" = Option<String>, Header, description = "1..255 characters; executed once per user and key for 24 h. Stored responses count against a per-user cap (`IDEMPOTENCY_MAX_BYTES_PER_USER`, default 10 MiB): past it the oldest are dropped, and a retry with a dropped key runs again")),
    responses(
        (status = 201, description = "Created; `Location` and `ETag` set", body = ItemDto,
            headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "`QUOTA_EXCEEDED`", body = ErrorBody),
        (status = 409, description = "`IDEMPOTENCY_IN_PROGRESS`", body = ErrorBody),
        (status = 413, description = "`data` over 64 KiB", body = ErrorBody),
        (status = 422, description = "`IDEMPOTENCY_KEY_MISMATCH`", body = ErrorBody),
    ))]
pub async fn create_item(
    State(app): State<AppState>,
    user: AuthUser,
    IdempotencyKey(key): IdempotencyKey,
    ValidatedJson(input): ValidatedJson<ItemInput>,
) -> ApiResult<Response> {
    let scope = user.user_id.to_string();
    let hash = request_hash(&app, "POST", "/api/data", &input);
    let app = &app;
    idempotency::run_once(app, &scope, key, hash, false, move |claim| async move {
        let item = service::create(app, user.user_id, input, claim.as_ref()).await?;
        let location = format!("/api/data/{}", item.id);
        let mut response = with_etag(StatusCode::CREATED, item);
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Ok(response)
    })
    .await
}

#[utoipa::path(summary = "Get an item", description = "One of your items, with its `ETag`; `If-None-Match` with the current ETag answers `304`.",
    get, path = "/api/data/{id}", tag = "data", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-None-Match" = Option<String>, Header, description = "The ETag you have: `304` if unchanged")),
    responses((status = 200, description = "The item", body = ItemDto, headers(("ETag" = String))),
        (status = 304, description = "Not modified", headers(("ETag" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "No such item, or not yours", body = ErrorBody)))]
pub async fn get_item(
    State(app): State<AppState>,
    user: AuthUser,
    ValidPath(id): ValidPath<ItemId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let item = service::get(&app, user.user_id, id).await?;
    if Condition::from_header(&headers, header::IF_NONE_MATCH)
        .is_some_and(|c| c.matches_weak(item.version))
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response
            .headers_mut()
            .insert(header::ETAG, etag::header_value(item.version));
        return Ok(response);
    }
    Ok(with_etag(StatusCode::OK, item))
}

#[utoipa::path(summary = "Replace an item", description = "Full replace of `name`, `description` and `data` (absent ones become null). With `If-Match`, only when the item still has that ETag (`412` otherwise). The version grows by one.",
    put, path = "/api/data/{id}", tag = "data", security(("bearer" = [])),
    request_body(content = ItemInput, example = json!({"name": "Groceries", "description": "For the weekend", "data": {"milk": 2, "eggs": 12}})),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The ETag the item must still have")),
    responses((status = 200, description = "Replaced; the new `ETag` set", body = ItemDto, headers(("ETag" = String))),
        (status = 404, body = ErrorBody), (status = 412, description = "`PRECONDITION_FAILED`", body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub async fn replace_item(
    State(app): State<AppState>,
    user: AuthUser,
    ValidPath(id): ValidPath<ItemId>,
    headers: HeaderMap,
    ValidatedJson(input): ValidatedJson<ItemInput>,
) -> ApiResult<Response> {
    let if_match = Condition::from_header(&headers, header::IF_MATCH);
    let item = service::replace(&app, user.user_id, id, input, if_match).await?;
    Ok(with_etag(StatusCode::OK, item))
}

#[utoipa::path(summary = "Delete an item", description = "Deletes one of your items; a second `DELETE` or a `GET` afterwards is `404`.",
    delete, path = "/api/data/{id}", tag = "data", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn delete_item(
    State(app): State<AppState>,
    user: AuthUser,
    ValidPath(id): ValidPath<ItemId>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let if_match = Condition::from_header(&headers, header::IF_MATCH);
    service::delete(&app, user.user_id, id, if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(summary = "Apply a batch of operations", description = "1..100 create, update and delete operations in order. By default in one transaction, all or nothing: a failing operation makes the whole batch fail with that operation's status and its index in `details`. With `atomic=false`, best effort: `200` with each operation's own status. Honours `Idempotency-Key`.",
    post, path = "/api/data/batch", tag = "data", security(("bearer" = [])),
    request_body(content = BatchRequest, example = json!({"operations": [{"op": "create", "body": {"name": "Groceries", "data": {"milk": 2}}}, {"op": "create", "body": {"name": "Hardware", "description": "Screws"}}]})),
    params(BatchQuery, ("Idempotency-Key" = Option<String>, Header, description = "1..255 characters; executed once per user and key for 24 h. Stored responses count against a per-user cap (`IDEMPOTENCY_MAX_BYTES_PER_USER`, default 10 MiB): past it the oldest are dropped, and a retry with a dropped key runs again")),
    responses(
        (status = 200, description = "Every operation's result (all succeeded when atomic)", body = BatchResponse),
        (status = 400, description = "Invalid input, or (atomic) the failing operation's error, its index in `details`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn batch_items(
    State(app): State<AppState>,
    user: AuthUser,
    IdempotencyKey(key): IdempotencyKey,
    ValidatedQuery(query): ValidatedQuery<BatchQuery>,
    ValidatedJson(request): ValidatedJson<BatchRequest>,
) -> ApiResult<Response> {
    let atomic = query.atomic.unwrap_or(true);
    let scope = user.user_id.to_string();
    let route = if atomic {
        "/api/data/batch"
    } else {
        "/api/data/batch?atomic=false"
    };
    let hash = request_hash(&app, "POST", route, &request);
    let app = &app;
    idempotency::run_once(app, &scope, key, hash, false, move |claim| async move {
        let operations = request.operations;
        let response = batch::run(app, user.user_id, operations, atomic, claim.as_ref()).await?;
        Ok(Json(response).into_response())
    })
    .await
}

#[utoipa::path(summary = "Delta sync: changes since a cursor", description = "Every change to your items after `since` (deletions included), in commit order, each item once in its latest state. Pass the answer's `cursor` next time; `hasMore` says to ask again at once. A cursor older than the retention period is `410 SYNC_EXPIRED`: do a full resync.",
    get, path = "/api/data/changes", tag = "data", security(("bearer" = [])),
    params(ChangesQuery),
    responses((status = 200, body = ChangesPage),
        (status = 400, description = "`VALIDATION_FAILED`: `limit` out of range, or a `since` this server did not issue to you (`details` names `since`)", body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 410, description = "`SYNC_EXPIRED`: do a full sync", body = ErrorBody)))]
pub async fn list_changes(
    State(app): State<AppState>,
    user: AuthUser,
    ValidatedQuery(query): ValidatedQuery<ChangesQuery>,
) -> ApiResult<Json<ChangesPage>> {
    Ok(Json(sync::changes(&app, user.user_id, query).await?))
}
