//! What syncline needs of the HubSpot schema: the object types it writes, the unique
//! custom properties that key them, and the group those properties live in.

/// The property group syncline's custom properties live in.
pub const GROUP: &str = "syncline";
/// Unique key of a deal: `platform:store:order id` (checkouts: `…:checkout:id`).
pub const ORDER_KEY: &str = "syncline_order_key";
/// Unique key of a product: `platform:store:sku:SKU`, else `platform:store:product[:variant]`.
pub const PRODUCT_KEY: &str = "syncline_product_key";
/// Unique key of a line item: `platform:store:order id:line id`.
pub const LINE_ITEM_KEY: &str = "syncline_line_item_key";

/// HubSpot object types syncline writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HubspotObject {
    Contacts,
    Deals,
    Products,
    LineItems,
}

impl HubspotObject {
    pub const ALL: [HubspotObject; 4] = [
        HubspotObject::Contacts,
        HubspotObject::Deals,
        HubspotObject::Products,
        HubspotObject::LineItems,
    ];

    /// The path segment, e.g. `line_items`.
    pub fn path(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Deals => "deals",
            Self::Products => "products",
            Self::LineItems => "line_items",
        }
    }

    /// The type named by its path segment.
    pub fn parse(path: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.path() == path)
    }

    /// The unique property upserts of this type are keyed by.
    pub fn id_property(self) -> &'static str {
        match self {
            Self::Contacts => "email",
            Self::Deals => ORDER_KEY,
            Self::Products => PRODUCT_KEY,
            Self::LineItems => LINE_ITEM_KEY,
        }
    }
}

/// A custom property syncline needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertySpec {
    pub object: HubspotObject,
    pub name: &'static str,
    pub label: &'static str,
    pub unique: bool,
}

/// The custom properties (all in [`GROUP`]) the worker bootstraps on start.
pub fn required_properties() -> Vec<PropertySpec> {
    vec![
        PropertySpec {
            object: HubspotObject::Deals,
            name: ORDER_KEY,
            label: "syncline order key",
            unique: true,
        },
        PropertySpec {
            object: HubspotObject::Products,
            name: PRODUCT_KEY,
            label: "syncline product key",
            unique: true,
        },
        PropertySpec {
            object: HubspotObject::LineItems,
            name: LINE_ITEM_KEY,
            label: "syncline line item key",
            unique: true,
        },
    ]
}
