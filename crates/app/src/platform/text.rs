//! Validators for user-supplied text, shared by every feature's request types.

/// Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they make
/// text display in another order than it is stored, the trick behind spoofed names and
/// file extensions ("invoice\u{202E}fdp.exe").
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// For names and labels: refuses control characters (NUL, newlines, escapes), which have no
/// place in a display string (and PostgreSQL cannot store NUL in text at all), and bidi
/// controls.
pub fn printable(value: &str, _: &()) -> garde::Result {
    if value.chars().any(char::is_control) {
        Err(garde::Error::new("must not contain control characters"))
    } else if value.chars().any(is_bidi_control) {
        Err(garde::Error::new(
            "must not contain bidirectional control characters",
        ))
    } else {
        Ok(())
    }
}

/// For longer text that may span lines (descriptions): newlines and tabs are fine; NUL, which
/// no database column can keep, and bidi controls are not.
pub fn multiline(value: &str, _: &()) -> garde::Result {
    if value.contains('\0') {
        Err(garde::Error::new(
            "must not contain NUL (\\u0000) characters",
        ))
    } else if value.chars().any(is_bidi_control) {
        Err(garde::Error::new(
            "must not contain bidirectional control characters",
        ))
    } else {
        Ok(())
    }
}

/// Escapes `%`, `_` and the escape character itself, so user input matches literally.
pub fn escape_like(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_text_refuses_controls_and_bidi_overrides() {
        assert!(printable("Ada Lovelace ✓", &()).is_ok());
        assert!(printable("a\u{0}b", &()).is_err());
        assert!(printable("a\nb", &()).is_err());
        for c in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            assert!(printable(&format!("abc{c}gpj.exe"), &()).is_err(), "{c:?}");
            assert!(multiline(&format!("abc{c}"), &()).is_err(), "{c:?}");
        }
        // Right-to-left text itself is fine; only the invisible controls are refused.
        assert!(printable("שלום", &()).is_ok());
        assert!(multiline("line one\nline\ttwo", &()).is_ok());
        assert!(multiline("a\u{0}b", &()).is_err());
    }
}
