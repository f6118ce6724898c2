//! Request and response types of the jobs admin API.

use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::platform::jobs::store::{JobRecord, JobState};
use crate::platform::text::printable;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStateDto {
    /// Waiting for its first run, or queued again.
    Pending,
    /// Taken by a worker.
    Running,
    /// Its last attempt failed; it runs again after its backoff.
    Failed,
    /// Failed on its last attempt, or permanently; kept with its last error until retried or
    /// deleted.
    Dead,
    Done,
}

impl From<JobState> for JobStateDto {
    fn from(state: JobState) -> Self {
        match state {
            JobState::Pending => Self::Pending,
            JobState::Running => Self::Running,
            JobState::Failed => Self::Failed,
            JobState::Dead => Self::Dead,
            JobState::Done => Self::Done,
        }
    }
}

impl From<JobStateDto> for JobState {
    fn from(state: JobStateDto) -> Self {
        match state {
            JobStateDto::Pending => Self::Pending,
            JobStateDto::Running => Self::Running,
            JobStateDto::Failed => Self::Failed,
            JobStateDto::Dead => Self::Dead,
            JobStateDto::Done => Self::Done,
        }
    }
}

/// A background job.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobDto {
    /// A ULID: ids sort by creation time.
    #[schema(example = "01JDX9Z3K6Q4W8N2M5R7T1V3B9")]
    pub id: String,
    /// The event (`user:registered`) or scheduled task (`cron:purge_expired`) it runs.
    #[serde(rename = "type")]
    #[schema(example = "user:registered")]
    pub job_type: String,
    pub state: JobStateDto,
    /// Attempts made so far.
    pub attempts: i64,
    /// Attempts allowed in all.
    pub max_attempts: i64,
    /// The error of the last failed attempt.
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// When it runs (next), or ran.
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A background job with what it carries.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobDetailDto {
    #[serde(flatten)]
    pub job: JobDto,
    /// The job's payload: the outbox event (`eventId`, `event`, `payload`), or the period of a
    /// scheduled task. Ids only, never personal data.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<JobRecord> for JobDetailDto {
    fn from(record: JobRecord) -> Self {
        let payload = record.payload.clone();
        Self {
            job: JobDto::from(record),
            payload,
        }
    }
}

impl From<JobRecord> for JobDto {
    fn from(record: JobRecord) -> Self {
        Self {
            id: record.id,
            job_type: record.queue,
            state: record.state.into(),
            attempts: record.attempts,
            max_attempts: record.max_attempts,
            last_error: record.last_error,
            run_at: record.run_at,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListJobsQuery {
    /// Only jobs in this state.
    #[garde(skip)]
    pub state: Option<JobStateDto>,
    /// Only jobs of this type (`user:registered`, `cron:purge_expired`).
    #[serde(rename = "type")]
    #[garde(inner(length(chars, min = 1, max = 100), custom(printable)))]
    #[param(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$",
        min_length = 1,
        max_length = 100,
        rename = "type"
    )]
    pub job_type: Option<String>,
    /// 1..100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// >= 0; gives `total`. Exclusive with `cursor`.
    #[garde(inner(range(min = 0)))]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// `nextCursor` of the previous page.
    #[garde(inner(length(max = 2048)))]
    #[param(max_length = 2048, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}
