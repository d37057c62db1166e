//! OAuth 1.0a one-legged request signing (RFC 5849), pure: how a WooCommerce client
//! authenticates over plain `http://`, where WooCommerce refuses HTTP Basic and the consumer
//! secret must never cross the wire. WooCommerce's REST authentication documents it:
//! `oauth_consumer_key`, `oauth_timestamp`, `oauth_nonce`, `oauth_signature_method`
//! (HMAC-SHA1 or HMAC-SHA256) and `oauth_signature` as query parameters, no token and no
//! `oauth_version`; the signature base string is
//! `METHOD&enc(base URL)&enc(sorted, normalized parameters)` and the key is
//! `enc(consumer secret)&` (the token secret is empty). The server accepts a timestamp
//! within 15 minutes of its clock and each nonce once.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::Url;

/// The HMAC behind `oauth_signature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    HmacSha1,
    HmacSha256,
}

impl SignatureMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha1 => "HMAC-SHA1",
            Self::HmacSha256 => "HMAC-SHA256",
        }
    }
}

/// RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - . _ ~`, as UTF-8 bytes.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The base string URI (RFC 5849 §3.4.1.2): scheme and host lower-case, the port only when
/// not the scheme's default, the path; no query or fragment.
pub fn base_uri(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{}://{host}{port}{}", url.scheme(), url.path())
}

/// The signature base string of a request: its method, base URI and every parameter
/// (the URL's query and the `oauth_*` ones, never `oauth_signature`), encoded, then sorted
/// by name and value.
pub fn base_string(method: &str, url: &Url, oauth: &[(String, String)]) -> String {
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (percent_encode(&k), percent_encode(&v)))
        .chain(
            oauth
                .iter()
                .map(|(k, v)| (percent_encode(k), percent_encode(v))),
        )
        .collect();
    params.sort();
    let normalized = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(&base_uri(url)),
        percent_encode(&normalized)
    )
}

/// `oauth_signature`: base64 of the HMAC of `base` keyed with
/// `enc(consumer_secret)&enc(token_secret)` (one-legged: the token secret is empty).
pub fn signature(
    method: SignatureMethod,
    base: &str,
    consumer_secret: &str,
    token_secret: &str,
) -> String {
    let key = format!(
        "{}&{}",
        percent_encode(consumer_secret),
        percent_encode(token_secret)
    );
    // HMAC takes keys of every length, so the constructors cannot fail.
    let digest = match method {
        SignatureMethod::HmacSha1 => Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes())
            .map(|mac| mac.chain_update(base).finalize().into_bytes().to_vec()),
        SignatureMethod::HmacSha256 => Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
            .map(|mac| mac.chain_update(base).finalize().into_bytes().to_vec()),
    };
    STANDARD.encode(digest.unwrap_or_default())
}

/// One request's signing inputs: the consumer credentials, the clock and a fresh nonce.
#[derive(Clone, Copy)]
pub struct Signing<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
    pub method: SignatureMethod,
    /// Unix seconds.
    pub timestamp: i64,
    /// Unique per request (32 alphanumerics, as WooCommerce recommends).
    pub nonce: &'a str,
}

/// `url` with the one-legged OAuth parameters and their signature added to its query,
/// for a request of `http_method`.
pub fn sign_url(http_method: &str, url: &Url, s: Signing<'_>) -> Url {
    let oauth: Vec<(String, String)> = [
        ("oauth_consumer_key", s.consumer_key.to_owned()),
        ("oauth_nonce", s.nonce.to_owned()),
        ("oauth_signature_method", s.method.as_str().to_owned()),
        ("oauth_timestamp", s.timestamp.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let base = base_string(http_method, url, &oauth);
    let sig = signature(s.method, &base, s.consumer_secret, "");
    let mut signed = url.clone();
    {
        let mut q = signed.query_pairs_mut();
        for (k, v) in &oauth {
            q.append_pair(k, v);
        }
        q.append_pair("oauth_signature", &sig);
    }
    signed
}

/// A nonce of 32 random alphanumerics.
pub fn nonce() -> String {
    (0..32).map(|_| fastrand::alphanumeric()).collect()
}

#[cfg(test)]
mod tests;
