//! Client app versions, as `MIN_APP_VERSION` and `X-App-Version` give them.

/// Parses `1`, `1.2`, `1.2.3`, `v1.2.3` and full semver with pre-release or build metadata:
/// app stores and build tools are loose about versions, the comparison must not be.
pub fn parse_lenient(raw: &str) -> Option<semver::Version> {
    let raw = raw.trim();
    let raw = raw.strip_prefix(['v', 'V']).unwrap_or(raw);
    if let Ok(version) = semver::Version::parse(raw) {
        return Some(version);
    }
    let (core, rest) = match raw.find(['-', '+']) {
        Some(i) => raw.split_at(i),
        None => (raw, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut padded = parts.join(".");
    for _ in parts.len()..3 {
        padded.push_str(".0");
    }
    semver::Version::parse(&format!("{padded}{rest}")).ok()
}
