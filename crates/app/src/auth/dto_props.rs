//! Properties of the register and login bodies through the validated JSON extractor and a
//! router: what is accepted round-trips, what is refused is a 4xx in the contract's format
//! naming the field, and nothing is a 5xx or a panic.

use axum::routing::post;
use axum::{Json, Router};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{LoginRequest, RegisterRequest};
use crate::http::extract::ValidatedJson;
use crate::http::extract::test_support::{post as send, refusal};

fn router() -> Router {
    Router::new()
        .route(
            "/register",
            post(|ValidatedJson(r): ValidatedJson<RegisterRequest>| async move { Json(r) }),
        )
        .route(
            // `LoginRequest` is never serialised (it is a password): echoed member by member.
            "/login",
            post(|ValidatedJson(r): ValidatedJson<LoginRequest>| async move {
                Json(json!({ "email": r.email, "password": r.password, "device": r.device }))
            }),
        )
}

fn text(chars: &'static [char], len: std::ops::RangeInclusive<usize>) -> BoxedStrategy<String> {
    prop::collection::vec(prop::sample::select(chars), len)
        .prop_map(|c| c.into_iter().collect())
        .boxed()
}

const LOWER: &[char] = &['a', 'd', 'o', 'x', 'z', '0', '7'];

/// A valid address as sent (maybe with spaces around) and as the server keeps it.
fn email() -> impl Strategy<Value = (String, String)> {
    (
        text(LOWER, 1..=20),
        text(LOWER, 1..=20),
        text(&['c', 'o', 'm', 'z'], 2..=6),
        any::<bool>(),
    )
        .prop_map(|(local, domain, tld, pad)| {
            let email = format!("{local}.x@{domain}.{tld}");
            (
                if pad {
                    format!(" {email}\t")
                } else {
                    email.clone()
                },
                email,
            )
        })
}

/// Passwords are taken as they are: any characters, controls and spaces included.
fn password(len: std::ops::RangeInclusive<usize>) -> BoxedStrategy<String> {
    prop::collection::vec(any::<char>(), len)
        .prop_map(|c| c.into_iter().collect())
        .boxed()
}

const LABEL: &[char] = &['A', 'd', 'a', ' ', '\'', 's', '9', '.', 'é', '🙂'];

/// An optional device as sent and as kept: members trimmed, absent ones null.
fn device() -> impl Strategy<Value = Option<(Value, Value)>> {
    let member = |max| prop::option::of(text(LABEL, 0..=max));
    prop::option::of((member(100), member(32), member(32)).prop_map(|(name, platform, version)| {
        let sent = json!({ "name": name, "platform": platform, "appVersion": version });
        let trim = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_owned);
        let kept = json!({ "name": trim(&name), "platform": trim(&platform), "appVersion": trim(&version) });
        (sent, kept)
    }))
}

fn register() -> impl Strategy<Value = (Value, Value)> {
    let name = prop::option::of(
        (
            prop::sample::select(&['A', 'é', '字'][..]),
            text(LABEL, 0..=98),
        )
            .prop_map(|(a, b)| format!("{a}{b}")),
    );
    (email(), password(8..=128), name, device()).prop_map(
        |((sent, email), password, name, device)| {
            let mut body = json!({ "email": sent, "password": password });
            if let Some(name) = &name {
                body["name"] = json!(name);
            }
            if let Some((device, _)) = &device {
                body["device"] = device.clone();
            }
            let kept_name = name.as_deref().map(str::trim);
            let expected = json!({
                "email": email, "password": password, "name": kept_name,
                "device": device.map(|(_, kept)| kept),
            });
            (body, expected)
        },
    )
}

fn login() -> impl Strategy<Value = (Value, Value)> {
    (email(), password(1..=128), device()).prop_map(|((sent, email), password, device)| {
        let mut body = json!({ "email": sent, "password": password });
        if let Some((device, _)) = &device {
            body["device"] = device.clone();
        }
        let expected =
            json!({ "email": email, "password": password, "device": device.map(|(_, kept)| kept) });
        (body, expected)
    })
}

/// One way to break a register or login body, as (member, value): `Value::Null` in the
/// member removes it. The refusal names `member`.
fn breakage(min_password: usize) -> impl Strategy<Value = (&'static str, Value)> {
    let not_a_string = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
    ];
    prop_oneof![
        Just(("email", Value::Null)),
        text(LOWER, 0..=30).prop_map(|s| ("email", json!(s))),
        text(LOWER, 250..=260).prop_map(|s| ("email", json!(format!("{s}@x.io")))),
        password(0..=min_password - 1).prop_map(|p| ("password", json!(p))),
        password(129..=140).prop_map(|p| ("password", json!(p))),
        not_a_string.clone().prop_map(|v| ("password", v)),
        not_a_string.prop_map(|v| ("email", v)),
        prop_oneof![Just(json!("phone")), Just(json!(3)), Just(json!(["a"]))]
            .prop_map(|v| ("device", v)),
        text(LABEL, 101..=110).prop_map(|s| ("device.name", json!({ "name": format!("x{s}x") }))),
        text(LABEL, 33..=40).prop_map(|s| (
            "device.appVersion",
            json!({ "appVersion": format!("x{s}x") })
        )),
        prop::sample::select(&['\n', '\u{1b}', '\u{202E}'][..])
            .prop_map(|c| ("device.platform", json!({ "platform": format!("io{c}s") }))),
    ]
}

/// Applies a breakage: `device.*` replaces the device, anything else one member.
fn broken(mut body: Value, (path, value): &(&'static str, Value)) -> Vec<u8> {
    let member = if path.starts_with("device") {
        "device"
    } else {
        path
    };
    match (body.as_object_mut(), value) {
        (Some(object), Value::Null) => {
            object.remove(member);
        }
        (Some(object), value) => {
            object.insert(member.to_owned(), value.clone());
        }
        (None, _) => {}
    }
    body.to_string().into_bytes()
}

fn check_refused(path: &str, bytes: Vec<u8>, breakage: &str) -> Result<(), TestCaseError> {
    let (status, answer) = send(&router(), path, "application/json", bytes);
    let details = refusal(status, &answer).map_err(TestCaseError::fail)?;
    prop_assert_eq!(status.as_u16(), 400, "{}: {}", breakage, answer);
    prop_assert!(
        details.iter().any(|(p, _)| p == breakage),
        "should name {:?}: {}",
        breakage,
        answer
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_accepted_registration_round_trips((body, expected) in register()) {
        let router = router();
        let (status, echoed) = send(&router, "/register", "application/json", body.to_string().into_bytes());
        prop_assert_eq!(status.as_u16(), 200, "{} refused: {}", body, echoed);
        prop_assert_eq!(&echoed, &expected);
        let (_, again) = send(&router, "/register", "application/json", echoed.to_string().into_bytes());
        prop_assert_eq!(again, expected);
    }

    #[test]
    fn every_accepted_login_round_trips((body, expected) in login()) {
        let (status, echoed) = send(&router(), "/login", "application/json", body.to_string().into_bytes());
        prop_assert_eq!(status.as_u16(), 200, "{} refused: {}", body, echoed);
        prop_assert_eq!(echoed, expected);
    }

    #[test]
    fn every_refused_registration_names_the_field((body, _) in register(), breakage in breakage(8)) {
        check_refused("/register", broken(body, &breakage), breakage.0)?;
    }

    #[test]
    fn every_refused_login_names_the_field((body, _) in login(), breakage in breakage(1)) {
        check_refused("/login", broken(body, &breakage), breakage.0)?;
    }

    #[test]
    fn arbitrary_bytes_never_make_a_5xx(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        path in prop::sample::select(&["/register", "/login"][..]),
    ) {
        let (status, answer) = send(&router(), path, "application/json", bytes);
        if !status.is_success() {
            refusal(status, &answer).map_err(TestCaseError::fail)?;
        }
    }
}
