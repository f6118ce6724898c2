//! Tests: auth_flows
