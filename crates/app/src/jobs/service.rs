//! The jobs admin API's rules: listing newest first, one job, retrying a failed or dead one,
//! discarding one that is not running.

use serde::{Deserialize, Serialize};

use super::dto::{JobDetailDto, JobDto, ListJobsQuery};
use super::error::JobsError;
use crate::platform::jobs::store::JobFilter;
use crate::platform::pagination::{Page, PageRequest, PageStart};
use crate::state::AppState;

/// A cursor remembers the filter it was made for, and the last id shown.
#[derive(Serialize, Deserialize)]
struct JobCursor {
    state: Option<String>,
    job_type: Option<String>,
    before: String,
}

pub async fn list(app: &AppState, query: ListJobsQuery) -> Result<Page<JobDto>, JobsError> {
    let state = query
        .state
        .map(crate::platform::jobs::store::JobState::from);
    let state_name = state.map(|s| s.as_str().to_owned());
    let page = PageRequest::new(query.limit, query.offset, query.cursor.as_deref(), |raw| {
        app.cursors
            .decode::<JobCursor>(raw)
            .filter(|c| c.state == state_name && c.job_type == query.job_type)
    })?;
    let mut filter = JobFilter {
        state,
        queue: query.job_type.clone(),
        limit: page.limit + 1,
        ..JobFilter::default()
    };
    match &page.start {
        PageStart::Offset(offset) => filter.offset = *offset,
        PageStart::After(cursor) => filter.before = Some(cursor.before.clone()),
    }
    let rows = app.jobs.list(&filter).await?;
    let total = match page.start {
        PageStart::Offset(_) => Some(app.jobs.count(&filter).await?),
        PageStart::After(_) => None,
    };
    Ok(page.finish(
        rows,
        total,
        |last| {
            app.cursors.encode(&JobCursor {
                state: state_name.clone(),
                job_type: query.job_type.clone(),
                before: last.id.clone(),
            })
        },
        JobDto::from,
    ))
}

pub async fn get(app: &AppState, id: &str) -> Result<JobDetailDto, JobsError> {
    app.jobs
        .get(id)
        .await?
        .map(JobDetailDto::from)
        .ok_or(JobsError::NotFound)
}

pub async fn retry(app: &AppState, id: &str) -> Result<(), JobsError> {
    if app.jobs.requeue(id).await? {
        crate::audit!("job.retried", job_id = %id);
        return Ok(());
    }
    match app.jobs.get(id).await? {
        None => Err(JobsError::NotFound),
        Some(_) => Err(JobsError::InvalidState(
            "only a failed or dead job can be retried",
        )),
    }
}

pub async fn delete(app: &AppState, id: &str) -> Result<(), JobsError> {
    if app.jobs.delete(id).await? {
        crate::audit!("job.deleted", job_id = %id);
        return Ok(());
    }
    match app.jobs.get(id).await? {
        None => Err(JobsError::NotFound),
        Some(_) => Err(JobsError::InvalidState("a running job cannot be deleted")),
    }
}
