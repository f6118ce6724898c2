//! The job engine through the application: events raised in transactions, retries with backoff,
//! dead jobs and the admin API over them, job types that do not hold each other up.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aios_app::platform::db;
use aios_app::platform::jobs::error::JobError;
use aios_app::platform::jobs::event::{Delivery, Event, EventHandler};
use aios_app::platform::jobs::outbox;
use aios_app::platform::jobs::spec::JobSpec;
use aios_app::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::helpers::{TestApp, TestResponse};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Probe {
    label: String,
}

impl Event for Probe {
    const NAME: &'static str = "test:probe";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SlowProbe {
    label: String,
}

impl Event for SlowProbe {
    const NAME: &'static str = "test:slow";
}

/// What a handler does on each attempt, and what it saw.
#[derive(Clone, Default)]
struct Script {
    runs: Arc<Mutex<Vec<(String, i32, Instant)>>>,
    /// Attempts fail while this is set (1: retryable, 2: permanent, 3: deferred).
    failing: Arc<AtomicU32>,
    /// How many more attempts to defer, when deferring.
    defers: Arc<AtomicU32>,
}

impl Script {
    fn runs(&self) -> Vec<(String, i32, Instant)> {
        self.runs.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn labels(&self) -> Vec<String> {
        self.runs().into_iter().map(|(label, _, _)| label).collect()
    }

    fn outcome(&self) -> Result<(), JobError> {
        match self.failing.load(Ordering::SeqCst) {
            1 => Err(JobError::retry("boom")),
            2 => Err(JobError::Permanent("refused for good".into())),
            3 if self.defers.fetch_sub(1, Ordering::SeqCst) > 0 => Err(JobError::Defer {
                after: Duration::from_millis(500),
                reason: "provider down".into(),
            }),
            _ => Ok(()),
        }
    }
}

struct Recorder {
    script: Script,
    spec: JobSpec,
    sleep: Duration,
}

#[async_trait::async_trait]
impl EventHandler<Probe> for Recorder {
    async fn handle(&self, _: &AppState, event: Probe, delivery: Delivery) -> Result<(), JobError> {
        self.record(event.label, delivery).await
    }

    fn spec(&self) -> JobSpec {
        self.spec
    }
}

#[async_trait::async_trait]
impl EventHandler<SlowProbe> for Recorder {
    async fn handle(
        &self,
        _: &AppState,
        event: SlowProbe,
        delivery: Delivery,
    ) -> Result<(), JobError> {
        self.record(event.label, delivery).await
    }

    fn spec(&self) -> JobSpec {
        self.spec
    }
}

impl Recorder {
    async fn record(&self, label: String, delivery: Delivery) -> Result<(), JobError> {
        if let Ok(mut runs) = self.script.runs.lock() {
            runs.push((label, delivery.attempt, Instant::now()));
        }
        tokio::time::sleep(self.sleep).await;
        self.script.outcome()
    }
}

fn quick_spec(max_attempts: u32) -> JobSpec {
    JobSpec {
        concurrency: 2,
        timeout: Duration::from_secs(10),
        max_attempts,
        backoff_base: Duration::from_millis(600),
        backoff_max: Duration::from_secs(2),
        lease: None,
    }
}

async fn spawn_with(script: &Script, spec: JobSpec) -> TestApp {
    let script = script.clone();
    TestApp::builder()
        .jobs(move |mut jobs| {
            jobs.handlers = jobs.handlers.on::<Probe>(Recorder {
                script,
                spec,
                sleep: Duration::ZERO,
            });
            jobs
        })
        .spawn()
        .await
}

async fn raise<E: Event>(app: &TestApp, event: &E) {
    let txn = db::begin_write(&app.state.db).await.unwrap();
    outbox::enqueue(&txn, event).await.unwrap();
    txn.commit().await.unwrap();
    app.state.wake_outbox_relay();
}

/// Up to 30 s: generous, because the suite shares two cores with builds and other tests.
async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn jobs_of(app: &TestApp, admin: &str, query: &str) -> TestResponse {
    let response = app
        .get(&format!("/api/admin/jobs?{query}"))
        .bearer(admin)
        .send()
        .await;
    response.assert_status(200);
    response
}

#[tokio::test]
async fn an_event_raised_in_a_rolled_back_transaction_is_never_delivered() {
    let script = Script::default();
    let app = spawn_with(&script, quick_spec(3)).await;
    let txn = db::begin_write(&app.state.db).await.unwrap();
    outbox::enqueue(
        &txn,
        &Probe {
            label: "rolled back".into(),
        },
    )
    .await
    .unwrap();
    txn.rollback().await.unwrap();
    raise(
        &app,
        &Probe {
            label: "committed".into(),
        },
    )
    .await;
    wait_until("the committed event ran", async || {
        script.labels().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(script.labels(), ["committed"]);
    let admin = app.admin().await;
    let listed = jobs_of(&app, &admin.access, "type=test:probe").await;
    assert_eq!(listed.json["total"], 1, "{}", listed.text);
}

#[tokio::test]
async fn a_failing_job_retries_with_backoff_dies_and_runs_again_when_an_admin_retries_it() {
    let script = Script::default();
    script.failing.store(1, Ordering::SeqCst);
    let app = spawn_with(&script, quick_spec(3)).await;
    let admin = app.admin().await;
    raise(
        &app,
        &Probe {
            label: "flaky".into(),
        },
    )
    .await;
    let dead = async || {
        let listed = jobs_of(&app, &admin.access, "state=dead&type=test:probe").await;
        listed.json["total"] == 1
    };
    wait_until("the job is dead", dead).await;
    let runs = script.runs();
    assert_eq!(
        runs.iter()
            .map(|(_, attempt, _)| *attempt)
            .collect::<Vec<_>>(),
        [1, 2, 3],
        "three attempts, as its spec says"
    );
    // Each retry waited for its backoff instead of running again at once.
    for pair in runs.windows(2) {
        let gap = pair[1].2 - pair[0].2;
        assert!(
            gap >= Duration::from_millis(250),
            "a retry after only {gap:?}"
        );
    }
    let listed = jobs_of(&app, &admin.access, "state=dead&type=test:probe").await;
    let job = &listed.json["items"][0];
    assert_eq!(
        (job["attempts"].clone(), job["maxAttempts"].clone()),
        (3.into(), 3.into())
    );
    assert!(
        job["lastError"]
            .as_str()
            .unwrap_or_default()
            .contains("boom"),
        "{job}"
    );
    let id = job["id"].as_str().unwrap().to_owned();
    let detail = app
        .get(&format!("/api/admin/jobs/{id}"))
        .bearer(&admin.access)
        .send()
        .await;
    detail.assert_status(200);
    assert_eq!(detail.json["state"], "dead");
    assert_eq!(detail.json["payload"]["event"], "test:probe");
    assert!(
        detail.json["payload"]["eventId"].is_string(),
        "{}",
        detail.text
    );

    // Nobody but an administrator sees or touches jobs.
    let user = app.register().await;
    for (method, path) in [
        ("GET", "/api/admin/jobs".to_owned()),
        ("GET", format!("/api/admin/jobs/{id}")),
        ("POST", format!("/api/admin/jobs/{id}/retry")),
        ("DELETE", format!("/api/admin/jobs/{id}")),
    ] {
        let method = method.parse().unwrap();
        app.request(method, &path)
            .bearer(&user.access)
            .send()
            .await
            .assert_error(403, "FORBIDDEN");
    }

    // The provider is fixed; the admin retries; it runs to success with fresh attempts.
    script.failing.store(0, Ordering::SeqCst);
    app.post(&format!("/api/admin/jobs/{id}/retry"))
        .bearer(&admin.access)
        .send()
        .await
        .assert_status(202);
    let done = async || {
        jobs_of(&app, &admin.access, "state=done&type=test:probe")
            .await
            .json["total"]
            == 1
    };
    wait_until("the retried job is done", done).await;
    assert_eq!(script.runs().len(), 4);
    app.post(&format!("/api/admin/jobs/{id}/retry"))
        .bearer(&admin.access)
        .send()
        .await
        .assert_error(409, "INVALID_STATE");
    app.delete(&format!("/api/admin/jobs/{id}"))
        .bearer(&admin.access)
        .send()
        .await
        .assert_status(204);
    app.get(&format!("/api/admin/jobs/{id}"))
        .bearer(&admin.access)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.get("/api/admin/jobs/not-a-job-id")
        .bearer(&admin.access)
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_permanent_failure_is_dead_at_once_and_a_deferral_spends_no_attempt() {
    let permanent = Script::default();
    permanent.failing.store(2, Ordering::SeqCst);
    let app = spawn_with(&permanent, quick_spec(5)).await;
    let admin = app.admin().await;
    raise(
        &app,
        &Probe {
            label: "refused".into(),
        },
    )
    .await;
    let dead = async || jobs_of(&app, &admin.access, "state=dead").await.json["total"] == 1;
    wait_until("the job is dead", dead).await;
    assert_eq!(permanent.runs().len(), 1, "no retry of a permanent failure");

    // Deferred twice (the provider's circuit is open), then delivered: with a single attempt
    // allowed, it is done, not dead.
    let deferred = Script::default();
    deferred.failing.store(3, Ordering::SeqCst);
    deferred.defers.store(2, Ordering::SeqCst);
    let app = spawn_with(&deferred, quick_spec(1)).await;
    let admin = app.admin().await;
    raise(
        &app,
        &Probe {
            label: "waits".into(),
        },
    )
    .await;
    let done = async || {
        jobs_of(&app, &admin.access, "state=done&type=test:probe")
            .await
            .json["total"]
            == 1
    };
    wait_until("the deferred job is done", done).await;
    assert_eq!(deferred.runs().len(), 3);
}

#[tokio::test]
async fn a_slow_job_type_does_not_delay_another() {
    let slow = Script::default();
    let fast = Script::default();
    let (slow_handler, fast_handler) = (slow.clone(), fast.clone());
    let app = TestApp::builder()
        .jobs(move |mut jobs| {
            jobs.handlers = jobs
                .handlers
                .on::<SlowProbe>(Recorder {
                    script: slow_handler,
                    spec: JobSpec {
                        concurrency: 1,
                        ..quick_spec(1)
                    },
                    sleep: Duration::from_secs(3),
                })
                .on::<Probe>(Recorder {
                    script: fast_handler,
                    spec: quick_spec(1),
                    sleep: Duration::ZERO,
                });
            jobs
        })
        .spawn()
        .await;
    for n in 0..3 {
        raise(
            &app,
            &SlowProbe {
                label: format!("slow {n}"),
            },
        )
        .await;
    }
    wait_until("a slow job runs", async || !slow.runs().is_empty()).await;
    let raised = Instant::now();
    raise(
        &app,
        &Probe {
            label: "fast".into(),
        },
    )
    .await;
    wait_until("the fast job ran", async || fast.runs().len() == 1).await;
    let waited = raised.elapsed();
    assert!(
        waited < Duration::from_secs(2),
        "the fast job waited {waited:?}"
    );
    assert_eq!(slow.runs().len(), 1, "the slow ones still take their turns");
}

#[tokio::test]
async fn the_jobs_listing_pages_newest_first() {
    let script = Script::default();
    let app = spawn_with(&script, quick_spec(1)).await;
    let admin = app.admin().await;
    for n in 0..5 {
        raise(
            &app,
            &Probe {
                label: format!("p{n}"),
            },
        )
        .await;
    }
    wait_until("every job ran", async || script.runs().len() == 5).await;
    let first = jobs_of(&app, &admin.access, "type=test:probe&limit=2").await;
    assert_eq!(first.json["total"], 5);
    let ids: Vec<String> = first.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids[0] > ids[1], "newest first: {ids:?}");
    let cursor = first.json["nextCursor"].as_str().unwrap().to_owned();
    let next = jobs_of(
        &app,
        &admin.access,
        &format!("type=test:probe&limit=2&cursor={cursor}"),
    )
    .await;
    let next_first = next.json["items"][0]["id"].as_str().unwrap().to_owned();
    assert!(
        next_first < ids[1],
        "the next page follows: {next_first} after {ids:?}"
    );
    assert_eq!(next.json["total"], Value::Null);
    app.get("/api/admin/jobs?state=sleeping")
        .bearer(&admin.access)
        .send()
        .await
        .assert_error(400, "VALIDATION_FAILED");
}
