//! Tests: items_crud
