//! The kinds of record a pipeline syncs: one name each in the spec, event envelopes, Redis
//! keys and metric labels. Which platform offers which kind is `StorePlatform::supports`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Kinds of record a pipeline syncs.
#[derive(
    JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    Customers,
    Orders,
    Products,
    Carts,
}

impl ObjectKind {
    pub const ALL: [Self; 4] = [Self::Customers, Self::Orders, Self::Products, Self::Carts];

    /// The name in the spec, event envelopes, Redis keys and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Orders => "orders",
            Self::Products => "products",
            Self::Carts => "carts",
        }
    }

    /// The kind named by `as_str`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// One object of the kind, in messages: `order`, `cart`.
    pub fn singular(self) -> &'static str {
        match self {
            Self::Customers => "customer",
            Self::Orders => "order",
            Self::Products => "product",
            Self::Carts => "cart",
        }
    }
}
