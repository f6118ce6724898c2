//! Tests: users
