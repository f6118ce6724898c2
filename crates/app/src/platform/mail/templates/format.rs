//! Values computed in Rust so templates never retype them.

use std::time::Duration;

/// "24 hours", "30 minutes", "2 days": the token lifetime as a person reads it, derived from
/// the same `Duration` that sets the token's expiry, so copy and behaviour can't drift apart.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = match secs {
        s if s >= 2 * 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `jane.doe@example.com` → `j***@example.com`: enough for the owner to recognise the address,
/// too little to hand a third party reading the old mailbox the new one.
pub fn mask_email(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let mut chars = local.chars();
    let shown = match (chars.next(), chars.next()) {
        (Some(first), Some(_)) => format!("{first}***"),
        _ => "***".to_owned(),
    };
    if domain.is_empty() {
        shown
    } else {
        format!("{shown}@{domain}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let h = |s| human_duration(Duration::from_secs(s));
        assert_eq!(h(24 * 3600), "24 hours");
        assert_eq!(h(30 * 60), "30 minutes");
        assert_eq!(h(3600), "1 hour");
        assert_eq!(h(48 * 3600), "2 days");
        assert_eq!(h(90 * 60), "90 minutes");
        assert_eq!(h(45), "45 seconds");
        assert_eq!(h(1), "1 second");
    }

    #[test]
    fn masking() {
        assert_eq!(mask_email("jane.doe@example.com"), "j***@example.com");
        assert_eq!(mask_email("j@example.com"), "***@example.com");
        assert_eq!(mask_email("élodie@exemple.fr"), "é***@exemple.fr");
        assert_eq!(mask_email("not-an-address"), "n***");
    }
}
