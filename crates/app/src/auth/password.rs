//! The password policy for new passwords. Hashing itself is `platform::password_hash`.

use crate::platform::entropy::is_common_password;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Why a new password is refused; the message is shown to the user.
pub fn policy_violation(password: &str, email: &str) -> Option<&'static str> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Some("must be at least 8 characters");
    }
    if chars > MAX_PASSWORD_CHARS {
        return Some("must be at most 128 characters");
    }
    if password.chars().any(char::is_control) {
        return Some("must not contain control characters");
    }
    if password.trim().is_empty() {
        return Some("must not be only spaces");
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Some("must not be your email address");
    }
    if is_common_password(password) {
        return Some("is too common; choose a less guessable password");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_short_common_and_email_passwords() {
        assert!(policy_violation("short", "a@b.co").is_some());
        assert!(policy_violation(&"x".repeat(129), "a@b.co").is_some());
        assert!(policy_violation("password1", "a@b.co").is_some());
        assert!(policy_violation("PASSWORD1", "a@b.co").is_some());
        assert!(policy_violation("someone@example.com", "Someone@Example.com").is_some());
        assert!(policy_violation("        ", "a@b.co").is_some());
        assert!(
            policy_violation(
                "\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}",
                "a@b.co"
            )
            .is_some()
        );
        assert!(policy_violation("\0\0\0\0\0\0\0\0", "a@b.co").is_some());
        assert!(policy_violation("correct\nhorse battery", "a@b.co").is_some());
        assert_eq!(policy_violation("correct horse battery", "a@b.co"), None);
        // Characters, not bytes: eight emoji are eight characters.
        assert_eq!(policy_violation("🙂🙂🙂🙂🙂🙂🙂🙂", "a@b.co"), None);
    }
}
