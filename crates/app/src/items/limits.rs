//! Limits on the free-form `data` object.

use serde_json::{Map, Value};

use super::error::ItemError;

pub const MAX_DATA_BYTES: usize = 64 * 1024;
pub const MAX_DATA_DEPTH: usize = 32;

/// Checks size (serialised), nesting depth and that no string holds a NUL character (which
/// PostgreSQL cannot store, so both databases refuse it); `path` names the field in errors.
pub fn check_data(data: &Map<String, Value>, path: &str) -> Result<(), ItemError> {
    match scan(data) {
        Some(Problem::TooDeep) => {
            return Err(ItemError::DataTooDeep {
                path: path.to_owned(),
            });
        }
        Some(Problem::Nul) => {
            return Err(ItemError::InvalidData {
                path: path.to_owned(),
                message: NUL_MESSAGE,
            });
        }
        None => {}
    }
    let size = serde_json::to_vec(data).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_DATA_BYTES {
        return Err(ItemError::DataTooLarge {
            path: path.to_owned(),
        });
    }
    Ok(())
}

pub const NUL_MESSAGE: &str = "must not contain NUL (\\u0000) characters";

/// True when `text` holds a character no database column can keep.
pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

enum Problem {
    TooDeep,
    Nul,
}

/// Iterative, so a hostile document cannot exhaust the stack here.
fn scan(data: &Map<String, Value>) -> Option<Problem> {
    if data.keys().any(|k| has_nul(k)) {
        return Some(Problem::Nul);
    }
    let mut stack: Vec<(&Value, usize)> = data.values().map(|v| (v, 1)).collect();
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(map) => {
                if map.keys().any(|k| has_nul(k)) {
                    return Some(Problem::Nul);
                }
                Box::new(map.values())
            }
            Value::Array(items) => Box::new(items.iter()),
            Value::String(text) if has_nul(text) => return Some(Problem::Nul),
            _ => continue,
        };
        if depth + 1 > MAX_DATA_DEPTH {
            return Some(Problem::TooDeep);
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn nested(levels: usize) -> Map<String, Value> {
        let mut value = json!(1);
        for _ in 0..levels.saturating_sub(1) {
            value = json!({ "a": value });
        }
        let mut map = Map::new();
        map.insert("a".to_owned(), value);
        map
    }

    #[test]
    fn depth_and_size_are_bounded() {
        assert!(check_data(&nested(MAX_DATA_DEPTH), "data").is_ok());
        assert!(matches!(
            check_data(&nested(MAX_DATA_DEPTH + 1), "data"),
            Err(ItemError::DataTooDeep { .. })
        ));
        let mut big = Map::new();
        big.insert("s".to_owned(), json!("x".repeat(MAX_DATA_BYTES)));
        assert!(matches!(
            check_data(&big, "data"),
            Err(ItemError::DataTooLarge { .. })
        ));
        let mut fits = Map::new();
        fits.insert("s".to_owned(), json!("x".repeat(MAX_DATA_BYTES - 20)));
        assert!(check_data(&fits, "data").is_ok());
    }

    #[test]
    fn nul_characters_are_refused_in_keys_and_strings() {
        let mut in_key = Map::new();
        in_key.insert("a\0b".to_owned(), json!(1));
        let mut in_value = Map::new();
        in_value.insert("a".to_owned(), json!({ "b": ["x\0"] }));
        for data in [in_key, in_value] {
            assert!(matches!(
                check_data(&data, "data"),
                Err(ItemError::InvalidData { .. })
            ));
        }
    }
}
