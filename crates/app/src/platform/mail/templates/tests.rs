#![expect(clippy::unwrap_used, reason = "a failing test panics")]

use std::time::Duration;

use minijinja::context;

use super::*;

fn templates(app_url: &str) -> Templates {
    Templates::new(app_url, "Acme").unwrap()
}

const DAY: Duration = Duration::from_secs(24 * 3600);

fn verification(t: &Templates, name: Option<&str>, token: &str) -> Rendered {
    let link = t.link("verify-email", token);
    t.render(
        "verify_email",
        context! { recipient_name => name, link, lifetime => human_duration(DAY) },
    )
    .unwrap()
}

#[test]
fn every_part_has_the_link_the_lifetime_and_the_product() {
    let r = verification(
        &templates("https://app.acme.example"),
        Some("Ada"),
        "tok_123",
    );
    assert_eq!(r.subject, "Confirm your email address for Acme");
    let link = "https://app.acme.example/verify-email?token=tok_123";
    for part in [&r.text, &r.html] {
        assert!(part.contains(link), "{part}");
        assert!(part.contains("expires in 24 hours"), "{part}");
        assert!(part.contains("Hi Ada,"), "{part}");
        assert!(part.contains("— Acme"), "{part}");
    }
    assert!(r.html.contains(&format!(r#"<a href="{link}""#)));
}

#[test]
fn a_hostile_name_is_escaped_in_html_only() {
    let name = r#"<script>alert("x")</script>"#;
    let r = verification(&templates("https://app.acme.example"), Some(name), "t");
    assert!(!r.html.contains("<script>"), "{}", r.html);
    assert!(
        r.html
            .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
        "{}",
        r.html
    );
    // text/plain is never read as markup: escaping it would show "&lt;" to the reader.
    assert!(r.text.contains(name));
}

#[test]
fn the_token_is_encoded_and_a_path_prefix_kept() {
    let t = templates("https://acme.example/app/");
    assert_eq!(
        t.link("reset-password", "a b&c=d/é"),
        "https://acme.example/app/reset-password?token=a+b%26c%3Dd%2F%C3%A9"
    );
    let r = verification(&templates("https://acme.example/app"), None, "a&b");
    let link = "https://acme.example/app/verify-email?token=a%26b";
    assert!(r.text.contains(link), "{}", r.text);
    // The link has no character that HTML escaping changes: it is the same in the HTML part.
    assert!(r.html.contains(&format!(r#"href="{link}""#)), "{}", r.html);
    assert!(r.text.starts_with("Hi,"), "{}", r.text);
}

#[test]
fn a_missing_value_is_an_error_not_an_empty_string() {
    let t = templates("https://app.acme.example");
    let missing = t.render("verify_email", context! { recipient_name => "Ada" });
    assert!(missing.is_err());
    assert!(t.render("no_such_email", context! {}).is_err());
}

#[test]
fn bad_app_urls_are_refused() {
    for bad in [
        "not a url",
        "mailto:x@example.com",
        "ftp://a.example",
        "https://a.example/?x=1",
        "https://a.example/#f",
    ] {
        assert!(parse_app_url(bad).is_err(), "{bad}");
    }
    assert!(parse_app_url("http://localhost:3000").is_ok());
}

#[test]
fn rendered_into_message_keeps_all_parts() {
    let r = verification(&templates("https://app.acme.example"), None, "t");
    let from = Mailbox::new(Some("Acme"), "no-reply@acme.example").unwrap();
    let to = Mailbox::new(None, "ada@example.com").unwrap();
    let m = r.clone().into_message(from, to).unwrap();
    assert_eq!(
        (m.subject(), m.text(), m.html()),
        (r.subject.as_str(), r.text.as_str(), r.html.as_str())
    );
}
