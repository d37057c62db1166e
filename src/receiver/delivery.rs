//! Per-route verification: which headers carry the signature, the delivery id and the
//! topic on each platform, and which scheme checks them. Runs before any JSON parsing.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

use super::route::Route;
use super::signature::{self, Encoding, SignatureError, StandardHeaders};
use super::{MagentoScheme, ReceiverState, Rejection};
use crate::queue::{MAX_DELIVERY_ID_LEN, Scheme};

/// What the headers (and signature) say about a verified delivery.
pub(super) struct Delivery {
    pub(super) id: String,
    pub(super) topic: Option<String>,
    pub(super) scheme: Scheme,
}

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn signature_rejection(err: SignatureError) -> Rejection {
    match err {
        SignatureError::Missing => Rejection::MissingSignature,
        SignatureError::Mismatch => Rejection::InvalidSignature,
        SignatureError::StaleTimestamp => Rejection::StaleTimestamp,
    }
}

/// A delivery id fit to be part of a Redis key.
fn delivery_id(value: Option<&str>) -> Result<String, Rejection> {
    let id = value.map(str::trim).unwrap_or_default();
    if id.is_empty() || id.len() > MAX_DELIVERY_ID_LEN || id.contains(char::is_whitespace) {
        return Err(Rejection::MissingHeader);
    }
    Ok(id.to_owned())
}

/// For schemes without a delivery id header, the body's digest: a redelivery of the same
/// bytes is the same delivery.
fn body_digest_id(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

pub(super) fn verify(
    state: &ReceiverState,
    route: Route,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Delivery, Rejection> {
    match route {
        Route::Shopify => {
            signature::verify_body_hmac(
                &state.body_keys,
                body,
                header(headers, "x-shopify-hmac-sha256"),
                Encoding::Base64,
            )
            .map_err(signature_rejection)?;
            if let Some(expected) = &state.shop_domain {
                let sent = header(headers, "x-shopify-shop-domain").unwrap_or_default();
                if !sent.trim().eq_ignore_ascii_case(expected) {
                    return Err(Rejection::WrongShop);
                }
            }
            // One merchant action fires one event id into every subscription that matches
            // it, across topics (orders/create and orders/paid share it). So the dedupe key
            // is event id + topic: a second subscription of the same topic collapses, a
            // different topic of the same action is kept. Shopify's per-delivery webhook id
            // is the fallback when a delivery carries no event id.
            let topic = header(headers, "x-shopify-topic")
                .ok_or(Rejection::MissingHeader)?
                .to_owned();
            let event = header(headers, "x-shopify-event-id")
                .map(str::trim)
                .filter(|e| !e.is_empty());
            let id = match event {
                Some(event) => Some(format!("{event}:{topic}")),
                None => header(headers, "x-shopify-webhook-id").map(str::to_owned),
            };
            Ok(Delivery {
                id: delivery_id(id.as_deref())?,
                topic: Some(topic),
                scheme: Scheme::Shopify,
            })
        }
        Route::WooCommerce => {
            signature::verify_body_hmac(
                &state.body_keys,
                body,
                header(headers, "x-wc-webhook-signature"),
                Encoding::Base64,
            )
            .map_err(signature_rejection)?;
            Ok(Delivery {
                id: delivery_id(header(headers, "x-wc-webhook-delivery-id"))?,
                topic: Some(
                    header(headers, "x-wc-webhook-topic")
                        .ok_or(Rejection::MissingHeader)?
                        .to_owned(),
                ),
                scheme: Scheme::WooCommerce,
            })
        }
        Route::Magento => match &state.magento {
            Some(MagentoScheme::Hmac {
                header: name,
                encoding,
            }) => {
                signature::verify_body_hmac(
                    &state.body_keys,
                    body,
                    header(headers, name.as_str()),
                    *encoding,
                )
                .map_err(signature_rejection)?;
                Ok(Delivery {
                    id: body_digest_id(body),
                    topic: None,
                    scheme: Scheme::MagentoHmac,
                })
            }
            Some(MagentoScheme::Adobe(key)) => {
                signature::verify_adobe(
                    key,
                    body,
                    header(headers, "x-adobe-commerce-webhook-signature"),
                )
                .map_err(signature_rejection)?;
                Ok(Delivery {
                    id: body_digest_id(body),
                    topic: None,
                    scheme: Scheme::MagentoAdobe,
                })
            }
            Some(MagentoScheme::Standard) => verify_standard(state, headers, body),
            None => Err(Rejection::NotFound),
        },
        Route::Standard => verify_standard(state, headers, body),
    }
}

fn verify_standard(
    state: &ReceiverState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Delivery, Rejection> {
    let std_headers = StandardHeaders {
        id: header(headers, "webhook-id"),
        timestamp: header(headers, "webhook-timestamp"),
        signature: header(headers, "webhook-signature"),
    };
    signature::verify_standard(
        &state.standard_keys,
        std_headers,
        body,
        jiff::Timestamp::now().as_second(),
        state.settings.timestamp_tolerance,
    )
    .map_err(signature_rejection)?;
    Ok(Delivery {
        id: delivery_id(std_headers.id)?,
        topic: None,
        scheme: Scheme::Standard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_ids_must_be_key_safe() {
        assert_eq!(delivery_id(Some(" abc ")), Ok("abc".to_owned()));
        assert_eq!(delivery_id(Some("")), Err(Rejection::MissingHeader));
        assert_eq!(delivery_id(Some("a b")), Err(Rejection::MissingHeader));
        assert_eq!(delivery_id(None), Err(Rejection::MissingHeader));
        assert_eq!(
            delivery_id(Some(&"x".repeat(257))),
            Err(Rejection::MissingHeader)
        );
    }
}
