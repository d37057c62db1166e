use serde_json::{Value, json};

use crate::support::hubspot::{HubspotSim, TOKEN};

pub fn client() -> reqwest::Client {
    syncline::tls::http_client()
}

pub async fn call(
    sim: &HubspotSim,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = client().request(method, sim.url(path)).bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, headers, value)
}

pub async fn post(sim: &HubspotSim, path: &str, body: Value) -> (u16, Value) {
    let (status, _, body) = call(sim, reqwest::Method::POST, path, Some(body)).await;
    (status, body)
}

pub async fn get(sim: &HubspotSim, path: &str) -> Value {
    let (status, _, body) = call(sim, reqwest::Method::GET, path, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Creates the `syncline` group and the unique `syncline_order_key` deal property.
pub async fn bootstrap_order_key(sim: &HubspotSim) {
    let (status, body) = post(
        sim,
        "/crm/v3/properties/deals/groups",
        json!({"name": "syncline", "label": "syncline", "displayOrder": -1}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        sim,
        "/crm/v3/properties/deals",
        json!({"name": "syncline_order_key", "label": "Order key", "type": "string",
               "fieldType": "text", "groupName": "syncline", "hasUniqueValue": true}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

fn sample_deal() -> Value {
    json!({"inputs":[{"idProperty":"syncline_order_key","id":"shopify:acme:820982911946154508",
        "properties":{"dealname":"Order #1001","amount":"403.00","deal_currency_code":"USD",
                      "pipeline":"default","dealstage":"closedwon","closedate":"2026-11-20T15:01:02Z"}}]})
}

#[tokio::test]
async fn a_bad_or_missing_token_gets_hubspots_401() {
    let sim = HubspotSim::with_limit(100).await;
    for auth in [Some("Bearer wrong"), None] {
        let mut request = client().get(sim.url("/crm/v3/properties/deals"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "error");
        assert_eq!(body["category"], "INVALID_AUTHENTICATION");
        assert_eq!(body["correlationId"].as_str().unwrap().len(), 36);
    }
    assert_eq!(sim.sim.stats().unauthorized, 2);
}

#[tokio::test]
async fn property_bootstrap_is_conflict_on_repeat() {
    let sim = HubspotSim::with_limit(100).await;
    bootstrap_order_key(&sim).await;
    let (status, body) = post(
        &sim,
        "/crm/v3/properties/deals",
        json!({"name": "syncline_order_key", "label": "x", "groupName": "syncline",
               "hasUniqueValue": true}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["category"], "CONFLICT");
    let (status, _) = post(
        &sim,
        "/crm/v3/properties/deals/groups",
        json!({"name": "syncline", "label": "again"}),
    )
    .await;
    assert_eq!(status, 409);
    let property = get(&sim, "/crm/v3/properties/deals/syncline_order_key").await;
    assert_eq!(property["hasUniqueValue"], true);
    let groups = get(&sim, "/crm/v3/properties/deals/groups").await;
    assert!(
        groups["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "syncline")
    );
}

#[tokio::test]
async fn deal_upsert_by_unique_key_creates_once_then_updates() {
    let sim = HubspotSim::with_limit(100).await;
    let (status, body) = post(&sim, "/crm/v3/objects/deals/batch/upsert", sample_deal()).await;
    assert_eq!(status, 400, "no unique property yet: {body}");
    assert_eq!(body["category"], "VALIDATION_ERROR");
    bootstrap_order_key(&sim).await;
    let (status, headers, first) = call(
        &sim,
        reqwest::Method::POST,
        "/crm/v3/objects/deals/batch/upsert",
        Some(sample_deal()),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["status"], "COMPLETE");
    assert_eq!(first["results"][0]["new"], true);
    assert_eq!(headers["x-hubspot-ratelimit-max"], "100");
    assert!(headers.contains_key("x-hubspot-ratelimit-remaining"));
    let (status, second) = post(&sim, "/crm/v3/objects/deals/batch/upsert", sample_deal()).await;
    assert_eq!(status, 200);
    assert_eq!(second["results"][0]["new"], false);
    assert_eq!(second["results"][0]["id"], first["results"][0]["id"]);
    let deals = get(&sim, "/_sim/objects/deals").await;
    let deals = deals["results"].as_array().unwrap();
    assert_eq!(deals.len(), 1);
    assert_eq!(deals[0]["properties"]["amount"], "403.00");
    assert_eq!(
        deals[0]["properties"]["syncline_order_key"],
        "shopify:acme:820982911946154508"
    );
    let stats = get(&sim, "/_sim/stats").await;
    assert_eq!(stats["writes"], 2);
    assert_eq!(stats["duplicates"], json!([]));
}

#[tokio::test]
async fn an_invalid_email_is_a_207_per_input_error() {
    let sim = HubspotSim::with_limit(100).await;
    let (status, body) = post(
        &sim,
        "/crm/v3/objects/contacts/batch/upsert",
        json!({"inputs": [
            {"idProperty": "email", "id": "jon@example.com", "properties": {"firstname": "Jon"}},
            {"idProperty": "email", "id": "not an email", "properties": {}}
        ]}),
    )
    .await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body["numErrors"], 1);
    assert_eq!(body["results"].as_array().unwrap().len(), 1);
    let error = &body["errors"][0];
    assert_eq!(error["category"], "VALIDATION_ERROR");
    assert_eq!(error["context"]["id"], json!(["not an email"]));
    assert_eq!(error["errors"][0]["code"], "INVALID_EMAIL");
    let contacts = get(&sim, "/_sim/objects/contacts").await;
    assert_eq!(contacts["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn non_unique_id_property_and_oversized_batches_are_400() {
    let sim = HubspotSim::with_limit(100).await;
    let (status, body) = post(
        &sim,
        "/crm/v3/objects/contacts/batch/upsert",
        json!({"inputs": [{"idProperty": "firstname", "id": "Jon", "properties": {}}]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["category"], "VALIDATION_ERROR");
    let inputs: Vec<Value> = (0..101)
        .map(|i| json!({"idProperty": "email", "id": format!("u{i}@example.com")}))
        .collect();
    let (status, _) = post(
        &sim,
        "/crm/v3/objects/contacts/batch/upsert",
        json!({"inputs": inputs}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post(
        &sim,
        "/crm/v3/objects/contacts/batch/upsert",
        json!({"x": 1}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post(&sim, "/crm/v3/objects/widgets/batch/upsert", sample_deal()).await;
    assert_eq!(status, 400);
    assert_eq!(get(&sim, "/_sim/stats").await["writes"], 0);
}

#[tokio::test]
async fn search_and_associations() {
    let sim = HubspotSim::with_limit(100).await;
    bootstrap_order_key(&sim).await;
    let (_, contact) = post(
        &sim,
        "/crm/v3/objects/contacts/batch/upsert",
        json!({"inputs": [{"idProperty": "email", "id": "jon@example.com"},
                          {"idProperty": "email", "id": "ann@example.com"}]}),
    )
    .await;
    let (_, deal) = post(&sim, "/crm/v3/objects/deals/batch/upsert", sample_deal()).await;
    let contact_id = contact["results"][0]["id"].as_str().unwrap().to_string();
    let deal_id = deal["results"][0]["id"].as_str().unwrap().to_string();

    let (status, found) = post(
        &sim,
        "/crm/v3/objects/contacts/search",
        json!({"filterGroups": [{"filters": [
            {"propertyName": "email", "operator": "EQ", "value": "jon@example.com"}]}],
            "properties": ["email"], "limit": 10}),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["total"], 1);
    assert_eq!(found["results"][0]["id"], contact_id.as_str());
    let (status, _) = post(
        &sim,
        "/crm/v3/objects/contacts/search",
        json!({"filterGroups": [], "limit": 201}),
    )
    .await;
    assert_eq!(status, 400);

    let (status, body) = post(
        &sim,
        "/crm/v4/associations/deals/contacts/batch/associate/default",
        json!({"inputs": [{"from": {"id": deal_id}, "to": {"id": contact_id}}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"][0]["associationSpec"]["associationTypeId"],
        3
    );
    let (status, body) = post(
        &sim,
        "/crm/v4/associations/deals/contacts/batch/associate/default",
        json!({"inputs": [{"from": {"id": deal_id}, "to": {"id": "424242"}}]}),
    )
    .await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    let all = get(&sim, "/_sim/associations").await;
    let all = all["results"].as_array().unwrap();
    assert_eq!(all.len(), 2, "both directions: {all:?}");
    assert!(
        all.iter()
            .any(|a| a["typeId"] == 4 && a["fromId"] == contact_id.as_str())
    );
}
