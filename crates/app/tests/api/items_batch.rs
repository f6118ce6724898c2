//! Tests: items_batch
