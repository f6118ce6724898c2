//! How guessable a secret is: the 10,000 most common passwords (Django's list), and a
//! conservative estimate of a secret's entropy in bits, for refusing weak signing keys.

use std::collections::HashSet;
use std::sync::LazyLock;

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common_passwords.txt").lines().collect());

/// True when `password` (ignoring case) is one of the 10,000 most common passwords.
pub fn is_common_password(password: &str) -> bool {
    COMMON_PASSWORDS.contains(password.to_lowercase().as_str())
}

/// An estimate of the entropy of `secret` in bits that errs low for anything with structure:
/// a repeated pattern counts once, a run of letters made of common words counts
/// log2(10,000) bits a word, and the other characters count the smaller of what their
/// alphabet allows and their observed (Miller-Madow corrected) Shannon entropy. A random
/// string scores about its real entropy: 32 random hex digits about 128 bits.
pub fn estimated_bits(secret: &str) -> f64 {
    let chars: Vec<char> = secret.chars().collect();
    let unit = &chars[..smallest_period(&chars)];
    let (words, rest) = split_words(unit);
    let word_bits = words as f64 * (COMMON_PASSWORDS.len().max(2) as f64).log2();
    word_bits + char_bits(&rest)
}

/// The length of the shortest `u` such that `chars` is `u` at least twice over (the last copy
/// may be cut short), or the whole length.
fn smallest_period(chars: &[char]) -> usize {
    (1..=chars.len() / 2)
        .find(|&p| chars.iter().enumerate().all(|(i, c)| *c == chars[i % p]))
        .unwrap_or(chars.len())
}

/// Counts the letter runs that split entirely into common words (of 4 letters or more), and
/// returns the characters that are not part of such a run.
fn split_words(chars: &[char]) -> (usize, Vec<char>) {
    let mut words = 0;
    let mut rest = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_alphabetic() {
            rest.push(chars[i]);
            i += 1;
            continue;
        }
        let end = (i..chars.len())
            .find(|&j| !chars[j].is_alphabetic())
            .unwrap_or(chars.len());
        let run: String = chars[i..end].iter().collect::<String>().to_lowercase();
        match fewest_words(&run) {
            Some(count) => words += count,
            None => rest.extend_from_slice(&chars[i..end]),
        }
        i = end;
    }
    (words, rest)
}

/// The fewest common words that `run` is the concatenation of, if any.
fn fewest_words(run: &str) -> Option<usize> {
    let bounds: Vec<usize> = run
        .char_indices()
        .map(|(i, _)| i)
        .chain([run.len()])
        .collect();
    let mut best: Vec<Option<usize>> = vec![None; bounds.len()];
    best[0] = Some(0);
    for end in 1..bounds.len() {
        best[end] = (0..end.saturating_sub(3))
            .filter_map(|start| {
                let word = &run[bounds[start]..bounds[end]];
                let before = best[start]?;
                COMMON_PASSWORDS.contains(word).then_some(before + 1)
            })
            .min();
    }
    best.last().copied().flatten()
}

fn char_bits(chars: &[char]) -> f64 {
    if chars.is_empty() {
        return 0.0;
    }
    let n = chars.len() as f64;
    let mut counts = std::collections::HashMap::new();
    for c in chars {
        *counts.entry(*c).or_insert(0usize) += 1;
    }
    let shannon: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum();
    let corrected = shannon + (counts.len() as f64 - 1.0) / (2.0 * n * std::f64::consts::LN_2);
    corrected.min(alphabet_size(chars).log2()) * n
}

/// The size of the smallest common alphabet the characters come from.
fn alphabet_size(chars: &[char]) -> f64 {
    let all = |f: fn(&char) -> bool| chars.iter().all(f);
    if all(|c| c.is_ascii_digit()) {
        10.0
    } else if all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        || all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    {
        16.0
    } else if all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '=')) {
        64.0
    } else if all(char::is_ascii_graphic) {
        94.0
    } else {
        // Beyond ASCII: no smaller alphabet to assume; the Shannon estimate decides.
        65_536.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_secrets_score_about_their_entropy() {
        // `openssl rand -hex 16` (128 bits) and `openssl rand -base64 48` (384 bits).
        let hex = "9f86d081884c7d659a2feaa0c55ad015";
        assert!(estimated_bits(hex) >= 120.0, "{}", estimated_bits(hex));
        let b64 = "u7pN2xqgM0bJ7V9sH4kQ1tLwZ8yRcE3fA6dP5oXiGnY2mTvB0aKhJ9lS4rUeW1z+";
        assert!(estimated_bits(b64) > 300.0, "{}", estimated_bits(b64));
    }

    #[test]
    fn structure_scores_low() {
        assert_eq!(estimated_bits(&"x".repeat(40)), 0.0);
        assert!(estimated_bits(&"ab".repeat(20)) < 8.0);
        assert!(estimated_bits(&"password".repeat(5)) < 20.0);
        // Four common words, however long together.
        let words = "sunshinedragonfootballprincess";
        assert!(estimated_bits(words) < 60.0, "{}", estimated_bits(words));
        assert!(estimated_bits("monkey-shadow-master-secret-welcome!") < 100.0);
        assert!(estimated_bits(&"1234567890".repeat(4)) < 40.0);
    }

    #[test]
    fn common_passwords_are_recognised_ignoring_case() {
        assert!(is_common_password("Password1"));
        assert!(!is_common_password("correct horse battery staple"));
    }
}
