//! Where a pipeline's events come from: the store platform and its platform-specific
//! settings (part of the SyncPipeline spec; see spec.rs).

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::object_kind::ObjectKind;

/// Where events come from.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.platform == oldSelf.platform")
        .message("spec.store.platform is immutable: create a new SyncPipeline to sync another platform")
        .field_path(".platform"),
    validation = Rule::new("isURL(self.url) && url(self.url).getScheme() in ['http', 'https'] && url(self.url).getHostname() != ''")
        .message("spec.store.url must be an absolute http(s) URL, such as https://acme.example")
        .field_path(".url"),
    validation = Rule::new("self.platform != 'shopify' || has(self.shopify)")
        .message("spec.store.shopify (shopDomain) is required when spec.store.platform is shopify")
        .reason(Reason::FieldValueRequired),
    validation = Rule::new("self.platform != 'magento' || has(self.magento)")
        .message("spec.store.magento (storeCode, webhooks) is required when spec.store.platform is magento")
        .reason(Reason::FieldValueRequired),
    validation = Rule::new("self.platform == 'shopify' || !has(self.shopify)")
        .message("spec.store.shopify may be set only when spec.store.platform is shopify")
        .field_path(".shopify"),
    validation = Rule::new("self.platform == 'magento' || !has(self.magento)")
        .message("spec.store.magento may be set only when spec.store.platform is magento")
        .field_path(".magento"),
    validation = Rule::new("self.platform == 'woocommerce' || !has(self.woocommerce)")
        .message("spec.store.woocommerce may be set only when spec.store.platform is woocommerce")
        .field_path(".woocommerce"),
)]
pub struct StoreSpec {
    /// The store platform: shopify, woocommerce or magento. Immutable.
    pub platform: StorePlatform,

    /// The store's base URL, e.g. https://acme.example (for Shopify, the shop's admin host,
    /// e.g. https://acme.myshopify.com).
    #[schemars(length(min = 1, max = 2048))]
    pub url: String,

    /// The store's stable identity in every CRM key syncline writes (deals, line items,
    /// products). Defaults to shopify.shopDomain for Shopify, and elsewhere to the canonical
    /// form of url (host and path, without scheme, port 80/443, a leading www. or a trailing
    /// slash), so http → https never re-keys a store. Set it to the old value before moving
    /// a WooCommerce or Magento store to another domain, or its objects are created anew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9.:/_-]{0,252}$"))]
    pub id: Option<String>,

    /// Shopify settings; required when platform is shopify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shopify: Option<ShopifyOptions>,

    /// WooCommerce settings; optional when platform is woocommerce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub woocommerce: Option<WooCommerceOptions>,

    /// Magento 2 settings; required when platform is magento.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub magento: Option<MagentoOptions>,
}

impl StoreSpec {
    /// The identity CRM keys are made from (see `id`); `None` when `url` is unreadable.
    pub fn identity(&self) -> Option<String> {
        if let Some(id) = &self.id {
            return Some(id.clone());
        }
        if let Some(shopify) = &self.shopify {
            return Some(shopify.shop_domain.to_ascii_lowercase());
        }
        canonical_url(&self.url)
    }

    /// Whether webhooks are verified with the Secret's shared `webhookSecret`: every scheme
    /// but Adobe Commerce's, which signs with a key pair (the spec holds the public key).
    /// The receiver's start-up check and the operator's Secret check both ask this.
    pub fn verifies_with_shared_secret(&self) -> bool {
        match self.platform {
            StorePlatform::Magento => self
                .magento
                .as_ref()
                .is_none_or(|m| m.webhooks.scheme != MagentoWebhookScheme::Adobe),
            StorePlatform::Shopify | StorePlatform::WooCommerce => true,
        }
    }
}

/// `https://WWW.Shop.example:443/store/` → `shop.example/store`.
pub fn canonical_url(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    let port = parsed
        .port()
        .filter(|p| *p != 80 && *p != 443)
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let path = parsed.path().trim_end_matches('/');
    Some(format!("{host}{port}{path}"))
}

/// Supported store platforms.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum StorePlatform {
    Shopify,
    #[serde(rename = "woocommerce")]
    WooCommerce,
    Magento,
}

impl StorePlatform {
    pub const ALL: [Self; 3] = [Self::Shopify, Self::WooCommerce, Self::Magento];

    /// The lower-case name used in URLs (`/webhooks/<name>`), Redis keys and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shopify => "shopify",
            Self::WooCommerce => "woocommerce",
            Self::Magento => "magento",
        }
    }

    /// The platform named by `as_str`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Whether the platform offers `kind` at all: carts (abandoned checkouts) only on
    /// Shopify, whose Admin API lists checkouts; WooCommerce and Magento have no checkout
    /// webhooks or listing. The poller lists, and the connectors map, only what this allows;
    /// the CRD's CEL rule on `spec.objects` states the same for the API server (a test
    /// keeps the two in step).
    pub fn supports(self, kind: ObjectKind) -> bool {
        kind != ObjectKind::Carts || self == Self::Shopify
    }
}

impl super::SyncPipelineSpec {
    /// The object types a backfill imports, by the names its progress uses (what the
    /// operator reports in `status.backfill`): those asked for that the store offers, and
    /// none without `spec.polling.backfillSince`.
    pub fn backfilled_objects(&self) -> Vec<String> {
        if self.polling.backfill_since.is_none() {
            return Vec::new();
        }
        self.objects
            .iter()
            .filter(|k| self.store.platform.supports(**k))
            .map(|k| k.as_str().to_string())
            .collect()
    }
}

/// Shopify-specific settings.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyOptions {
    /// The shop's permanent domain, e.g. acme.myshopify.com. Webhooks whose
    /// X-Shopify-Shop-Domain names another shop are rejected.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$"))]
    pub shop_domain: String,

    /// The Admin API version used for polling, e.g. 2025-07.
    #[serde(default = "default_shopify_api_version")]
    #[schemars(regex(pattern = r"^[0-9]{4}-(01|04|07|10)$"))]
    pub api_version: String,
}

/// WooCommerce-specific settings.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WooCommerceOptions {
    /// Path of the WooCommerce REST API below the store URL.
    #[serde(default = "default_woocommerce_api_path")]
    #[schemars(regex(pattern = r"^/[A-Za-z0-9/_.-]*$"))]
    pub api_path: String,
}

impl Default for WooCommerceOptions {
    fn default() -> Self {
        Self {
            api_path: default_woocommerce_api_path(),
        }
    }
}

/// Magento 2 (Adobe Commerce) settings.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MagentoOptions {
    /// The store view code used in REST paths (/rest/<storeCode>/V1/…).
    #[serde(default = "default_magento_store_code")]
    #[schemars(regex(pattern = r"^[a-z0-9_]+$"))]
    pub store_code: String,

    /// How webhooks are signed. Open-source Magento sends none by itself; they come from an
    /// extension or from Adobe Commerce Webhooks.
    pub webhooks: MagentoWebhooks,
}

/// The signature scheme of a Magento store's webhooks.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.scheme != 'adobe' || has(self.publicKey)")
        .message("spec.store.magento.webhooks.publicKey (PEM) is required when scheme is adobe")
        .reason(Reason::FieldValueRequired),
    validation = Rule::new("self.scheme == 'adobe' || !has(self.publicKey)")
        .message("spec.store.magento.webhooks.publicKey is used only with scheme adobe")
        .field_path(".publicKey"),
)]
pub struct MagentoWebhooks {
    /// standard (Standard Webhooks, recommended for an extension), hmac (HMAC-SHA256 of the
    /// body in a header, as common extensions send it) or adobe (Adobe Commerce Webhooks,
    /// RSA-SHA256 checked with publicKey).
    pub scheme: MagentoWebhookScheme,

    /// A header that names each delivery's topic (e.g. x-magento-topic), for extensions that
    /// send the bare REST entity. Without it the topic comes from the body's envelope
    /// (`type`), and a bare entity's kind from its own fields (an order has entity_id and
    /// increment_id, a product sku and type_id, a customer email and website_id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9-]{1,64}$"))]
    pub topic_header: Option<String>,

    /// With scheme hmac: the header that carries the signature.
    #[serde(default = "default_magento_signature_header")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9-]+$"))]
    pub signature_header: String,

    /// With scheme hmac: how the signature is encoded, hex or base64.
    #[serde(default)]
    pub signature_encoding: SignatureEncoding,

    /// With scheme adobe: the PEM public key from the Adobe Commerce admin. Never fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^-----BEGIN PUBLIC KEY-----"))]
    pub public_key: Option<String>,
}

/// Magento webhook signature schemes.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MagentoWebhookScheme {
    Standard,
    Hmac,
    Adobe,
}

/// Encodings of an HMAC signature header.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

fn default_shopify_api_version() -> String {
    "2025-07".into()
}
fn default_woocommerce_api_path() -> String {
    "/wp-json/wc/v3".into()
}
fn default_magento_store_code() -> String {
    "default".into()
}
fn default_magento_signature_header() -> String {
    "x-magento-signature".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backfill_imports_what_was_asked_for_that_the_store_offers() {
        let spec = |file: &str, since: Option<&str>| {
            let mut spec = crate::api::examples::pipeline(file).spec;
            spec.objects = vec![ObjectKind::Orders, ObjectKind::Carts];
            spec.polling.backfill_since = since.map(String::from);
            spec
        };
        let since = Some("2026-01-01T00:00:00Z");
        assert_eq!(
            spec("shopify.yaml", since).backfilled_objects(),
            ["orders", "carts"]
        );
        assert_eq!(
            spec("woocommerce.yaml", since).backfilled_objects(),
            ["orders"]
        );
        assert!(spec("shopify.yaml", None).backfilled_objects().is_empty());
    }

    #[test]
    fn canonical_urls_survive_scheme_case_www_and_slashes() {
        for (url, want) in [
            ("https://shop.corner.example", Some("shop.corner.example")),
            ("http://shop.corner.example/", Some("shop.corner.example")),
            (
                "https://WWW.Shop.Corner.Example:443/",
                Some("shop.corner.example"),
            ),
            (
                "http://shop.example:8080/store/",
                Some("shop.example:8080/store"),
            ),
            ("https://shop.example/store?x=1", Some("shop.example/store")),
            ("not a url", None),
        ] {
            assert_eq!(canonical_url(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn identity_prefers_the_explicit_id_then_the_shop_domain() {
        let mut store = StoreSpec {
            platform: StorePlatform::Shopify,
            url: "https://shop.acme.example".into(),
            id: None,
            shopify: Some(ShopifyOptions {
                shop_domain: "acme.myshopify.com".into(),
                api_version: default_shopify_api_version(),
            }),
            woocommerce: None,
            magento: None,
        };
        assert_eq!(store.identity().as_deref(), Some("acme.myshopify.com"));
        store.id = Some("acme".into());
        assert_eq!(store.identity().as_deref(), Some("acme"));
        store.platform = StorePlatform::WooCommerce;
        store.shopify = None;
        store.id = None;
        assert_eq!(store.identity().as_deref(), Some("shop.acme.example"));
    }
}
