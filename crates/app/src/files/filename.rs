//! Filenames as clients send them are display strings only: they never become a storage key
//! or a path. Here they are made safe to show and to put in a `Content-Disposition` header.

use crate::platform::text::is_bidi_control;

/// Longest name kept, in bytes (what common file systems allow for one name).
pub const MAX_FILENAME_BYTES: usize = 255;
const FALLBACK: &str = "file";

/// Invisible characters that reorder or hide text: bidi controls, zero-width characters and
/// the directional marks, the tools of `invoice\u{202E}fdp.exe`.
fn is_invisible(c: char) -> bool {
    is_bidi_control(c) || matches!(c, '\u{200B}'..='\u{200F}' | '\u{061C}' | '\u{FEFF}')
}

/// The last path component, without control or invisible characters, trimmed of spaces and
/// dots at either end, at most [`MAX_FILENAME_BYTES`] (the extension kept when it is short).
pub fn sanitize(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or_default();
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_invisible(*c))
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c.is_whitespace() || c == '.');
    if trimmed.is_empty() {
        return FALLBACK.to_owned();
    }
    truncate(trimmed)
}

fn truncate(name: &str) -> String {
    if name.len() <= MAX_FILENAME_BYTES {
        return name.to_owned();
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty() && ext.len() <= 16);
    let budget = MAX_FILENAME_BYTES - extension.map_or(0, |ext| ext.len() + 1);
    let mut stem_end = budget.min(name.len());
    while !name.is_char_boundary(stem_end) {
        stem_end -= 1;
    }
    match extension {
        Some(ext) => format!("{}.{ext}", name[..stem_end].trim_end()),
        None => name[..stem_end].to_owned(),
    }
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266),
/// so every browser saves the file under its name and none renders it.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        rfc5987_encode(name)
    )
}

/// Percent-encodes everything but RFC 5987's `attr-char`.
fn rfc5987_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        let plain = byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if plain {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_traversal_are_cut_to_the_last_component() {
        assert_eq!(sanitize(Some("../../etc/passwd")), "passwd");
        assert_eq!(sanitize(Some("C:\\Users\\ada\\report.pdf")), "report.pdf");
        assert_eq!(sanitize(Some("..")), "file");
        assert_eq!(sanitize(Some("/")), "file");
        assert_eq!(sanitize(None), "file");
        assert_eq!(sanitize(Some(" .hidden. ")), "hidden");
    }

    #[test]
    fn controls_and_bidi_tricks_are_removed() {
        assert_eq!(sanitize(Some("a\u{0}b\r\n.txt")), "ab.txt");
        assert_eq!(sanitize(Some("invoice\u{202E}fdp.exe")), "invoicefdp.exe");
        assert_eq!(sanitize(Some("zero\u{200B}width.png")), "zerowidth.png");
        assert_eq!(sanitize(Some("naïve café.txt")), "naïve café.txt");
    }

    #[test]
    fn long_names_keep_their_extension_and_whole_characters() {
        let long = format!("{}.jpeg", "é".repeat(300));
        let short = sanitize(Some(&long));
        assert!(short.len() <= MAX_FILENAME_BYTES, "{}", short.len());
        assert!(short.ends_with(".jpeg"));
        assert!(short.starts_with('é'));
        let no_ext = sanitize(Some(&"x".repeat(400)));
        assert_eq!(no_ext.len(), MAX_FILENAME_BYTES);
    }

    #[test]
    fn dispositions_carry_an_ascii_fallback_and_the_encoded_name() {
        assert_eq!(
            content_disposition("résumé \"v2\".pdf"),
            "attachment; filename=\"r_sum_ _v2_.pdf\"; \
             filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdf"
        );
    }
}
