//! What a pipeline needs from its Secret: whether the keys its roles cannot start without
//! are present, a checksum of the data so rotating the Secret rolls the pods, and the
//! Redis the operator itself talks to. Which
//! role reads which key is `config::SecretKey`'s table.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use sha2::{Digest, Sha256};

use k8s_openapi::api::core::v1::Secret;

use crate::api::{SyncPipeline, SyncPipelineSpec};
use crate::config::{Role, SecretKey};
use crate::queue::admin;

/// The first key some role cannot start without that the Secret lacks (or holds empty),
/// in `SecretKey::ALL` order: the same keys the roles themselves refuse to start without.
pub fn first_missing_key(
    spec: &SyncPipelineSpec,
    data: &BTreeMap<String, ByteString>,
) -> Option<SecretKey> {
    SecretKey::ALL
        .into_iter()
        .filter(|k| k.required_by(Role::Receiver, spec) || k.required_by(Role::Worker, spec))
        .find(|key| data.get(key.name()).is_none_or(|v| v.0.is_empty()))
}

/// SHA-256 over the keys the pipeline uses, in key order; goes on the pod template so a
/// rotated Secret rolls the pods. Unused keys do not roll anything.
pub fn checksum(spec: &SyncPipelineSpec, data: &BTreeMap<String, ByteString>) -> String {
    let mut used: Vec<&str> = SecretKey::ALL
        .into_iter()
        .filter(|k| k.read_by(Role::Receiver, spec) || k.read_by(Role::Worker, spec))
        .map(SecretKey::name)
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

/// The pipeline's Redis: the Secret's redisUrl (which may carry a password) over
/// spec.redis.url, and the Secret's redisCaCert for a privately signed `rediss://` server.
pub fn redis_target(p: &SyncPipeline, secret: Option<&Secret>) -> admin::RedisTarget {
    let value = |key: SecretKey| {
        secret
            .and_then(|s| s.data.as_ref())
            .and_then(|d| d.get(key.name()))
            .and_then(|v| String::from_utf8(v.0.clone()).ok())
            .filter(|v| !v.is_empty())
    };
    admin::RedisTarget {
        url: value(SecretKey::RedisUrl).unwrap_or_else(|| p.spec.redis.url.clone()),
        tls_ca: value(SecretKey::RedisCaCert),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::examples;

    fn spec(file: &str) -> SyncPipelineSpec {
        examples::pipeline(file).spec
    }

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
            .collect()
    }

    /// The operator's check demands exactly what the roles refuse to start without: a
    /// Secret holding those keys passes, and each one dropped is the one reported.
    #[test]
    fn the_secret_check_demands_what_the_roles_require() {
        for file in examples::FILES {
            let spec = spec(file);
            let required: Vec<SecretKey> = SecretKey::ALL
                .into_iter()
                .filter(|k| {
                    k.required_by(Role::Receiver, &spec) || k.required_by(Role::Worker, &spec)
                })
                .collect();
            let names: Vec<(&str, &str)> = required.iter().map(|k| (k.name(), "v")).collect();
            let full = data(&names);
            assert_eq!(first_missing_key(&spec, &full), None, "{file}");
            for key in &required {
                let mut partial = full.clone();
                partial.remove(key.name());
                assert_eq!(first_missing_key(&spec, &partial), Some(*key), "{file}");
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
        assert_eq!(
            first_missing_key(&shopify, &no_crm).map(SecretKey::name),
            Some("crmToken")
        );
        let empty_value = data(&[
            ("webhookSecret", ""),
            ("storeToken", "s"),
            ("crmToken", "c"),
        ]);
        assert_eq!(
            first_missing_key(&shopify, &empty_value).map(SecretKey::name),
            Some("webhookSecret")
        );

        let woo = spec("woocommerce.yaml");
        assert_eq!(
            first_missing_key(&woo, &full).map(SecretKey::name),
            Some("storeConsumerKey")
        );

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

    #[test]
    fn the_secrets_redis_url_wins_over_the_spec_and_empty_values_count_as_absent() {
        let p = examples::pipeline("shopify.yaml");
        let secret = |pairs: &[(&str, &str)]| Secret {
            data: Some(data(pairs)),
            ..Secret::default()
        };
        let spec_url = p.spec.redis.url.clone();
        for (data, url, ca) in [
            (None, spec_url.as_str(), None),
            (Some(secret(&[])), spec_url.as_str(), None),
            (Some(secret(&[("redisUrl", "")])), spec_url.as_str(), None),
            (
                Some(secret(&[
                    ("redisUrl", "rediss://:pw@r:6380"),
                    ("redisCaCert", "PEM"),
                ])),
                "rediss://:pw@r:6380",
                Some("PEM"),
            ),
        ] {
            let target = redis_target(&p, data.as_ref());
            assert_eq!(
                (target.url.as_str(), target.tls_ca.as_deref()),
                (url, ca),
                "{data:?}"
            );
        }
    }
}
