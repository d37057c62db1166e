//! The webhook routes, which the handlers serve and verification tells apart: its own
//! module so neither depends on the other for it.

/// The webhook routes; each is served only when it fits the pipeline's platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Shopify,
    WooCommerce,
    Magento,
    Standard,
}

impl Route {
    /// The route's name in URLs and in the `platform` metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shopify => "shopify",
            Self::WooCommerce => "woocommerce",
            Self::Magento => "magento",
            Self::Standard => "standard",
        }
    }
}
