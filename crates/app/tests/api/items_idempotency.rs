//! Tests: items_idempotency
