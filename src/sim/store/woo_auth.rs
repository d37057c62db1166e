//! WooCommerce REST authentication as `WC_REST_Authentication` does it: HTTP Basic (or
//! `consumer_key`/`consumer_secret` query parameters) only when the request came over
//! HTTPS, and otherwise OAuth 1.0a one-legged signatures in the query string, checked the
//! way WooCommerce checks them (written from its algorithm, independently of the client's
//! signer, so a mistake in one is not mirrored in the other): parameters sorted by name,
//! each `name=value` encoded with `rawurlencode` and joined with `%26`; the key is the
//! consumer secret and `&`; HMAC-SHA1 or HMAC-SHA256; a timestamp within 15 minutes; a
//! nonce used once. Over plain HTTP a Basic header is simply not looked at, so such a
//! request is anonymous and the listing answers 401 `woocommerce_rest_cannot_view`.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

/// The consumer credentials the store knows.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
}

/// What authentication sees of a request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// `http://host[:port]/path`, the URL WooCommerce rebuilds from its home URL.
    pub base_url: &'a str,
    /// The decoded query parameters.
    pub params: &'a HashMap<String, String>,
    pub authorization: Option<&'a str>,
    /// Whether the request arrived over HTTPS (a TLS-terminating proxy in front).
    pub https: bool,
    /// Unix seconds.
    pub now: i64,
}

/// The outcome: an authenticated request, an anonymous one, or a refusal with
/// WooCommerce's error body (HTTP 401).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Authenticated,
    Anonymous,
    Refused(Value),
}

const WINDOW_SECS: i64 = 15 * 60;
const REQUIRED: [&str; 5] = [
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
];

fn refused(code: &str, message: &str) -> Outcome {
    Outcome::Refused(json!({"code": code, "message": message, "data": {"status": 401}}))
}

fn auth_error(message: &str) -> Outcome {
    refused("woocommerce_rest_authentication_error", message)
}

/// Authenticates `req`; `nonces` (nonce → timestamp) are the ones seen in the window.
pub fn authenticate(
    keys: Keys<'_>,
    req: Request<'_>,
    nonces: &mut HashMap<String, i64>,
) -> Outcome {
    if req.https {
        match basic(keys, req) {
            Outcome::Anonymous => {}
            decided => return decided,
        }
    }
    oauth(keys, req, nonces)
}

fn basic(keys: Keys<'_>, req: Request<'_>) -> Outcome {
    let query = (
        req.params.get("consumer_key"),
        req.params.get("consumer_secret"),
    );
    let pair = match query {
        (Some(k), Some(s)) if !k.is_empty() && !s.is_empty() => Some((k.clone(), s.clone())),
        _ => req
            .authorization
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|p| p.split_once(':').map(|(k, s)| (k.to_owned(), s.to_owned()))),
    };
    match pair {
        Some((key, secret)) if key == keys.consumer_key => {
            if constant_eq(&secret, keys.consumer_secret) {
                Outcome::Authenticated
            } else {
                auth_error("Consumer secret is invalid.")
            }
        }
        _ => Outcome::Anonymous,
    }
}

fn oauth(keys: Keys<'_>, req: Request<'_>, nonces: &mut HashMap<String, i64>) -> Outcome {
    let present = |name: &&str| req.params.get(*name).is_some_and(|v| !v.is_empty());
    let missing: Vec<&str> = REQUIRED.iter().filter(|n| !present(n)).copied().collect();
    if missing.len() == REQUIRED.len() {
        return Outcome::Anonymous;
    }
    if !missing.is_empty() {
        let noun = if missing.len() == 1 {
            "parameter"
        } else {
            "parameters"
        };
        let message = format!("Missing OAuth {noun} {}", missing.join(", "));
        return refused(
            "woocommerce_rest_authentication_missing_parameter",
            &message,
        );
    }
    let p = |name: &str| req.params.get(name).map(String::as_str).unwrap_or_default();
    if p("oauth_consumer_key") != keys.consumer_key {
        return auth_error("Consumer key is invalid.");
    }
    let method = p("oauth_signature_method");
    let Some(expected) = expected_signature(req, method, keys.consumer_secret) else {
        return auth_error("Invalid signature - signature method is invalid.");
    };
    let given = p("oauth_signature").replace(' ', "+");
    if !constant_eq(&given, &expected) {
        return auth_error("Invalid signature - provided signature does not match.");
    }
    let timestamp = p("oauth_timestamp").parse::<i64>().unwrap_or(0);
    if (timestamp - req.now).abs() > WINDOW_SECS {
        return auth_error("Invalid timestamp.");
    }
    nonces.retain(|_, at| *at >= req.now - WINDOW_SECS);
    let nonce = p("oauth_nonce").to_owned();
    if nonces.contains_key(&nonce) {
        return auth_error("Invalid nonce - nonce has already been used.");
    }
    nonces.insert(nonce, timestamp);
    Outcome::Authenticated
}

/// `rawurlencode`: everything but `A-Z a-z 0-9 - _ . ~`.
fn raw_url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The signature WooCommerce computes for `req`, or `None` for an unknown method.
fn expected_signature(req: Request<'_>, method: &str, secret: &str) -> Option<String> {
    let mut names: Vec<&String> = req
        .params
        .keys()
        .filter(|k| *k != "oauth_signature")
        .collect();
    names.sort();
    let joined: Vec<String> = names
        .iter()
        .map(|k| {
            let pair = format!("{}={}", raw_url_encode(k), raw_url_encode(&req.params[*k]));
            raw_url_encode(&pair)
        })
        .collect();
    let to_sign = format!(
        "{}&{}&{}",
        req.method.to_ascii_uppercase(),
        raw_url_encode(req.base_url),
        joined.join("%26")
    );
    let key = format!("{secret}&");
    let digest = match method {
        "HMAC-SHA1" => Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes())
            .ok()?
            .chain_update(to_sign)
            .finalize()
            .into_bytes()
            .to_vec(),
        "HMAC-SHA256" => Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
            .ok()?
            .chain_update(to_sign)
            .finalize()
            .into_bytes()
            .to_vec(),
        _ => return None,
    };
    Some(STANDARD.encode(digest))
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests;
