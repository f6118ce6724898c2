//! The validated JSON body extractor (`http/extract.rs`) on arbitrary bytes, for the request
//! types of the item, batch and auth endpoints. Invariants: it never panics; a refusal is a
//! 4xx (never a 5xx); an accepted value serialises to JSON that is accepted again and means
//! the same (the data round-trips).
#![no_main]

use aios_app::auth::dto::{LoginRequest, RegisterRequest};
use aios_app::http::extract::ValidatedJson;
use aios_app::items::dto::{BatchRequest, ItemInput};
use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn extract<T>(body: &[u8]) -> Option<T>
where
    T: DeserializeOwned + garde::Validate<Context = ()> + Send + 'static,
{
    let request = Request::builder()
        .method("POST")
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    match futures::executor::block_on(ValidatedJson::<T>::from_request(request, &())) {
        Ok(ValidatedJson(value)) => Some(value),
        Err(refusal) => {
            let status = refusal.status();
            assert!(
                status.is_client_error(),
                "refused with {status}: {refusal:?}"
            );
            None
        }
    }
}

/// Accepted input, written back out, is accepted again as the same data.
fn round_trips<T>(body: &[u8])
where
    T: DeserializeOwned + Serialize + garde::Validate<Context = ()> + Send + 'static,
{
    let Some(value) = extract::<T>(body) else {
        return;
    };
    let written = serde_json::to_vec(&value).unwrap();
    let again = extract::<T>(&written)
        .unwrap_or_else(|| panic!("accepted, but its own serialisation is refused: {written:?}"));
    assert_eq!(
        serde_json::to_value(&value).unwrap(),
        serde_json::to_value(&again).unwrap(),
        "the data changed on a round trip"
    );
}

fuzz_target!(|body: &[u8]| {
    round_trips::<ItemInput>(body);
    round_trips::<BatchRequest>(body);
    round_trips::<RegisterRequest>(body);
    // No `Serialize` (it carries a password and is never written out): acceptance only.
    let _ = extract::<LoginRequest>(body);
});
