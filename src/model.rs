//! The canonical records every store connector maps into and every CRM connector maps out
//! of. Ids stay text (Shopify's are 64-bit), money stays a decimal string (never a float),
//! and times are UTC instants.

use jiff::Timestamp;

pub use crate::api::{ObjectKind, StorePlatform};

/// Which store a record came from: `platform` plus the pipeline's store name (e.g. `acme`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRef {
    pub platform: StorePlatform,
    pub store: String,
}

impl StoreRef {
    pub fn new(platform: StorePlatform, store: impl Into<String>) -> Self {
        Self {
            platform,
            store: store.into(),
        }
    }

    /// `platform:store:suffix`, the prefix of every CRM unique key syncline writes.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}:{}:{suffix}", self.platform.as_str(), self.store)
    }

    /// The suffix of a key [`StoreRef::key`] built (for a deal, the store's order id):
    /// what tools reading the CRM back match against the store.
    pub fn suffix_of(key: &str) -> Option<&str> {
        key.splitn(3, ':').nth(2).filter(|s| !s.is_empty())
    }
}

/// A decimal amount in a currency, both as the store sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// Decimal text, e.g. `403.00`.
    pub amount: String,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub updated_at: Timestamp,
}

/// Where an order is in its life, across platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrderStatus {
    /// Placed, not paid.
    Pending,
    /// Payment authorized, not captured.
    Authorized,
    /// Paid, not yet fulfilled.
    Paid,
    /// Being worked on (WooCommerce/Magento `processing`).
    Processing,
    /// Held for review.
    OnHold,
    /// Fulfilled or completed.
    Completed,
    Cancelled,
    Refunded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    pub id: String,
    pub product_id: Option<String>,
    pub variant_id: Option<String>,
    pub sku: Option<String>,
    pub name: String,
    /// Decimal text (Magento quantities may be fractional).
    pub quantity: String,
    /// Unit price, decimal text.
    pub price: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    /// What the shopper sees, e.g. `#1001` or `000000042`.
    pub number: String,
    pub email: Option<String>,
    pub customer: Option<Customer>,
    pub total: Money,
    pub status: OrderStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub line_items: Vec<LineItem>,
}

/// A sellable variant of a product (a product without variants has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub id: Option<String>,
    pub sku: Option<String>,
    pub price: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub variants: Vec<Variant>,
    pub updated_at: Timestamp,
}

/// A cart or checkout; abandoned when not completed some time after its last update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub id: String,
    pub email: Option<String>,
    pub total: Money,
    pub line_items: Vec<LineItem>,
    pub recovery_url: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub completed_at: Option<Timestamp>,
}

/// One canonical record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Customer(Customer),
    Order(Order),
    Product(Product),
    Checkout(Checkout),
}

impl Record {
    pub fn kind(&self) -> ObjectKind {
        match self {
            Self::Customer(_) => ObjectKind::Customers,
            Self::Order(_) => ObjectKind::Orders,
            Self::Product(_) => ObjectKind::Products,
            Self::Checkout(_) => ObjectKind::Carts,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Customer(c) => &c.id,
            Self::Order(o) => &o.id,
            Self::Product(p) => &p.id,
            Self::Checkout(c) => &c.id,
        }
    }

    pub fn updated_at(&self) -> Timestamp {
        match self {
            Self::Customer(c) => c.updated_at,
            Self::Order(o) => o.updated_at,
            Self::Product(p) => p.updated_at,
            Self::Checkout(c) => c.updated_at,
        }
    }

    /// The object key watermarks and coalescing use: `orders:820982911946154508`.
    pub fn object_key(&self) -> String {
        format!("{}:{}", self.kind().as_str(), self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keys_suffix_reads_back() {
        let store = StoreRef::new(StorePlatform::Shopify, "acme");
        for suffix in ["820982911946154508", "sku:AB-1", "7:42"] {
            assert_eq!(StoreRef::suffix_of(&store.key(suffix)), Some(suffix));
        }
        for bad in ["", "shopify", "shopify:acme", "shopify:acme:"] {
            assert_eq!(StoreRef::suffix_of(bad), None, "{bad:?}");
        }
    }
}
