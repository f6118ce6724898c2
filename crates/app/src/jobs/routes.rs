//! HTTP handlers of the jobs admin API (`/api/admin/jobs`): administrators see and act on the
//! background jobs.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::dto::{JobDetailDto, JobDto, ListJobsQuery};
use super::service;
use crate::auth::AdminUser;
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{ValidPath, ValidatedQuery};
use crate::platform::pagination::Page;
use crate::state::AppState;

/// The id in the path: a ULID of 26 characters.
#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
pub struct JobIdPath(String);

impl JobIdPath {
    fn checked(&self) -> Result<&str, crate::http::error::ApiError> {
        if ulid::Ulid::from_string(&self.0).is_ok() {
            Ok(&self.0)
        } else {
            Err(crate::http::error::ApiError::field(
                "id",
                "must be a job id (26 characters, Crockford base32)",
            ))
        }
    }
}

/// List jobs
///
/// Newest first; filter by `state` and `type`.
#[utoipa::path(get, path = "/api/admin/jobs", tag = "admin", security(("bearer" = [])),
    params(ListJobsQuery),
    responses((status = 200, body = Page<JobDto>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not an administrator", body = ErrorBody)))]
pub async fn list_jobs(
    State(app): State<AppState>,
    AdminUser(_admin): AdminUser,
    ValidatedQuery(query): ValidatedQuery<ListJobsQuery>,
) -> ApiResult<Json<Page<JobDto>>> {
    Ok(Json(service::list(&app, query).await?))
}

/// Get a job
#[utoipa::path(description = "One background job with its payload summary, attempts and last error. Administrators only.",
    get, path = "/api/admin/jobs/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job's id (a ULID)", min_length = 26, max_length = 26)),
    responses((status = 200, body = JobDetailDto), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_job(
    State(app): State<AppState>,
    AdminUser(_admin): AdminUser,
    ValidPath(id): ValidPath<JobIdPath>,
) -> ApiResult<Json<JobDetailDto>> {
    Ok(Json(service::get(&app, id.checked()?).await?))
}

/// Retry a job
///
/// A failed or dead job is queued again, with a fresh set of attempts.
#[utoipa::path(post, path = "/api/admin/jobs/{id}/retry", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job's id (a ULID)", min_length = 26, max_length = 26)),
    responses((status = 202, description = "Queued again"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`INVALID_STATE`: the job is not failed or dead", body = ErrorBody)))]
pub async fn retry_job(
    State(app): State<AppState>,
    AdminUser(admin): AdminUser,
    ValidPath(id): ValidPath<JobIdPath>,
) -> ApiResult<StatusCode> {
    service::retry(&app, id.checked()?).await?;
    crate::audit!("admin.job_retried", admin_id = %admin.user_id);
    Ok(StatusCode::ACCEPTED)
}

/// Discard a job
///
/// Deletes a job that is not running.
#[utoipa::path(delete, path = "/api/admin/jobs/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job's id (a ULID)", min_length = 26, max_length = 26)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`INVALID_STATE`: the job is running", body = ErrorBody)))]
pub async fn delete_job(
    State(app): State<AppState>,
    AdminUser(admin): AdminUser,
    ValidPath(id): ValidPath<JobIdPath>,
) -> ApiResult<StatusCode> {
    service::delete(&app, id.checked()?).await?;
    crate::audit!("admin.job_deleted", admin_id = %admin.user_id);
    Ok(StatusCode::NO_CONTENT)
}
