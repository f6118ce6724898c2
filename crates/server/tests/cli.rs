//! The binary as an operator uses it: commands, exit codes, configuration errors, and a real
//! SIGTERM during a request.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{SECRET, Served, aios, free_port, text, unique_email, wait_until_live};

#[test]
fn a_bad_port_stops_the_server_with_a_message_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = aios(dir.path()).env("PORT", "eighty").output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let message = text(&output);
    assert!(message.contains("PORT"), "{message}");
    assert!(message.contains("eighty"), "{message}");
}

#[test]
fn production_refuses_to_start_without_a_long_jwt_secret() {
    let dir = tempfile::tempdir().unwrap();
    let output = aios(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", "too-short")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("JWT_SECRET"), "{}", text(&output));
}

#[test]
fn production_refuses_to_start_with_a_guessable_jwt_secret() {
    let dir = tempfile::tempdir().unwrap();
    for weak in ["x".repeat(40), "password".repeat(5)] {
        let output = aios(dir.path())
            .env("APP_ENV", "production")
            .env("JWT_SECRET", &weak)
            .env("METRICS_TOKEN", "scrape-token")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        let message = text(&output);
        assert!(
            message.contains("JWT_SECRET") && message.contains("guessable"),
            "{message}"
        );
    }
}

#[test]
fn production_refuses_to_start_without_a_chosen_mail_transport() {
    let dir = tempfile::tempdir().unwrap();
    let output = aios(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", SECRET)
        .env("METRICS_TOKEN", "scrape-token")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let message = text(&output);
    assert!(
        message.contains("MAIL_TRANSPORT") && message.contains("smtp or sendgrid"),
        "{message}"
    );
}

#[test]
fn help_describes_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let help = text(&aios(dir.path()).arg("--help").output().unwrap());
    for command in ["serve", "worker", "migrate", "db", "admin", "push"] {
        assert!(help.contains(command), "{command} in {help}");
    }
    let db = text(&aios(dir.path()).args(["db", "--help"]).output().unwrap());
    for command in ["check", "reset", "seed"] {
        assert!(db.contains(command), "{command} in {db}");
    }
    let admin = text(&aios(dir.path()).args(["admin", "--help"]).output().unwrap());
    for command in ["create", "promote"] {
        assert!(admin.contains(command), "{command} in {admin}");
    }
    let admin = text(
        &aios(dir.path())
            .args(["admin", "create", "--help"])
            .output()
            .unwrap(),
    );
    assert!(
        admin.contains("stdin") || admin.contains("standard input"),
        "{admin}"
    );
}

#[test]
fn db_check_reports_pending_migrations_until_migrate_applies_them() {
    let dir = tempfile::tempdir().unwrap();
    let before = aios(dir.path()).args(["db", "check"]).output().unwrap();
    assert_eq!(before.status.code(), Some(1), "{}", text(&before));
    assert!(text(&before).contains("pending"), "{}", text(&before));
    let migrate = aios(dir.path()).arg("migrate").output().unwrap();
    assert!(migrate.status.success(), "{}", text(&migrate));
    let after = aios(dir.path()).args(["db", "check"]).output().unwrap();
    assert!(after.status.success(), "{}", text(&after));
    assert!(text(&after).contains("up to date"), "{}", text(&after));
}

#[test]
fn db_reset_is_refused_in_production_and_needs_confirmation_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let production = aios(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", SECRET)
        .env("METRICS_TOKEN", "scrape-token")
        .env("MAIL_TRANSPORT", "log")
        .args(["db", "reset", "--yes"])
        .output()
        .unwrap();
    assert_eq!(production.status.code(), Some(1), "{}", text(&production));
    assert!(
        text(&production).contains("refused when APP_ENV=production"),
        "{}",
        text(&production)
    );
    let unconfirmed = aios(dir.path())
        .args(["db", "reset"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!unconfirmed.status.success(), "{}", text(&unconfirmed));
    let confirmed = aios(dir.path())
        .args(["db", "reset", "--yes"])
        .output()
        .unwrap();
    assert!(confirmed.status.success(), "{}", text(&confirmed));
}

fn admin_create(dir: &std::path::Path, email: &str, password: &str) -> Output {
    let mut child = aios(dir)
        .args(["admin", "create", email])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn admin_create_reads_the_password_from_stdin_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let created = admin_create(dir.path(), "root@example.com", "a long admin passphrase");
    assert!(created.status.success(), "{}", text(&created));
    assert!(text(&created).contains("root@example.com"));
    let again = admin_create(dir.path(), "root@example.com", "a long admin passphrase");
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let weak = admin_create(dir.path(), "other@example.com", "password");
    assert_eq!(weak.status.code(), Some(1));
    assert!(text(&weak).contains("password"), "{}", text(&weak));
}

fn admin_promote(dir: &std::path::Path, email: &str) -> Output {
    aios(dir)
        .env("LOG_LEVEL", "info")
        .args(["admin", "promote", email])
        .output()
        .unwrap()
}

#[test]
fn admin_promote_makes_an_existing_account_an_admin_and_refuses_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(&mut aios(dir.path()));
    let email = unique_email("promoted");
    let access = server.register(&email);
    let before = server.call("GET", "/api/users", Some(&access), None);
    assert_eq!(before.status, 403, "{}", before.text);

    let promoted = admin_promote(dir.path(), &email.to_uppercase());
    assert!(promoted.status.success(), "{}", text(&promoted));
    let output = text(&promoted);
    assert!(output.contains(&email), "{output}");
    assert!(
        output.contains("admin.promoted"),
        "an audit event: {output}"
    );
    let login = server.login(&email);
    assert_eq!(login.json["user"]["role"], "admin", "{}", login.text);
    let token = login.json["accessToken"].as_str().unwrap();
    let after = server.call("GET", "/api/users", Some(token), None);
    assert_eq!(after.status, 200, "{}", after.text);

    let again = admin_promote(dir.path(), &email);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("already"), "{}", text(&again));
    let unknown = admin_promote(dir.path(), "nobody@example.com");
    assert_eq!(unknown.status.code(), Some(1), "{}", text(&unknown));
    assert!(text(&unknown).contains("no account"), "{}", text(&unknown));
    let bad = admin_promote(dir.path(), "not-an-email");
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
}

#[test]
fn a_restart_never_makes_a_self_registered_admin_email_account_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let email = unique_email("admin");
    // The operator's admin moved away from ADMIN_EMAIL; a stranger registers it.
    let before = Served::start(&mut aios(dir.path()));
    let stolen = before.register(&email);
    before.stop();
    let after = Served::start(
        aios(dir.path())
            .env("ADMIN_EMAIL", &email)
            .env("ADMIN_PASSWORD", "the operator's admin passphrase"),
    );
    let login = after.login(&email);
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.json["user"]["role"], "user", "{}", login.text);
    for token in [stolen.as_str(), login.json["accessToken"].as_str().unwrap()] {
        let users = after.call("GET", "/api/users", Some(token), None);
        assert_eq!(users.status, 403, "{}", users.text);
    }
    assert!(
        after.log().contains("ADMIN_EMAIL"),
        "a warning: {}",
        after.log()
    );
}

#[test]
fn db_seed_adds_the_demo_account_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = aios(dir.path()).args(["db", "seed"]).output().unwrap();
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("demo@example.com"));
    let second = aios(dir.path()).args(["db", "seed"]).output().unwrap();
    assert!(second.status.success());
    assert!(
        text(&second).contains("nothing to seed"),
        "{}",
        text(&second)
    );
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = aios(dir.path())
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_live(port, &mut child);

    // A login whose body arrives slowly: in flight when the signal comes.
    let body = r#"{"email":"nobody@example.com","password":"not the password"}"#;
    let (first, rest) = body.split_at(10);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still finishing the request"
    );
    let refused = TcpStream::connect(("127.0.0.1", port));
    assert!(refused.is_err(), "no new connections once stopping");

    stream.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("INVALID_CREDENTIALS"), "{response}");

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn production_refuses_to_start_with_metrics_open_to_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = aios(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", SECRET)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(15) {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("the server started with neither METRICS_TOKEN nor METRICS_ADDR");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("METRICS_TOKEN"), "{}", text(&output));
}

#[test]
fn push_vapid_keys_prints_a_fresh_pair_that_push_test_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let pair = || {
        // A broken configuration does not stop key generation: it comes before any.
        let output = aios(dir.path())
            .env("PORT", "eighty")
            .args(["push", "vapid-keys"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
        let stdout = String::from_utf8(output.stdout).unwrap();
        let value = |var: &str| {
            let prefix = format!("{var}=");
            let line = stdout.lines().find_map(|line| line.strip_prefix(&prefix));
            line.unwrap_or_else(|| panic!("{var} in {stdout}"))
                .to_owned()
        };
        (value("VAPID_PUBLIC_KEY"), value("VAPID_PRIVATE_KEY"))
    };
    let (public, private) = pair();
    assert_eq!((public.len(), private.len()), (87, 43), "65 and 32 bytes");
    assert_ne!(pair().1, private, "each run makes a new key");

    let push_test = |args: &[&str]| {
        let mut command = aios(dir.path());
        command
            .env("VAPID_PUBLIC_KEY", &public)
            .env("VAPID_PRIVATE_KEY", &private);
        command.env("VAPID_SUBJECT", "mailto:ops@example.com");
        let output = command.args(["push", "test"]).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        text(&output)
    };
    let said = push_test(&["--fcm-token", "fcm-device:APA91b-x"]);
    assert!(
        said.contains("fcm is not configured"),
        "keys accepted: {said}"
    );
    assert!(!said.contains(&private), "the private key is never echoed");
    let file = dir.path().join("subscription.json");
    std::fs::write(
        &file,
        r#"{"endpoint": "http://push.example.com/x", "keys": {}}"#,
    )
    .unwrap();
    let said = push_test(&["--subscription", file.to_str().unwrap()]);
    assert!(said.contains("device token is not valid"), "{said}");
}
