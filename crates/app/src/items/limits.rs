//! Limits on the free-form `data` object.

use serde_json::{Map, Value};

use super::error::ItemError;

pub const MAX_DATA_BYTES: usize = 64 * 1024;
pub const MAX_DATA_DEPTH: usize = 32;

/// Checks size (serialised) and nesting depth; `path` names the field in errors.
pub fn check_data(data: &Map<String, Value>, path: &str) -> Result<(), ItemError> {
    if depth_exceeds(data.values(), 1) {
        return Err(ItemError::DataTooDeep {
            path: path.to_owned(),
        });
    }
    let size = serde_json::to_vec(data).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_DATA_BYTES {
        return Err(ItemError::DataTooLarge {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Iterative, so a hostile document cannot exhaust the stack here.
fn depth_exceeds<'a>(values: impl Iterator<Item = &'a Value>, start: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = values.map(|v| (v, start)).collect();
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(map) => Box::new(map.values()),
            Value::Array(items) => Box::new(items.iter()),
            _ => continue,
        };
        if depth + 1 > MAX_DATA_DEPTH {
            return true;
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    false
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
}
