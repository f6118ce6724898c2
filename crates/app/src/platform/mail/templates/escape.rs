//! HTML escaping without minijinja's escaping of `/`.
//!
//! minijinja (like askama-escape) also turns `/` into `&#x2f;`. That is valid HTML, but every
//! link in the mail then reads `https:&#x2f;&#x2f;…` in the source and in the visible text of
//! clients that show source, and link scanners see mangled URLs. `/` needs no escaping in text
//! or in a quoted attribute, so this formatter escapes exactly `& < > " '`.

use std::fmt::Write;

use minijinja::{AutoEscape, Error, Output, State, Value, escape_formatter};

pub(super) fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if *state.auto_escape() != AutoEscape::Html
        || value.is_safe()
        || value.is_undefined()
        || value.is_none()
    {
        // Safe strings, other formats, and none/undefined handling stay minijinja's.
        return escape_formatter(out, state, value);
    }
    let text = value.to_string();
    for c in text.chars() {
        let r = match c {
            '&' => out.write_str("&amp;"),
            '<' => out.write_str("&lt;"),
            '>' => out.write_str("&gt;"),
            '"' => out.write_str("&quot;"),
            '\'' => out.write_str("&#x27;"),
            c => out.write_char(c),
        };
        r.map_err(Error::from)?;
    }
    Ok(())
}
