//! The keys of a pipeline's Secret, in one place: the name in the Secret, the environment
//! variable a pod reads it from, which role reads it and whether that role starts without
//! it (docs/design.md, "One manifest everywhere"). The operator renders pod environments
//! and checks Secrets from this table, the loader merges environment variables by it, and
//! the roles look values up by it, so a key cannot be spelt two ways.

use std::fmt;

use crate::api::{StorePlatform, SyncPipelineSpec};

/// One key of a pipeline's Secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKey {
    /// Verifies the store's webhook signatures.
    WebhookSecret,
    /// Also accepted while a rotated `webhookSecret` reaches the store.
    WebhookSecretPrevious,
    /// Shopify Admin API access token; Magento integration bearer token.
    StoreToken,
    /// WooCommerce REST API consumer key.
    StoreConsumerKey,
    /// WooCommerce REST API consumer secret.
    StoreConsumerSecret,
    /// HubSpot private-app access token.
    CrmToken,
    /// Overrides `spec.redis.url` (for a password-protected Redis).
    RedisUrl,
    /// The PEM CA a privately signed `rediss://` server is verified against.
    RedisCaCert,
}

/// A data-plane role that reads the Secret (the poller runs inside the worker).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Receiver,
    Worker,
}

impl SecretKey {
    /// Every key, in the order pods list them and the operator reports the first missing.
    pub const ALL: [Self; 8] = [
        Self::WebhookSecret,
        Self::WebhookSecretPrevious,
        Self::StoreToken,
        Self::StoreConsumerKey,
        Self::StoreConsumerSecret,
        Self::CrmToken,
        Self::RedisUrl,
        Self::RedisCaCert,
    ];

    /// The key in the Secret's `data` (camelCase, as in the manifest).
    pub const fn name(self) -> &'static str {
        match self {
            Self::WebhookSecret => "webhookSecret",
            Self::WebhookSecretPrevious => "webhookSecretPrevious",
            Self::StoreToken => "storeToken",
            Self::StoreConsumerKey => "storeConsumerKey",
            Self::StoreConsumerSecret => "storeConsumerSecret",
            Self::CrmToken => "crmToken",
            Self::RedisUrl => "redisUrl",
            Self::RedisCaCert => "redisCaCert",
        }
    }

    /// The environment variable a pod reads the key from: `SYNCLINE_` and the name in
    /// upper snake case (`webhookSecretPrevious` → `SYNCLINE_WEBHOOK_SECRET_PREVIOUS`).
    pub fn env_var(self) -> String {
        let mut out = String::from("SYNCLINE_");
        for (i, c) in self.name().chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
        }
        out
    }

    /// Whether a role that reads the key starts without it: rotation's previous secret
    /// and the Redis overrides have fallbacks, every other key is a credential.
    pub const fn optional(self) -> bool {
        matches!(
            self,
            Self::WebhookSecretPrevious | Self::RedisUrl | Self::RedisCaCert
        )
    }

    /// Whether `role` reads the key for a pipeline with `spec`: only what verifying
    /// webhooks and reaching Redis take for the receiver; store and CRM credentials and
    /// Redis for the worker and its poller.
    pub fn read_by(self, role: Role, spec: &SyncPipelineSpec) -> bool {
        match self {
            Self::WebhookSecret | Self::WebhookSecretPrevious => {
                role == Role::Receiver && spec.store.verifies_with_shared_secret()
            }
            Self::StoreToken | Self::StoreConsumerKey | Self::StoreConsumerSecret => {
                role == Role::Worker && Self::store_credentials(spec.store.platform).contains(&self)
            }
            Self::CrmToken => role == Role::Worker,
            Self::RedisUrl | Self::RedisCaCert => true,
        }
    }

    /// Whether `role` cannot start without the key for a pipeline with `spec`.
    pub fn required_by(self, role: Role, spec: &SyncPipelineSpec) -> bool {
        !self.optional() && self.read_by(role, spec)
    }

    /// The keys `role` reads for a pipeline with `spec`, in `ALL` order.
    pub fn read_by_role(role: Role, spec: &SyncPipelineSpec) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|k| k.read_by(role, spec))
            .collect()
    }

    /// The keys a platform's REST client authenticates with.
    pub const fn store_credentials(platform: StorePlatform) -> &'static [Self] {
        match platform {
            StorePlatform::WooCommerce => &[Self::StoreConsumerKey, Self::StoreConsumerSecret],
            StorePlatform::Shopify | StorePlatform::Magento => &[Self::StoreToken],
        }
    }
}

/// The Secret key's name, so messages name keys the way the manifest does.
impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::examples;

    /// The Secret contract of docs/design.md, spelt out once more on purpose: this table
    /// is what users put in their Secrets and pod specs, so a rename must fail here.
    const TABLE: [(SecretKey, &str, &str, bool); 8] = [
        (
            SecretKey::WebhookSecret,
            "webhookSecret",
            "SYNCLINE_WEBHOOK_SECRET",
            false,
        ),
        (
            SecretKey::WebhookSecretPrevious,
            "webhookSecretPrevious",
            "SYNCLINE_WEBHOOK_SECRET_PREVIOUS",
            true,
        ),
        (
            SecretKey::StoreToken,
            "storeToken",
            "SYNCLINE_STORE_TOKEN",
            false,
        ),
        (
            SecretKey::StoreConsumerKey,
            "storeConsumerKey",
            "SYNCLINE_STORE_CONSUMER_KEY",
            false,
        ),
        (
            SecretKey::StoreConsumerSecret,
            "storeConsumerSecret",
            "SYNCLINE_STORE_CONSUMER_SECRET",
            false,
        ),
        (SecretKey::CrmToken, "crmToken", "SYNCLINE_CRM_TOKEN", false),
        (SecretKey::RedisUrl, "redisUrl", "SYNCLINE_REDIS_URL", true),
        (
            SecretKey::RedisCaCert,
            "redisCaCert",
            "SYNCLINE_REDIS_CA_CERT",
            true,
        ),
    ];

    fn spec(file: &str) -> SyncPipelineSpec {
        examples::pipeline(file).spec
    }

    fn names(keys: Vec<SecretKey>) -> Vec<&'static str> {
        keys.into_iter().map(SecretKey::name).collect()
    }

    #[test]
    fn every_key_has_its_name_env_var_and_optionality() {
        assert_eq!(
            TABLE.map(|row| row.0),
            SecretKey::ALL,
            "the table lists every key in order"
        );
        for (key, name, env, optional) in TABLE {
            assert_eq!(key.name(), name);
            assert_eq!(key.to_string(), name);
            assert_eq!(key.env_var(), env);
            assert_eq!(key.optional(), optional, "{name}");
        }
    }

    #[test]
    fn each_role_reads_what_its_platform_needs() {
        use Role::{Receiver, Worker};
        let redis = ["redisUrl", "redisCaCert"];
        let cases: [(&str, Role, &[&str]); 5] = [
            (
                "shopify.yaml",
                Receiver,
                &["webhookSecret", "webhookSecretPrevious"],
            ),
            ("shopify.yaml", Worker, &["storeToken", "crmToken"]),
            (
                "woocommerce.yaml",
                Worker,
                &["storeConsumerKey", "storeConsumerSecret", "crmToken"],
            ),
            ("magento.yaml", Worker, &["storeToken", "crmToken"]),
            // Adobe Commerce webhooks are verified with a public key: no shared secret.
            ("magento-adobe.yaml", Receiver, &[]),
        ];
        for (file, role, own) in cases {
            let expected: Vec<&str> = own.iter().chain(&redis).copied().collect();
            assert_eq!(
                names(SecretKey::read_by_role(role, &spec(file))),
                expected,
                "{file} {role:?}"
            );
        }
        let shopify = spec("shopify.yaml");
        let adobe = spec("magento-adobe.yaml");
        assert!(!SecretKey::WebhookSecret.required_by(Role::Receiver, &adobe));
        assert!(SecretKey::WebhookSecret.required_by(Role::Receiver, &shopify));
        assert!(!SecretKey::WebhookSecretPrevious.required_by(Role::Receiver, &shopify));
        assert!(!SecretKey::CrmToken.required_by(Role::Receiver, &shopify));
    }
}
