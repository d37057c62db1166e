//! How each simulated store signs its webhooks, written from the vendors' descriptions
//! (docs/api-contracts.md), independently of the receiver's verifier so a test of one against
//! the other proves both. Pure: a request description in, headers out.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::{ObjectKind, StorePlatform};

/// One webhook delivery, ready to POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDelivery {
    /// The receiver path, e.g. `/webhooks/shopify`.
    pub path: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// What a delivery is about.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub kind: ObjectKind,
    pub created: bool,
    /// The object's REST representation.
    pub object: serde_json::Value,
    /// A unique id of this delivery (the store's delivery/webhook id).
    pub delivery_id: String,
    /// Unix seconds when the event happened.
    pub at_unix: i64,
}

/// Who signs, and with what.
#[derive(Debug, Clone)]
pub struct Signer {
    pub platform: StorePlatform,
    /// Shopify client secret, WooCommerce webhook secret (used as UTF-8 bytes), or for
    /// Magento a Standard Webhooks `whsec_<base64>` secret.
    pub secret: String,
    pub shop_domain: String,
    pub api_version: String,
    pub source_url: String,
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Shopify topic resource names (plural, `checkouts` for carts).
fn plural(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Orders => "orders",
        ObjectKind::Customers => "customers",
        ObjectKind::Products => "products",
        ObjectKind::Carts => "checkouts",
    }
}

/// The topic a platform gives a create or update of `kind`.
pub fn topic(platform: StorePlatform, kind: ObjectKind, created: bool) -> String {
    let resource = plural(kind);
    match platform {
        StorePlatform::Shopify | StorePlatform::Magento => {
            let verb = match (created, kind) {
                (true, _) => "create",
                (false, ObjectKind::Orders) => "updated",
                (false, _) => "update",
            };
            format!("{resource}/{verb}")
        }
        StorePlatform::WooCommerce => {
            let verb = if created { "created" } else { "updated" };
            format!("{}.{verb}", resource.trim_end_matches('s'))
        }
    }
}

impl SignedDelivery {
    /// The POST of this delivery to the receiver at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn request(&self, client: &reqwest::Client, base: &str) -> reqwest::RequestBuilder {
        let mut request = client
            .post(format!("{}{}", base.trim_end_matches('/'), self.path))
            .header("content-type", "application/json")
            .body(self.body.clone());
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        request
    }
}

impl Signer {
    /// Signs one delivery exactly as the platform would send it.
    pub fn sign(&self, out: &Outgoing) -> SignedDelivery {
        let topic = topic(self.platform, out.kind, out.created);
        match self.platform {
            StorePlatform::Shopify => {
                let body = out.object.to_string();
                let sig = STANDARD.encode(hmac(self.secret.as_bytes(), &[body.as_bytes()]));
                let at = jiff::Timestamp::from_second(out.at_unix).unwrap_or_default();
                SignedDelivery {
                    path: "/webhooks/shopify",
                    headers: vec![
                        ("x-shopify-topic", topic),
                        ("x-shopify-hmac-sha256", sig),
                        ("x-shopify-shop-domain", self.shop_domain.clone()),
                        ("x-shopify-api-version", self.api_version.clone()),
                        ("x-shopify-webhook-id", out.delivery_id.clone()),
                        ("x-shopify-triggered-at", at.to_string()),
                    ],
                    body,
                }
            }
            StorePlatform::WooCommerce => {
                let body = out.object.to_string();
                let sig = STANDARD.encode(hmac(self.secret.as_bytes(), &[body.as_bytes()]));
                let (resource, event) = topic.split_once('.').unwrap_or((&topic, ""));
                SignedDelivery {
                    path: "/webhooks/woocommerce",
                    headers: vec![
                        ("x-wc-webhook-source", self.source_url.clone()),
                        ("x-wc-webhook-resource", resource.to_string()),
                        ("x-wc-webhook-event", event.to_string()),
                        ("x-wc-webhook-topic", topic.clone()),
                        ("x-wc-webhook-signature", sig),
                        ("x-wc-webhook-id", "1".into()),
                        ("x-wc-webhook-delivery-id", out.delivery_id.clone()),
                    ],
                    body,
                }
            }
            StorePlatform::Magento => {
                let body = serde_json::json!({"type": topic, "timestamp": out.at_unix,
                    "data": out.object})
                .to_string();
                let key = STANDARD
                    .decode(self.secret.trim_start_matches("whsec_"))
                    .unwrap_or_else(|_| self.secret.as_bytes().to_vec());
                let ts = out.at_unix.to_string();
                let id = out.delivery_id.as_bytes();
                let sig = hmac(&key, &[id, b".", ts.as_bytes(), b".", body.as_bytes()]);
                SignedDelivery {
                    path: "/webhooks/magento",
                    headers: vec![
                        ("webhook-id", out.delivery_id.clone()),
                        ("webhook-timestamp", ts),
                        ("webhook-signature", format!("v1,{}", STANDARD.encode(sig))),
                    ],
                    body,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::signature::{Encoding, HmacKeys, StandardHeaders, verify_body_hmac};

    fn signer(platform: StorePlatform, secret: &str) -> Signer {
        Signer {
            platform,
            secret: secret.into(),
            shop_domain: "acme.myshopify.com".into(),
            api_version: "2025-07".into(),
            source_url: "https://shop.example".into(),
        }
    }

    fn outgoing() -> Outgoing {
        Outgoing {
            kind: ObjectKind::Orders,
            created: false,
            object: serde_json::json!({"id": 820982911946154508u64}),
            delivery_id: "d-1".into(),
            at_unix: 1_790_000_000,
        }
    }

    fn header<'a>(d: &'a SignedDelivery, name: &str) -> Option<&'a str> {
        d.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn topics_follow_each_platform() {
        assert_eq!(
            topic(StorePlatform::Shopify, ObjectKind::Orders, false),
            "orders/updated"
        );
        assert_eq!(
            topic(StorePlatform::Shopify, ObjectKind::Customers, false),
            "customers/update"
        );
        assert_eq!(
            topic(StorePlatform::Shopify, ObjectKind::Carts, true),
            "checkouts/create"
        );
        assert_eq!(
            topic(StorePlatform::WooCommerce, ObjectKind::Orders, true),
            "order.created"
        );
    }

    #[test]
    fn body_hmacs_verify_with_the_receiver() {
        for platform in [StorePlatform::Shopify, StorePlatform::WooCommerce] {
            let d = signer(platform, "s3cret").sign(&outgoing());
            let name = match platform {
                StorePlatform::Shopify => "x-shopify-hmac-sha256",
                _ => "x-wc-webhook-signature",
            };
            let keys = HmacKeys::from_secrets(&["s3cret"]);
            verify_body_hmac(&keys, d.body.as_bytes(), header(&d, name), Encoding::Base64).unwrap();
            let other = HmacKeys::from_secrets(&["other"]);
            assert!(
                verify_body_hmac(
                    &other,
                    d.body.as_bytes(),
                    header(&d, name),
                    Encoding::Base64
                )
                .is_err()
            );
        }
        // The 64-bit id survives in the signed body.
        let d = signer(StorePlatform::Shopify, "s").sign(&outgoing());
        assert!(d.body.contains("820982911946154508"));
    }

    #[test]
    fn standard_webhooks_verify_with_the_receiver() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let d = signer(StorePlatform::Magento, secret).sign(&outgoing());
        let keys = HmacKeys::from_standard_secrets(&[secret]);
        let headers = StandardHeaders {
            id: header(&d, "webhook-id"),
            timestamp: header(&d, "webhook-timestamp"),
            signature: header(&d, "webhook-signature"),
        };
        let window = std::time::Duration::from_secs(300);
        crate::receiver::signature::verify_standard(
            &keys,
            headers,
            d.body.as_bytes(),
            1_790_000_010,
            window,
        )
        .unwrap();
    }
}
