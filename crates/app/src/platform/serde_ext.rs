//! Small serde helpers shared by request types.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Visitor};
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

/// A deserializer that reads structs from JSON objects only. serde's derived `Deserialize` of a
/// struct also accepts a sequence of its field values (`["Ada's iPhone", "ios"]` for
/// `{name, platform}`), which the contract does not: wrapped, the struct is asked for as a map,
/// so a sequence is refused as "invalid type: sequence, expected struct ...". Everything else is
/// passed through unchanged.
pub struct ObjectsOnly<D>(pub D);

macro_rules! forward {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.0.$method(visitor)
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }

    // Every other hint goes to the inner deserializer as it is (not through `deserialize_any`,
    // which would change how enums, newtypes and numbers are read).
    forward! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_option
        deserialize_unit deserialize_seq deserialize_map deserialize_identifier
        deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }
}

/// For an optional struct field (`device`): null or absent is `None`, an object is the struct,
/// and a sequence is refused (see [`ObjectsOnly`]).
pub fn object_option<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    struct OptionalObject<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for OptionalObject<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, inner: D2) -> Result<Self::Value, D2::Error> {
            T::deserialize(ObjectsOnly(inner)).map(Some)
        }
    }
    deserializer.deserialize_option(OptionalObject(PhantomData))
}

/// For a list of structs (batch `operations`): each element must be an object (see
/// [`ObjectsOnly`]).
pub fn objects<'de, T, D>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    struct Element<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> de::DeserializeSeed<'de> for Element<T> {
        type Value = T;
        fn deserialize<D2: Deserializer<'de>>(self, inner: D2) -> Result<T, D2::Error> {
            T::deserialize(ObjectsOnly(inner))
        }
    }
    struct Elements<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Elements<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of objects")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut found = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(128));
            while let Some(element) = seq.next_element_seed(Element(PhantomData))? {
                found.push(element);
            }
            Ok(found)
        }
    }
    deserializer.deserialize_seq(Elements(PhantomData))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics")]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Pair {
        a: u8,
        b: Option<u8>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        #[serde(default, deserialize_with = "object_option")]
        pair: Option<Pair>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct List {
        #[serde(deserialize_with = "objects")]
        pairs: Vec<Pair>,
    }

    fn outer(json: &str) -> Result<Outer, serde_json::Error> {
        Outer::deserialize(ObjectsOnly(&mut serde_json::Deserializer::from_str(json)))
    }

    #[test]
    fn structs_are_read_from_objects_only() {
        let pair = Some(Pair { a: 1, b: None });
        assert_eq!(outer(r#"{"pair": {"a": 1}}"#).unwrap().pair, pair);
        assert_eq!(outer(r#"{"pair": null}"#).unwrap().pair, None);
        assert_eq!(outer("{}").unwrap().pair, None);
        let nested = outer(r#"{"pair": [1, 2]}"#).unwrap_err().to_string();
        assert!(nested.contains("invalid type: sequence"), "{nested}");
        let top = outer(r#"[{"a": 1}]"#).unwrap_err().to_string();
        assert!(top.contains("invalid type: sequence"), "{top}");
        let list: List = serde_json::from_str(r#"{"pairs": [{"a": 1, "b": 2}]}"#).unwrap();
        assert_eq!(list.pairs, [Pair { a: 1, b: Some(2) }]);
        let element = serde_json::from_str::<List>(r#"{"pairs": [[1, 2]]}"#).unwrap_err();
        assert!(
            element.to_string().contains("invalid type: sequence"),
            "{element}"
        );
    }
}
