//! Wire types of the HubSpot CRM v3/v4 subset the simulator serves, and HubSpot's error
//! body. Property values are strings on the wire, as in HubSpot.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The CRM object types the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    Contacts,
    Deals,
    Products,
    LineItems,
}

impl ObjectType {
    pub const ALL: [ObjectType; 4] = [
        ObjectType::Contacts,
        ObjectType::Deals,
        ObjectType::Products,
        ObjectType::LineItems,
    ];

    /// Parses a path segment; HubSpot also accepts the singular names and object type ids.
    pub fn parse(segment: &str) -> Option<Self> {
        match segment {
            "contacts" | "contact" | "0-1" => Some(Self::Contacts),
            "deals" | "deal" | "0-3" => Some(Self::Deals),
            "products" | "product" | "0-7" => Some(Self::Products),
            "line_items" | "line_item" | "0-8" => Some(Self::LineItems),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Deals => "deals",
            Self::Products => "products",
            Self::LineItems => "line_items",
        }
    }

    /// The default property group HubSpot ships for the type.
    pub fn default_group(self) -> &'static str {
        match self {
            Self::Contacts => "contactinformation",
            Self::Deals => "dealinformation",
            Self::Products => "productinformation",
            Self::LineItems => "lineiteminformation",
        }
    }

    /// Built-in properties (besides `hs_object_id`), and whether each is unique.
    pub fn builtin_properties(self) -> &'static [(&'static str, bool)] {
        match self {
            Self::Contacts => &[
                ("email", true),
                ("firstname", false),
                ("lastname", false),
                ("phone", false),
            ],
            Self::Deals => &[
                ("dealname", false),
                ("amount", false),
                ("pipeline", false),
                ("dealstage", false),
                ("closedate", false),
                ("deal_currency_code", false),
            ],
            Self::Products => &[
                ("name", false),
                ("price", false),
                ("hs_sku", false),
                ("description", false),
            ],
            Self::LineItems => &[
                ("name", false),
                ("quantity", false),
                ("price", false),
                ("hs_product_id", false),
                ("hs_sku", false),
            ],
        }
    }
}

/// `{"inputs":[…]}` of every batch call.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BatchInput<T> {
    pub inputs: Vec<T>,
}

/// `batch/read` by a unique property: `{"idProperty", "inputs": [{"id"}], "properties"}`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BatchReadRequest {
    #[serde(default)]
    pub id_property: Option<String>,
    pub inputs: Vec<ReadInput>,
    #[serde(default)]
    pub properties: Vec<String>,
}

/// One id to read.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ReadInput {
    pub id: String,
}

/// One input of `batch/upsert`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpsertInput {
    pub id_property: String,
    pub id: String,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_write_trace_id: Option<String>,
}

/// A property definition (`POST /crm/v3/properties/{type}`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PropertyDef {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(rename = "type", default = "default_type")]
    pub kind: String,
    #[serde(default = "default_field_type")]
    pub field_type: String,
    #[serde(default)]
    pub group_name: String,
    #[serde(default)]
    pub has_unique_value: bool,
}

fn default_type() -> String {
    "string".into()
}

fn default_field_type() -> String {
    "text".into()
}

/// A property group (`POST /crm/v3/properties/{type}/groups`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GroupDef {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub display_order: i64,
}

/// `{"id": "…"}` in association inputs.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ObjectId {
    pub id: String,
}

/// One input of the v4 default batch associate.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct AssociationInput {
    pub from: ObjectId,
    pub to: ObjectId,
}

/// One search filter.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub property_name: String,
    pub operator: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// A group of filters (ANDed); groups are ORed.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct FilterGroup {
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// `POST /crm/v3/objects/{type}/search` body.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    #[serde(default)]
    pub filter_groups: Vec<FilterGroup>,
    #[serde(default)]
    pub properties: Vec<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub after: Option<String>,
}

/// HubSpot's error categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    ValidationError,
    ObjectNotFound,
    Conflict,
    InvalidAuthentication,
    RateLimits,
}

/// HubSpot's error body (`{"status":"error","message",…,"category",…}`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub status: &'static str,
    pub message: String,
    pub correlation_id: String,
    pub category: Category,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorDetail>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, Vec<String>>,
}

/// One entry of `errors[]` in an error body.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub in_: Option<String>,
}

impl ErrorBody {
    pub fn new(category: Category, message: impl Into<String>) -> Self {
        Self {
            status: "error",
            message: message.into(),
            correlation_id: correlation_id(),
            category,
            errors: Vec::new(),
            context: BTreeMap::new(),
        }
    }

    pub fn with_detail(mut self, message: impl Into<String>, code: &str, in_: &str) -> Self {
        self.errors.push(ErrorDetail {
            message: message.into(),
            code: Some(code.into()),
            in_: Some(in_.into()),
        });
        self
    }

    pub fn with_context(mut self, key: &str, values: Vec<String>) -> Self {
        self.context.insert(key.into(), values);
        self
    }
}

/// A random UUID-shaped id, as HubSpot puts in `correlationId`.
pub fn correlation_id() -> String {
    let a = fastrand::u128(..);
    let hex = format!("{a:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A stored CRM object as the API returns it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CrmObject {
    pub id: String,
    pub properties: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
    pub archived: bool,
}
