//! What the auth feature's emails say: the verification link and the password-reset link.
//! The lifetime in the text is the one the token is issued with (both come from the
//! configuration), so the copy cannot drift from the behaviour.

use std::time::Duration;

use minijinja::context;

use crate::platform::mail::templates::{Rendered, TemplateError, Templates, human_duration};

/// `{APP_URL}/verify-email?token=...`, valid for `lifetime`.
pub fn verification(
    templates: &Templates,
    recipient_name: Option<&str>,
    token: &str,
    lifetime: Duration,
) -> Result<Rendered, TemplateError> {
    let link = templates.link("verify-email", token);
    templates.render(
        "verify_email",
        context! { recipient_name, link, lifetime => human_duration(lifetime) },
    )
}

/// `{APP_URL}/reset-password?token=...`, valid for `lifetime`.
pub fn password_reset(
    templates: &Templates,
    recipient_name: Option<&str>,
    token: &str,
    lifetime: Duration,
) -> Result<Rendered, TemplateError> {
    let link = templates.link("reset-password", token);
    templates.render(
        "password_reset",
        context! { recipient_name, link, lifetime => human_duration(lifetime) },
    )
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;

    fn templates() -> Templates {
        Templates::new("https://app.acme.example", "Acme").unwrap()
    }

    #[test]
    fn verification_states_its_link_and_lifetime_in_both_parts() {
        let day = Duration::from_secs(24 * 3600);
        let r = verification(&templates(), Some("Ada"), "tok_1", day).unwrap();
        assert_eq!(r.subject, "Confirm your email address for Acme");
        for part in [&r.text, &r.html] {
            assert!(
                part.contains("https://app.acme.example/verify-email?token=tok_1"),
                "{part}"
            );
            assert!(part.contains("expires in 24 hours"), "{part}");
            assert!(part.contains("Hi Ada,"), "{part}");
        }
    }

    #[test]
    fn reset_uses_its_own_page_and_the_lifetime_it_is_given() {
        let r = password_reset(&templates(), None, "tok_2", Duration::from_secs(45 * 60)).unwrap();
        assert_eq!(r.subject, "Reset your Acme password");
        for part in [&r.text, &r.html] {
            assert!(
                part.contains("https://app.acme.example/reset-password?token=tok_2"),
                "{part}"
            );
            assert!(part.contains("expires in 45 minutes"), "{part}");
            assert!(part.contains("Hi,"), "{part}");
        }
    }
}
