//! Small serde helpers shared by request types.

use serde::{Deserialize, Deserializer};

/// Deserialises a string with surrounding whitespace removed.
pub fn trimmed<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = String::deserialize(deserializer)?;
    Ok(value.trim().to_owned())
}

/// Like [`trimmed`] for optional fields.
pub fn trimmed_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(deserializer)?;
    Ok(value.map(|v| v.trim().to_owned()))
}

/// For "absent means unchanged, null means clear" fields: `Some(None)` is an explicit null.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
