//! `/health`, `/health/live` and `/health/ready`, on whichever database the suite runs on.

use crate::helpers::TestApp;

#[tokio::test]
async fn health_reports_a_connected_database() {
    let app = TestApp::spawn().await;
    let response = app.get("/health").send().await;
    response.assert_status(200);
    let body = &response.json;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "connected");
    let expected_redis = if app.state.config.redis_url.is_some() {
        "connected"
    } else {
        "disabled"
    };
    assert_eq!(body["redis"], expected_redis);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    let timestamp = body["timestamp"].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(),
        "{timestamp}"
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn health_runs_on_the_embedded_database_too() {
    let app = TestApp::builder().embedded().spawn().await;
    assert!(!app.is_postgres());
    let response = app.get("/health").send().await;
    response.assert_status(200);
    assert_eq!(response.json["database"], "connected");
    assert_eq!(response.json["redis"], "disabled");
}

#[tokio::test]
async fn liveness_and_readiness_answer_ok() {
    let app = TestApp::spawn().await;
    let live = app.get("/health/live").send().await;
    live.assert_status(200);
    assert_eq!(live.json["status"], "ok");
    let ready = app.get("/health/ready").send().await;
    ready.assert_status(200);
    assert_eq!(ready.json["status"], "ok");
    assert_eq!(ready.json["database"], "connected");
    assert_eq!(ready.json["migrations"], "applied");
}

#[tokio::test]
async fn data_survives_a_restart_of_the_embedded_database() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().display().to_string();
    let mut first = TestApp::builder()
        .embedded()
        .env("DATA_DIR", &data_dir)
        .spawn()
        .await;
    let user = first.register().await;
    first.stop().await.expect("clean stop");
    drop(first);

    let second = TestApp::builder()
        .embedded()
        .env("DATA_DIR", &data_dir)
        .spawn()
        .await;
    let response = second.login(&user.email, &user.password).await;
    response.assert_status(200);
    assert!(dir.path().join("aios.db").exists());
}
