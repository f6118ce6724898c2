//! The `Range` header parser of downloads (`files/range.rs`). Invariants: it never panics; a
//! partial answer is a non-empty range inside the file, and its `Content-Range` names it.
#![no_main]

use aios_app::files::range::{self, Ranged};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // The first 8 bytes are the file size, the rest the header (as a str, like `to_str`).
    let Some((size, header)) = input.split_first_chunk::<8>() else {
        return;
    };
    let size = u64::from_le_bytes(*size);
    let header = String::from_utf8_lossy(header);
    let header = header.as_ref();
    // Small sizes too: the interesting edges are 0, 1 and the ends of the range.
    for size in [size, size % 1024, 0, 1] {
        match range::resolve(Some(header), size) {
            Ranged::Partial(bytes) => {
                assert!(
                    bytes.start < bytes.end,
                    "empty range {bytes:?} for {header:?}"
                );
                assert!(
                    bytes.end <= size,
                    "{bytes:?} past the end of {size} for {header:?}"
                );
                let content_range = range::content_range(&bytes, size);
                let expected = format!("bytes {}-{}/{size}", bytes.start, bytes.end - 1);
                assert_eq!(content_range, expected);
            }
            Ranged::Unsatisfiable => {
                assert!(header.trim().starts_with("bytes="), "416 for {header:?}");
            }
            Ranged::Full => {}
        }
    }
});
