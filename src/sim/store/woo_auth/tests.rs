use super::*;
use crate::connectors::store::rest::oauth::{SignatureMethod, Signing, sign_url};

const KEYS: Keys<'static> = Keys {
    consumer_key: "ck_test",
    consumer_secret: "cs_test",
};
const NOW: i64 = 1_795_186_862;
const BASE: &str = "http://127.0.0.1:8080/wp-json/wc/v3/orders";

fn params_of(url: &reqwest::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

fn request<'a>(
    params: &'a HashMap<String, String>,
    auth: Option<&'a str>,
    https: bool,
) -> Request<'a> {
    Request {
        method: "GET",
        base_url: BASE,
        params,
        authorization: auth,
        https,
        now: NOW,
    }
}

/// A request signed by the client's signer.
fn signed(method: SignatureMethod, nonce: &str, timestamp: i64) -> HashMap<String, String> {
    let url = reqwest::Url::parse(&format!(
        "{BASE}?modified_after=2026-11-20T14%3A59%3A59&per_page=100&page=2"
    ))
    .unwrap();
    let signing = Signing {
        consumer_key: "ck_test",
        consumer_secret: "cs_test",
        method,
        timestamp,
        nonce,
    };
    params_of(&sign_url("GET", &url, signing))
}

fn message(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Refused(body) => {
            assert_eq!(body["data"]["status"], 401, "{body}");
            format!(
                "{}: {}",
                body["code"].as_str().unwrap(),
                body["message"].as_str().unwrap()
            )
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn woocommerce_documented_base_string_signs_as_computed_independently() {
    let params: HashMap<String, String> = [
        ("oauth_consumer_key", "abc123"),
        ("oauth_signature_method", "HMAC-SHA1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let req = Request {
        base_url: "http://www.example.com/wp-json/wc/v3/orders",
        ..request(&params, None, false)
    };
    // Python: base64(hmac_sha1(b"abc&", documented base string)).
    assert_eq!(
        expected_signature(req, "HMAC-SHA1", "abc").as_deref(),
        Some("DIjoldg0tZT3JPrDqceo6FKikgI=")
    );
}

#[test]
fn the_clients_signatures_verify_once_and_tampering_or_replay_fails() {
    let mut nonces = HashMap::new();
    for method in [SignatureMethod::HmacSha1, SignatureMethod::HmacSha256] {
        let nonce = format!("nonce-{}", method.as_str());
        let params = signed(method, &nonce, NOW - 60);
        assert_eq!(
            authenticate(KEYS, request(&params, None, false), &mut nonces),
            Outcome::Authenticated,
            "{method:?}"
        );
        assert_eq!(
            message(&authenticate(
                KEYS,
                request(&params, None, false),
                &mut nonces
            )),
            "woocommerce_rest_authentication_error: Invalid nonce - nonce has already been used."
        );
    }
    let mut tampered = signed(SignatureMethod::HmacSha256, "n-tamper", NOW);
    tampered.insert("page".into(), "3".into());
    let table: [(HashMap<String, String>, &str); 4] = [
        (
            tampered,
            "Invalid signature - provided signature does not match.",
        ),
        (
            signed(SignatureMethod::HmacSha1, "n-old", NOW - 16 * 60),
            "Invalid timestamp.",
        ),
        (
            {
                let mut p = signed(SignatureMethod::HmacSha1, "n-method", NOW);
                p.insert("oauth_signature_method".into(), "PLAINTEXT".into());
                p
            },
            "Invalid signature - signature method is invalid.",
        ),
        (
            {
                let mut p = signed(SignatureMethod::HmacSha1, "n-key", NOW);
                p.insert("oauth_consumer_key".into(), "ck_other".into());
                p
            },
            "Consumer key is invalid.",
        ),
    ];
    for (params, want) in table {
        let outcome = authenticate(KEYS, request(&params, None, false), &mut nonces);
        assert_eq!(
            message(&outcome),
            format!("woocommerce_rest_authentication_error: {want}")
        );
    }
    let mut partial = signed(SignatureMethod::HmacSha1, "n-partial", NOW);
    partial.remove("oauth_nonce");
    partial.remove("oauth_timestamp");
    assert_eq!(
        message(&authenticate(
            KEYS,
            request(&partial, None, false),
            &mut nonces
        )),
        "woocommerce_rest_authentication_missing_parameter: Missing OAuth parameters oauth_timestamp, oauth_nonce"
    );
}

#[test]
fn basic_counts_only_over_https() {
    let mut nonces = HashMap::new();
    let none = HashMap::new();
    let basic = format!("Basic {}", STANDARD.encode("ck_test:cs_test"));
    let wrong = format!("Basic {}", STANDARD.encode("ck_test:nope"));
    let query: HashMap<String, String> =
        [("consumer_key", "ck_test"), ("consumer_secret", "cs_test")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    let table = [
        (request(&none, Some(&basic), false), "Anonymous"),
        (request(&query, None, false), "Anonymous"),
        (request(&none, Some(&basic), true), "Authenticated"),
        (request(&query, None, true), "Authenticated"),
        (
            request(&none, Some(&wrong), true),
            "woocommerce_rest_authentication_error: Consumer secret is invalid.",
        ),
        (request(&none, None, true), "Anonymous"),
    ];
    for (req, want) in table {
        assert_eq!(
            message(&authenticate(KEYS, req, &mut nonces)),
            want,
            "{req:?}"
        );
    }
}
