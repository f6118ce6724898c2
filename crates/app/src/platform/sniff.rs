//! What a file is, decided from its bytes: magic numbers for binary formats (the `infer`
//! crate), and for text a check that runs over every byte as it streams past. A client's
//! filename or `Content-Type` never enters into it.

/// The types this server can recognise, so the only ones `UPLOAD_ALLOWED_TYPES` may name.
pub const RECOGNISED: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/heif",
    "image/avif",
    "image/bmp",
    "image/tiff",
    "application/pdf",
    "text/plain",
    "application/json",
    "text/html",
    "text/xml",
    "video/mp4",
    "video/quicktime",
    "video/webm",
    "audio/mp4",
    "audio/mpeg",
    "audio/ogg",
    "audio/wav",
    "application/zip",
    "application/gzip",
];

/// What anything unrecognised is called; never in `RECOGNISED`, so never allowed.
pub const UNKNOWN: &str = "application/octet-stream";

/// Bytes looked at before deciding. Magic numbers sit in the first few hundred bytes; the
/// rest lets a JSON document show its shape.
pub const SNIFF_LEN: usize = 8 * 1024;

/// The type of a file whose first bytes (up to [`SNIFF_LEN`]) are `head`. `complete` says that
/// `head` is the whole file. Text types are provisional: feed every byte through a [`TextCheck`]
/// and fall back to [`UNKNOWN`] if it finds binary content later.
pub fn sniff(head: &[u8], complete: bool) -> &'static str {
    if let Some(kind) = infer::get(head) {
        let mime = match kind.mime_type() {
            // The registered name of MPEG-4 audio; `infer` uses a nickname.
            "audio/m4a" | "audio/x-m4a" => "audio/mp4",
            "audio/x-wav" => "audio/wav",
            other => other,
        };
        return RECOGNISED
            .iter()
            .copied()
            .find(|known| *known == mime)
            .unwrap_or(UNKNOWN);
    }
    let mut check = TextCheck::default();
    check.feed(head);
    if !check.is_text(complete) {
        return UNKNOWN;
    }
    if looks_like_json(head, complete) {
        "application/json"
    } else {
        "text/plain"
    }
}

pub fn is_text(content_type: &str) -> bool {
    matches!(content_type, "text/plain" | "application/json")
}

/// A JSON value opens with `{` or `[` after optional whitespace (and a BOM), and the head
/// parses, or parses as far as it goes. Past the head only text-ness is checked: a mislabelled
/// large text file is still only text, served as an attachment with `nosniff`.
fn looks_like_json(head: &[u8], complete: bool) -> bool {
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let Some(first) = body.iter().find(|b| !b.is_ascii_whitespace()) else {
        return false;
    };
    if !matches!(first, b'{' | b'[') {
        return false;
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Ok(_) => true,
        Err(err) => !complete && err.is_eof(),
    }
}

/// Whether a stream of bytes is UTF-8 text without binary control characters, fed in chunks
/// of any size (a character may be split between two chunks).
#[derive(Debug, Default, Clone)]
pub struct TextCheck {
    /// The start of a character cut off at the end of the previous chunk.
    carry: Vec<u8>,
    binary: bool,
}

impl TextCheck {
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.binary {
            return;
        }
        let joined;
        let bytes = if self.carry.is_empty() {
            chunk
        } else {
            let mut buffer = std::mem::take(&mut self.carry);
            buffer.extend_from_slice(chunk);
            joined = buffer;
            &joined[..]
        };
        let valid = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) if err.error_len().is_none() => {
                // A character cut at the end: keep its first bytes for the next chunk.
                let (valid, rest) = bytes.split_at(err.valid_up_to());
                self.carry = rest.to_vec();
                std::str::from_utf8(valid).unwrap_or_default()
            }
            Err(_) => {
                self.binary = true;
                return;
            }
        };
        if valid
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{0C}'))
        {
            self.binary = true;
        }
    }

    /// At the end of the stream (`finished`), a character still cut off means it is not text.
    pub fn is_text(&self, finished: bool) -> bool {
        !self.binary && (!finished || self.carry.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_win_over_everything() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png, false), "image/png");
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF\0", false), "image/jpeg");
        assert_eq!(sniff(b"%PDF-1.7\n", false), "application/pdf");
        assert_eq!(
            sniff(b"\x7FELF\x02\x01\x01\0\0\0\0\0\0\0\0\0", true),
            UNKNOWN
        );
        let m4a = b"\0\0\0\x20ftypM4A \0\0\0\0";
        assert_eq!(sniff(m4a, false), "audio/mp4");
        let mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0";
        assert_eq!(sniff(mp4, false), "video/mp4");
    }

    #[test]
    fn text_and_json_are_told_apart_by_their_content() {
        assert_eq!(sniff(b"hello\nworld", true), "text/plain");
        assert_eq!(sniff("grüße ✓".as_bytes(), true), "text/plain");
        assert_eq!(sniff(b"", true), "text/plain");
        assert_eq!(sniff(br#" {"a": [1, 2]} "#, true), "application/json");
        assert_eq!(sniff(br#"[1, 2"#, false), "application/json");
        assert_eq!(sniff(br#"[1, 2"#, true), "text/plain");
        assert_eq!(sniff(br#"{not json}"#, true), "text/plain");
        assert_eq!(sniff(b"a\0b", true), UNKNOWN);
        assert_eq!(sniff(b"\x1b[31mred", true), UNKNOWN);
        assert_eq!(sniff(b"\xC3\x28", true), UNKNOWN);
    }

    #[test]
    fn the_text_check_follows_characters_across_chunks() {
        let text = "naïve café ✓".as_bytes();
        for split in 0..text.len() {
            let mut check = TextCheck::default();
            check.feed(&text[..split]);
            check.feed(&text[split..]);
            assert!(check.is_text(true), "split at {split}");
        }
        let mut check = TextCheck::default();
        check.feed(b"plain text, then ");
        check.feed(b"\x7FELF\0\0");
        assert!(!check.is_text(true));
        let mut cut = TextCheck::default();
        cut.feed("é".as_bytes().split_at(1).0);
        assert!(cut.is_text(false));
        assert!(!cut.is_text(true));
    }
}
