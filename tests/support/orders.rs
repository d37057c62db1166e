//! Store payloads for tests: the Shopify order sample of docs/api-contracts.md, and orders
//! built from it with another id, version time, total, buyer and line item.

use serde_json::{Value, json};

/// The Shopify orders/create sample of docs/api-contracts.md.
pub const SHOPIFY_ORDER: &str = r##"{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","name":"#1001","order_number":1001,"email":"jon@example.com","created_at":"2026-11-20T10:01:02-05:00","updated_at":"2026-11-20T10:01:02-05:00","currency":"USD","total_price":"403.00","subtotal_price":"398.00","financial_status":"paid","fulfillment_status":null,"cancelled_at":null,"customer":{"id":115310627314723954,"email":"jon@example.com","first_name":"Jon","last_name":"Snow","phone":null,"created_at":"2026-11-01T09:00:00-05:00","updated_at":"2026-11-20T10:01:02-05:00"},"line_items":[{"id":866550311766439020,"product_id":632910392,"variant_id":808950810,"sku":"IPOD2008PINK","title":"IPod Nano - 8GB","quantity":2,"price":"199.00"}]}"##;

/// A Shopify order: the sample with another id, version time, total, buyer and line item.
pub fn order(id: u64, minute: u32, email: &str) -> Value {
    let mut order: Value = serde_json::from_str(SHOPIFY_ORDER).unwrap();
    let at = stamp(minute);
    order["id"] = json!(id);
    order["name"] = json!(format!("#{id}"));
    order["updated_at"] = json!(at);
    order["total_price"] = json!(format!("{minute}.00"));
    order["email"] = json!(email);
    order["customer"]["id"] = json!(id + 1_000_000);
    order["customer"]["email"] = json!(email);
    order["customer"]["updated_at"] = json!(at);
    order["line_items"][0]["id"] = json!(id * 10);
    order
}

/// `2026-11-20T10:00:00-05:00` plus `minute` minutes.
pub fn stamp(minute: u32) -> String {
    let base: jiff::Timestamp = "2026-11-20T15:00:00Z".parse().unwrap();
    (base + jiff::SignedDuration::from_secs(i64::from(minute) * 60)).to_string()
}
