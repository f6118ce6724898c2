//! What the users feature's email says: the notice to the previous address after a change.

use minijinja::context;

use crate::platform::mail::templates::{Rendered, TemplateError, Templates, mask_email};

/// Shows the new address masked (`a***@example.com`): enough for the owner to recognise it,
/// too little to hand it to whoever reads the old mailbox.
pub fn email_changed(
    templates: &Templates,
    recipient_name: Option<&str>,
    new_email: &str,
) -> Result<Rendered, TemplateError> {
    templates.render(
        "email_changed",
        context! { recipient_name, masked_new_email => mask_email(new_email) },
    )
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;

    #[test]
    fn the_notice_masks_the_new_address_in_both_parts() {
        let templates = Templates::new("https://app.acme.example", "Acme").unwrap();
        let r = email_changed(&templates, Some("Ada"), "ada.new@elsewhere.example").unwrap();
        assert_eq!(r.subject, "Your Acme email address was changed");
        for part in [&r.text, &r.html] {
            assert!(part.contains("a***@elsewhere.example"), "{part}");
            assert!(!part.contains("ada.new"), "{part}");
        }
    }
}
