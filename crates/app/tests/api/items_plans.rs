//! Tests: items_plans
