//! Tests: items_sync
