//! Validators for user-supplied text, shared by every feature's request types.

/// Refuses control characters (NUL, newlines, escapes) in names and labels: they have no place
/// in a display string, and PostgreSQL cannot store NUL in text at all.
pub fn printable(value: &str, _: &()) -> garde::Result {
    if value.chars().any(char::is_control) {
        Err(garde::Error::new("must not contain control characters"))
    } else {
        Ok(())
    }
}
