//! The `Range` header of downloads (RFC 9110 §14): one range of bytes, in any of its three
//! forms. What is not a single well-formed byte range is ignored, as the RFC allows, and the
//! whole file is sent; a well-formed range that misses the file is `416`.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranged {
    /// Send everything (no header, or one we do not serve).
    Full,
    /// Send these bytes with `206`.
    Partial(Range<u64>),
    /// `416` with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// What to send of a file of `size` bytes for the `Range` header `header`.
pub fn resolve(header: Option<&str>, size: u64) -> Ranged {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ranged::Full;
    };
    let spec = spec.trim();
    // Several ranges would need multipart/byteranges; serving the whole file is allowed.
    if spec.contains(',') {
        return Ranged::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ranged::Full;
    };
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // `bytes=-N`: the last N bytes.
        (true, _, Some(suffix)) => {
            if suffix == 0 || size == 0 {
                Ranged::Unsatisfiable
            } else {
                Ranged::Partial(size.saturating_sub(suffix)..size)
            }
        }
        // `bytes=A-`: from A to the end.
        (false, Some(start), None) if last.trim().is_empty() => {
            if start >= size {
                Ranged::Unsatisfiable
            } else {
                Ranged::Partial(start..size)
            }
        }
        // `bytes=A-B`, B past the end meaning the end.
        (false, Some(start), Some(end)) if start <= end => {
            if start >= size {
                Ranged::Unsatisfiable
            } else {
                Ranged::Partial(start..end.saturating_add(1).min(size))
            }
        }
        _ => Ranged::Full,
    }
}

/// `bytes a-b/size` of a partial answer.
pub fn content_range(range: &Range<u64>, size: u64) -> String {
    format!(
        "bytes {}-{}/{size}",
        range.start,
        range.end.saturating_sub(1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_of_a_single_range() {
        assert_eq!(resolve(Some("bytes=0-9"), 100), Ranged::Partial(0..10));
        assert_eq!(resolve(Some("bytes=90-"), 100), Ranged::Partial(90..100));
        assert_eq!(resolve(Some("bytes=-10"), 100), Ranged::Partial(90..100));
        assert_eq!(resolve(Some("bytes=-500"), 100), Ranged::Partial(0..100));
        assert_eq!(
            resolve(Some("bytes=50-5000"), 100),
            Ranged::Partial(50..100)
        );
        assert_eq!(resolve(Some("bytes=99-99"), 100), Ranged::Partial(99..100));
        assert_eq!(resolve(Some(" bytes= 1 - 2 "), 100), Ranged::Partial(1..3));
    }

    #[test]
    fn ranges_outside_the_file_are_unsatisfiable() {
        assert_eq!(resolve(Some("bytes=100-"), 100), Ranged::Unsatisfiable);
        assert_eq!(resolve(Some("bytes=100-200"), 100), Ranged::Unsatisfiable);
        assert_eq!(resolve(Some("bytes=-0"), 100), Ranged::Unsatisfiable);
        assert_eq!(resolve(Some("bytes=0-0"), 0), Ranged::Unsatisfiable);
        assert_eq!(resolve(Some("bytes=-5"), 0), Ranged::Unsatisfiable);
    }

    #[test]
    fn what_is_not_one_byte_range_is_ignored() {
        for header in [
            None,
            Some("bytes=0-1,5-6"),
            Some("items=0-1"),
            Some("bytes=5-1"),
            Some("bytes=abc"),
            Some("bytes=-"),
            Some("bytes=+1-2"),
            Some("bytes=1-2-3"),
        ] {
            assert_eq!(resolve(header, 100), Ranged::Full, "{header:?}");
        }
    }

    #[test]
    fn content_ranges_name_the_last_byte() {
        assert_eq!(content_range(&(0..10), 100), "bytes 0-9/100");
        assert_eq!(content_range(&(90..100), 100), "bytes 90-99/100");
    }
}
