//! Tests: items_pagination
