//! Tests: outage
