//! Properties of the access-token verifier: a token as issued is accepted; any change to it
//! (a byte flipped, removed or added; another algorithm; an expiry in the past; another
//! issuer or audience) is refused, and no input makes it panic.
#![expect(clippy::unwrap_used, reason = "a failing test panics")]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::{SessionId, UserId};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::prelude::*;
use sha2::Sha256;

use super::{Claims, JwtKeys};
use crate::platform::config::Config;

const SECRET: &[u8] = b"a test secret that is long enough for hs256-0123456789";

fn keys() -> JwtKeys {
    let config = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
    JwtKeys::new(SECRET, &config.auth)
}

fn issued() -> (JwtKeys, String) {
    let keys = keys();
    let token = keys.issue(UserId::new(), SessionId::new(), "user").unwrap();
    (keys, token)
}

/// Claims as `issue` makes them, with `exp` moved by `exp_delta` seconds from now.
fn claims(keys: &JwtKeys, exp_delta: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: UserId::new(),
        sid: SessionId::new(),
        role: "admin".to_owned(),
        iss: keys.issuer.clone(),
        aud: keys.audience.clone(),
        iat: now,
        exp: now + exp_delta,
    }
}

fn signed(alg: Algorithm, claims: &Claims) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(SECRET)).unwrap()
}

/// A token with any header JSON, over the same claims, signed HMAC-SHA256 with our secret:
/// what an attacker who could not forge HS256 would try (`none`, RS256 with the secret as a
/// "public key", a case variant).
fn with_header(header_json: &str, claims: &Claims) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header_json),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    );
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET).unwrap();
    mac.update(message.as_bytes());
    format!(
        "{message}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    Insert(prop::sample::Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
    ]
}

fn mutate(token: &str, mutations: &[Mutation]) -> String {
    let mut bytes = token.as_bytes().to_vec();
    for mutation in mutations {
        match *mutation {
            Mutation::Flip(i, x) if !bytes.is_empty() => {
                let i = i.index(bytes.len());
                bytes[i] ^= x;
            }
            Mutation::Remove(i) if !bytes.is_empty() => {
                bytes.remove(i.index(bytes.len()));
            }
            Mutation::Insert(i, b) => {
                let at = i.index(bytes.len() + 1);
                bytes.insert(at, b);
            }
            _ => {}
        }
    }
    // A header value is text: bytes that are not UTF-8 reach the verifier as replacements.
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn a_token_as_issued_is_accepted() {
    let keys = keys();
    let (user, session) = (UserId::new(), SessionId::new());
    let token = keys.issue(user, session, "user").unwrap();
    let verified = keys.verify(&token).unwrap();
    assert_eq!(
        (verified.sub, verified.sid, verified.role.as_str()),
        (user, session, "user")
    );
}

#[test]
fn other_algorithms_are_refused() {
    let keys = keys();
    let claims = claims(&keys, 600);
    assert!(
        keys.verify(&signed(Algorithm::HS256, &claims)).is_some(),
        "the control"
    );
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        assert!(keys.verify(&signed(alg, &claims)).is_none(), "{alg:?}");
    }
    for header in [
        r#"{"alg":"none","typ":"JWT"}"#,
        r#"{"alg":"None"}"#,
        r#"{"alg":"RS256","typ":"JWT"}"#,
        r#"{"alg":"ES256"}"#,
        r#"{"alg":"hs256"}"#,
        r#"{"typ":"JWT"}"#,
    ] {
        let token = with_header(header, &claims);
        assert!(keys.verify(&token).is_none(), "{header}");
        // `none` with no signature at all, too.
        let (unsigned, _) = token.rsplit_once('.').unwrap();
        assert!(
            keys.verify(&format!("{unsigned}.")).is_none(),
            "{header} unsigned"
        );
        assert!(
            keys.verify(unsigned).is_none(),
            "{header} without a signature part"
        );
    }
    assert!(
        keys.verify(&with_header(r#"{"alg":"HS256","typ":"JWT"}"#, &claims))
            .is_some()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_mutated_token_is_refused(mutations in prop::collection::vec(mutation(), 1..4)) {
        let (keys, token) = issued();
        let mutated = mutate(&token, &mutations);
        prop_assume!(mutated != token);
        prop_assert!(keys.verify(&mutated).is_none(), "{:?} accepted: {}", mutations, mutated);
    }

    #[test]
    fn an_expired_token_is_refused(seconds_ago in 1i64..10_000_000) {
        let keys = keys();
        prop_assert!(keys.verify(&signed(Algorithm::HS256, &claims(&keys, -seconds_ago))).is_none());
    }

    #[test]
    fn another_issuer_or_audience_is_refused(other in prop::collection::vec(prop::sample::select(&['a', 'z', '.', '-', 'S'][..]), 0..20)
            .prop_map(|c| c.into_iter().collect::<String>()),
        audience in any::<bool>(),) {
        let keys = keys();
        let mut claims = claims(&keys, 600);
        if audience {
            prop_assume!(other != claims.aud);
            claims.aud = other;
        } else {
            prop_assume!(other != claims.iss);
            claims.iss = other;
        }
        prop_assert!(keys.verify(&signed(Algorithm::HS256, &claims)).is_none());
    }

    #[test]
    fn arbitrary_text_never_verifies(raw in any::<String>(), parts in prop::collection::vec(any::<Vec<u8>>(), 0..5)) {
        let keys = keys();
        prop_assert!(keys.verify(&raw).is_none());
        let dotted = parts.iter().map(|p| URL_SAFE_NO_PAD.encode(p)).collect::<Vec<_>>().join(".");
        prop_assert!(keys.verify(&dotted).is_none());
    }
}
