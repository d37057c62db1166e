//! What a pipeline needs from its Secret: which keys each role reads, whether they are
//! present, and a checksum of the data so rotating the Secret rolls the pods.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use sha2::{Digest, Sha256};

use crate::api::{MagentoWebhookScheme, StorePlatform, SyncPipelineSpec};

/// Keys of the pipeline's Secret (see docs/design.md, "One manifest everywhere").
pub mod keys {
    pub const WEBHOOK_SECRET: &str = "webhookSecret";
    pub const WEBHOOK_SECRET_PREVIOUS: &str = "webhookSecretPrevious";
    pub const STORE_TOKEN: &str = "storeToken";
    pub const STORE_CONSUMER_KEY: &str = "storeConsumerKey";
    pub const STORE_CONSUMER_SECRET: &str = "storeConsumerSecret";
    pub const CRM_TOKEN: &str = "crmToken";
    pub const REDIS_URL: &str = "redisUrl";
    pub const REDIS_CA_CERT: &str = "redisCaCert";
}

/// One Secret key a container reads, and whether the pipeline cannot run without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretKey {
    pub key: &'static str,
    pub required: bool,
}

const fn required(key: &'static str) -> SecretKey {
    SecretKey {
        key,
        required: true,
    }
}
const fn optional(key: &'static str) -> SecretKey {
    SecretKey {
        key,
        required: false,
    }
}

fn verifies_with_shared_secret(spec: &SyncPipelineSpec) -> bool {
    match spec.store.platform {
        StorePlatform::Magento => spec
            .store
            .magento
            .as_ref()
            .is_none_or(|m| m.webhooks.scheme != MagentoWebhookScheme::Adobe),
        _ => true,
    }
}

/// Keys the receiver reads: only what verifying webhooks and reaching Redis take.
pub fn receiver_keys(spec: &SyncPipelineSpec) -> Vec<SecretKey> {
    let mut out = Vec::new();
    if verifies_with_shared_secret(spec) {
        out.push(required(keys::WEBHOOK_SECRET));
        out.push(optional(keys::WEBHOOK_SECRET_PREVIOUS));
    }
    out.push(optional(keys::REDIS_URL));
    out.push(optional(keys::REDIS_CA_CERT));
    out
}

/// Keys the worker (and its poller) reads: store and CRM credentials and Redis.
pub fn worker_keys(spec: &SyncPipelineSpec) -> Vec<SecretKey> {
    let mut out = match spec.store.platform {
        StorePlatform::WooCommerce => {
            vec![
                required(keys::STORE_CONSUMER_KEY),
                required(keys::STORE_CONSUMER_SECRET),
            ]
        }
        StorePlatform::Shopify | StorePlatform::Magento => vec![required(keys::STORE_TOKEN)],
    };
    out.push(required(keys::CRM_TOKEN));
    out.push(optional(keys::REDIS_URL));
    out.push(optional(keys::REDIS_CA_CERT));
    out
}

/// The first required key the Secret lacks (or holds empty), in a stable order.
pub fn first_missing_key(
    spec: &SyncPipelineSpec,
    data: &BTreeMap<String, ByteString>,
) -> Option<&'static str> {
    receiver_keys(spec)
        .into_iter()
        .chain(worker_keys(spec))
        .filter(|k| k.required)
        .map(|k| k.key)
        .find(|key| data.get(*key).is_none_or(|v| v.0.is_empty()))
}

/// SHA-256 over the keys the pipeline uses, in key order; goes on the pod template so a
/// rotated Secret rolls the pods. Unused keys do not roll anything.
pub fn checksum(spec: &SyncPipelineSpec, data: &BTreeMap<String, ByteString>) -> String {
    let mut used: Vec<&str> = receiver_keys(spec)
        .iter()
        .chain(&worker_keys(spec))
        .map(|k| k.key)
        .collect();
    used.sort_unstable();
    used.dedup();
    let mut hash = Sha256::new();
    for key in used {
        if let Some(value) = data.get(key) {
            hash.update(key.as_bytes());
            hash.update([0]);
            hash.update((value.0.len() as u64).to_be_bytes());
            hash.update(&value.0);
        }
    }
    hex::encode(&hash.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::SyncPipeline;

    fn spec(file: &str) -> SyncPipelineSpec {
        let text = std::fs::read_to_string(format!(
            "{}/examples/valid/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let doc = text.split("\n---\n").nth(1).unwrap();
        serde_yaml::from_str::<SyncPipeline>(doc).unwrap().spec
    }

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
            .collect()
    }

    #[test]
    fn every_key_passed_to_pods_is_one_the_roles_read() {
        for file in [
            "shopify.yaml",
            "woocommerce.yaml",
            "magento.yaml",
            "magento-adobe.yaml",
        ] {
            let spec = spec(file);
            for k in receiver_keys(&spec).iter().chain(&worker_keys(&spec)) {
                assert!(
                    crate::config::SECRET_KEYS.contains(&k.key),
                    "{} is not read by config::load",
                    k.key
                );
            }
        }
    }

    #[test]
    fn missing_keys_depend_on_the_platform() {
        let shopify = spec("shopify.yaml");
        let full = data(&[
            ("webhookSecret", "w"),
            ("storeToken", "s"),
            ("crmToken", "c"),
        ]);
        assert_eq!(first_missing_key(&shopify, &full), None);
        let no_crm = data(&[("webhookSecret", "w"), ("storeToken", "s")]);
        assert_eq!(first_missing_key(&shopify, &no_crm), Some("crmToken"));
        let empty_value = data(&[
            ("webhookSecret", ""),
            ("storeToken", "s"),
            ("crmToken", "c"),
        ]);
        assert_eq!(
            first_missing_key(&shopify, &empty_value),
            Some("webhookSecret")
        );

        let woo = spec("woocommerce.yaml");
        assert_eq!(first_missing_key(&woo, &full), Some("storeConsumerKey"));

        // Adobe Commerce webhooks are verified with a public key: no shared secret needed.
        let adobe = spec("magento-adobe.yaml");
        assert_eq!(
            first_missing_key(&adobe, &data(&[("storeToken", "s"), ("crmToken", "c")])),
            None
        );
    }

    #[test]
    fn checksum_changes_only_with_used_keys() {
        let shopify = spec("shopify.yaml");
        let a = data(&[
            ("webhookSecret", "w"),
            ("storeToken", "s"),
            ("crmToken", "c"),
        ]);
        let mut b = a.clone();
        b.insert("unrelated".into(), ByteString(b"x".to_vec()));
        assert_eq!(checksum(&shopify, &a), checksum(&shopify, &b));
        let rotated = data(&[
            ("webhookSecret", "w2"),
            ("storeToken", "s"),
            ("crmToken", "c"),
        ]);
        assert_ne!(checksum(&shopify, &a), checksum(&shopify, &rotated));
    }
}
