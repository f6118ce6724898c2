//! The SMTP transport (lettre) against aiosmtpd, a real SMTP server started by each test: MIME
//! structure, STARTTLS and implicit TLS with a private CA, and how each failure is sorted.

use std::time::{Duration, Instant};

use aios_app::platform::mail::smtp::{SmtpMailer, SmtpOptions, SmtpUrl};
use aios_app::platform::mail::{Mailbox, Mailer, Message};
use serde_json::json;

use crate::helpers::certs;
use crate::helpers::smtp_peer::{PeerOptions, SmtpPeer, closed_port, header, part};

/// A non-ASCII subject and name, and both parts, to exercise the MIME encoding.
fn message(to: &str) -> Message {
    Message::new(
        Mailbox::new(Some("Acme Accounts"), "no-reply@acme.example").unwrap(),
        Mailbox::new(Some("Zoë Test"), to).unwrap(),
        "Confirm your address — Zoë",
        "Hello Zoë,\nopen https://app.acme.example/verify-email?token=abc\n",
        "<p>Hello Zoë,</p><p><a href=\"https://app.acme.example/verify-email?token=abc\">Confirm</a></p>",
    )
    .unwrap()
}

fn options() -> SmtpOptions {
    SmtpOptions {
        connect_timeout: Duration::from_secs(2),
        send_timeout: Duration::from_secs(5),
        ..SmtpOptions::default()
    }
}

fn mailer(url: &str, options: SmtpOptions) -> SmtpMailer {
    SmtpMailer::new(&SmtpUrl::parse(url).unwrap(), options).unwrap()
}

fn plain(peer: &SmtpPeer) -> SmtpMailer {
    mailer(&peer.plain_url(), options())
}

fn with_ca(pki: &certs::TestPki) -> SmtpOptions {
    SmtpOptions {
        extra_root_pem: Some(pki.ca_pem.clone()),
        ..options()
    }
}

/// What every delivered test message looks like, whatever protects the connection.
fn assert_delivered(m: &serde_json::Value, to: &str) {
    let sent = message(to);
    assert_eq!(m["mail_from"], "no-reply@acme.example");
    assert_eq!(m["rcpt_tos"], json!([to]));
    assert_eq!(header(m, "From"), "Acme Accounts <no-reply@acme.example>");
    assert_eq!(header(m, "To"), format!("Zoë Test <{to}>"));
    // Python decodes the RFC 2047 encoded-word back to the original subject.
    assert_eq!(header(m, "Subject"), "Confirm your address — Zoë");
    assert_eq!(header(m, "MIME-Version"), "1.0");
    assert!(!header(m, "Date").is_empty());
    assert!(header(m, "Message-ID").starts_with('<'));
    assert_eq!(m["content_type"], "multipart/alternative");
    let charsets: Vec<_> = m["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["content_type"].clone(), p["charset"].clone()))
        .collect();
    assert_eq!(
        charsets,
        [
            (json!("text/plain"), json!("utf-8")),
            (json!("text/html"), json!("utf-8"))
        ]
    );
    // The bodies survive the transfer encoding byte for byte.
    assert_eq!(part(m, "text/plain"), sent.text());
    assert_eq!(part(m, "text/html").trim_end(), sent.html());
}

#[tokio::test]
async fn plaintext_on_loopback_delivers_the_headers_and_both_mime_parts() {
    let Some(peer) = SmtpPeer::start(PeerOptions::default()).await else {
        return;
    };
    plain(&peer)
        .send(&message("zoe@example.com"))
        .await
        .unwrap();
    let [m] = peer.messages().try_into().unwrap();
    assert_delivered(&m, "zoe@example.com");
    assert_eq!(m["tls"], false);
    // Non-ASCII header words go out as RFC 2047 encoded-words, never as raw UTF-8.
    let raw = peer.raw(1);
    let subject = raw.lines().find(|l| l.starts_with("Subject: ")).unwrap();
    assert!(
        subject.contains("=?utf-8?b?") && subject.is_ascii(),
        "{subject}"
    );
    assert!(
        raw.is_ascii(),
        "8-bit data sent without SMTPUTF8 or 8BITMIME"
    );
}

#[tokio::test]
async fn starttls_with_auth_and_a_private_ca_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let pki = certs::make(dir.path());
    let Some(peer) = SmtpPeer::start(PeerOptions {
        tls: Some(("starttls", pki.cert_path.clone(), pki.key_path.clone())),
        auth: Some("mailer:s3cr%t"),
        ..PeerOptions::default()
    })
    .await
    else {
        return;
    };
    // `%` in the password is percent-encoded; no `tls=` means STARTTLS required.
    let url = format!("smtp://mailer:s3cr%25t@localhost:{}", peer.port);
    let mailer = mailer(&url, with_ca(&pki));
    mailer.check_connection().await.unwrap();
    mailer.send(&message("zoe@example.com")).await.unwrap();
    let [m] = peer.messages().try_into().unwrap();
    assert_delivered(&m, "zoe@example.com");
    assert_eq!(
        (m["tls"].as_bool(), m["auth_user"].as_str()),
        (Some(true), Some("mailer"))
    );
}

#[tokio::test]
async fn implicit_tls_smtps_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let pki = certs::make(dir.path());
    let Some(peer) = SmtpPeer::start(PeerOptions {
        tls: Some(("implicit", pki.cert_path.clone(), pki.key_path.clone())),
        auth: Some("mailer:pw"),
        ..PeerOptions::default()
    })
    .await
    else {
        return;
    };
    let url = format!("smtps://mailer:pw@localhost:{}", peer.port);
    mailer(&url, with_ca(&pki))
        .send(&message("zoe@example.com"))
        .await
        .unwrap();
    let [m] = peer.messages().try_into().unwrap();
    assert_delivered(&m, "zoe@example.com");
    assert_eq!(m["tls"], true);
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_as_transient() {
    let dir = tempfile::tempdir().unwrap();
    let pki = certs::make(dir.path());
    let Some(peer) = SmtpPeer::start(PeerOptions {
        tls: Some(("implicit", pki.cert_path.clone(), pki.key_path.clone())),
        ..PeerOptions::default()
    })
    .await
    else {
        return;
    };
    // The same server, but its CA is not trusted: the handshake fails and nothing is sent.
    let url = format!("smtps://localhost:{}", peer.port);
    let e = mailer(&url, options())
        .send(&message("zoe@example.com"))
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(peer.messages().is_empty());
}

#[tokio::test]
async fn required_starttls_never_falls_back_to_plaintext() {
    let Some(peer) = SmtpPeer::start(PeerOptions::default()).await else {
        return; // the peer offers no STARTTLS
    };
    let url = format!("smtp://localhost:{}", peer.port);
    let e = mailer(&url, options())
        .send(&message("zoe@example.com"))
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(
        peer.messages().is_empty(),
        "the message went out in plaintext"
    );
}

#[tokio::test]
async fn a_rejected_recipient_5xx_is_permanent_and_the_next_send_still_works() {
    let Some(peer) = SmtpPeer::start(PeerOptions {
        reject_5xx: Some("nobody"),
        ..PeerOptions::default()
    })
    .await
    else {
        return;
    };
    let mailer = plain(&peer);
    let e = mailer
        .send(&message("nobody@example.com"))
        .await
        .unwrap_err();
    assert!(e.is_permanent(), "{e}");
    assert_eq!(e.code(), Some(550));
    assert!(e.to_string().contains("User unknown"), "{e}");
    // The 5xx aborted the pooled connection: the next send opens a fresh one.
    mailer.send(&message("zoe@example.com")).await.unwrap();
    assert_eq!(peer.messages().len(), 1);
}

#[tokio::test]
async fn a_deferred_recipient_4xx_is_transient() {
    let Some(peer) = SmtpPeer::start(PeerOptions {
        reject_4xx: Some("busy"),
        ..PeerOptions::default()
    })
    .await
    else {
        return;
    };
    let e = plain(&peer)
        .send(&message("busy@example.com"))
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.code(), Some(451));
}

#[tokio::test]
async fn refused_credentials_535_are_transient() {
    let dir = tempfile::tempdir().unwrap();
    let pki = certs::make(dir.path());
    let Some(peer) = SmtpPeer::start(PeerOptions {
        tls: Some(("starttls", pki.cert_path.clone(), pki.key_path.clone())),
        auth: Some("mailer:right"),
        ..PeerOptions::default()
    })
    .await
    else {
        return;
    };
    let url = format!("smtp://mailer:wrong@localhost:{}", peer.port);
    let e = mailer(&url, with_ca(&pki))
        .send(&message("zoe@example.com"))
        .await
        .unwrap_err();
    // Our configuration, not the message: it waits for the fix (see README, "Email").
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.code(), Some(535));
    assert!(e.to_string().contains("SMTP_URL"), "{e}");
    assert!(!e.to_string().contains("wrong"), "the password leaked: {e}");
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let url = format!("smtp://127.0.0.1:{}?tls=none", closed_port());
    let e = mailer(&url, options())
        .send(&message("zoe@example.com"))
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.code(), None);
}

#[tokio::test]
async fn a_silent_server_meets_the_send_timeout_as_transient() {
    // Accepts TCP and never sends the 220 greeting: only the send timeout ends this.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let options = SmtpOptions {
        send_timeout: Duration::from_millis(500),
        ..options()
    };
    let mailer = mailer(&format!("smtp://127.0.0.1:{port}?tls=none"), options);
    let started = Instant::now();
    let e = mailer.send(&message("zoe@example.com")).await.unwrap_err();
    assert!(
        e.is_transient() && e.to_string().contains("timed out"),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn the_pool_reuses_one_connection_for_sequential_sends() {
    let Some(peer) = SmtpPeer::start(PeerOptions::default()).await else {
        return;
    };
    let mailer = plain(&peer);
    for n in 0..3 {
        mailer
            .send(&message(&format!("user{n}@example.com")))
            .await
            .unwrap();
        // lettre returns the connection to the pool from a spawned task: let it run.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(peer.messages().len(), 3);
    assert_eq!(peer.connections(), 1);
}
