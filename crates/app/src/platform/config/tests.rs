//! What the configuration accepts and refuses, variable by variable.

use super::*;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn issues(pairs: &[(&str, &str)]) -> Vec<ConfigIssue> {
    match Config::from_vars(vars(pairs)) {
        Ok(_) => Vec::new(),
        Err(ConfigError(issues)) => issues,
    }
}

#[test]
fn defaults_need_no_variables() {
    let config = Config::from_vars(vars(&[])).ok();
    let config = config.as_ref();
    assert_eq!(config.map(|c| c.port), Some(3000));
    assert_eq!(config.map(|c| c.app_env), Some(AppEnv::Development));
    assert_eq!(config.map(|c| c.database.url.is_none()), Some(true));
    assert_eq!(
        config.map(|c| c.auth.access_token_ttl),
        Some(Duration::from_secs(900))
    );
}

#[test]
fn a_bad_port_names_the_variable() {
    let found = issues(&[("PORT", "eighty")]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].var, "PORT");
    assert!(found[0].message.contains("eighty"), "{:?}", found[0]);
    assert_eq!(issues(&[("PORT", "70000")])[0].var, "PORT");
}

#[test]
fn production_requires_a_long_jwt_secret() {
    let found = issues(&[
        ("APP_ENV", "production"),
        ("METRICS_TOKEN", "t"),
        ("MAIL_TRANSPORT", "log"),
    ]);
    assert_eq!(
        found.iter().map(|i| i.var).collect::<Vec<_>>(),
        ["JWT_SECRET"]
    );
    let found = issues(&[
        ("NODE_ENV", "production"),
        ("JWT_SECRET", "short"),
        ("METRICS_TOKEN", "t"),
        ("MAIL_TRANSPORT", "log"),
    ]);
    assert_eq!(
        found.iter().map(|i| i.var).collect::<Vec<_>>(),
        ["JWT_SECRET"]
    );
    let random = "Zq3v8KpL2mXw9RtB4nYc7HsD1fGj6UeA0oIkPbNzQrVy";
    let (metrics, mail) = (("METRICS_TOKEN", "t"), ("MAIL_TRANSPORT", "log"));
    let production = ("APP_ENV", "production");
    assert!(issues(&[production, ("JWT_SECRET", random), metrics, mail]).is_empty());
}

#[test]
fn production_refuses_guessable_jwt_secrets() {
    for weak in [
        "x".repeat(40),
        "password".repeat(5),
        "sunshinedragonfootballprincessmonkey".to_owned(),
    ] {
        let found = issues(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", &weak),
            ("METRICS_TOKEN", "t"),
            ("MAIL_TRANSPORT", "log"),
        ]);
        assert_eq!(found.len(), 1, "{weak}: {found:?}");
        assert_eq!(found[0].var, "JWT_SECRET");
        assert!(found[0].message.contains("guessable"), "{found:?}");
        // Development keeps accepting them: only production signs real users' tokens.
        assert!(issues(&[("JWT_SECRET", &weak)]).is_empty());
    }
    let hex = "9f86d081884c7d659a2feaa0c55ad015";
    assert!(
        issues(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", hex),
            ("METRICS_TOKEN", "t"),
            ("MAIL_TRANSPORT", "log"),
        ])
        .is_empty()
    );
}

#[test]
fn durations_accept_units_and_seconds() {
    let config = Config::from_vars(vars(&[
        ("JWT_EXPIRES_IN", "5m"),
        ("REFRESH_TOKEN_EXPIRES_IN", "7d"),
    ]))
    .ok();
    let auth = config.as_ref().map(|c| &c.auth);
    assert_eq!(
        auth.map(|a| a.access_token_ttl),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        auth.map(|a| a.refresh_token_ttl),
        Some(Duration::from_secs(7 * 86_400))
    );
    assert_eq!(
        issues(&[("JWT_EXPIRES_IN", "soon")])[0].var,
        "JWT_EXPIRES_IN"
    );
}

#[test]
fn every_bad_variable_is_reported_at_once() {
    let found = issues(&[
        ("PORT", "x"),
        ("DATABASE_URL", "mysql://db"),
        ("LOG_FORMAT", "xml"),
        ("CORS_ORIGINS", "not a url"),
    ]);
    let names: Vec<_> = found.iter().map(|i| i.var).collect();
    assert_eq!(
        names,
        ["PORT", "DATABASE_URL", "CORS_ORIGINS", "LOG_FORMAT"]
    );
}

#[test]
fn admin_bootstrap_needs_both_variables() {
    assert_eq!(
        issues(&[("ADMIN_EMAIL", "a@b.co")])[0].var,
        "ADMIN_PASSWORD"
    );
}
