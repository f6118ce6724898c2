//! Tests: auth_attacks
