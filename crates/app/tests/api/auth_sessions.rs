//! Tests: auth_sessions
