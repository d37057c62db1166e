use serde_json::{Value, json};

use crate::api::{call, get, post};
use crate::support::hubspot::HubspotSim;

async fn read_properties(sim: &HubspotSim) -> (u16, reqwest::header::HeaderMap, Value) {
    call(
        sim,
        reqwest::Method::GET,
        "/crm/v3/properties/contacts",
        None,
    )
    .await
}

#[tokio::test]
async fn the_rolling_limit_answers_hubspots_429() {
    let sim = HubspotSim::with_limit(3).await;
    for expected_remaining in ["2", "1", "0"] {
        let (status, headers, _) = read_properties(&sim).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-hubspot-ratelimit-remaining"], expected_remaining);
        assert_eq!(
            headers["x-hubspot-ratelimit-interval-milliseconds"],
            "10000"
        );
        assert!(headers.contains_key("x-hubspot-ratelimit-daily-remaining"));
    }
    let (status, headers, body) = read_properties(&sim).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "RATE_LIMIT");
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(
        body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert!(body["correlationId"].is_string());
    assert_eq!(headers["x-hubspot-ratelimit-max"], "3");
    assert_eq!(headers["x-hubspot-ratelimit-remaining"], "0");
    assert!(!headers.contains_key("retry-after"));
    let stats = get_stats_without_limit(&sim).await;
    assert_eq!(stats["rateLimited"], 1);
}

/// `/_sim/*` is outside the limits, so inspection never eats the budget under test.
async fn get_stats_without_limit(sim: &HubspotSim) -> Value {
    get(sim, "/_sim/stats").await
}

#[tokio::test]
async fn forced_429_burst_outage_and_errors_are_settable_at_runtime() {
    let sim = HubspotSim::with_limit(1000).await;
    let (status, _) = post(
        &sim,
        "/_sim/faults",
        json!({"burst429": 2, "retryAfterSecs": 3}),
    )
    .await;
    assert_eq!(status, 200);
    for _ in 0..2 {
        let (status, headers, body) = read_properties(&sim).await;
        assert_eq!(status, 429);
        assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
        assert_eq!(headers["retry-after"], "3");
    }
    assert_eq!(read_properties(&sim).await.0, 200);

    post(&sim, "/_sim/faults", json!({"outageMs": 60_000})).await;
    assert_eq!(read_properties(&sim).await.0, 503);
    post(&sim, "/_sim/faults", json!({"errorRate": 1.0})).await;
    let status = read_properties(&sim).await.0;
    assert!((500..=504).contains(&status), "{status}");
    let (status, _) = post(&sim, "/_sim/faults", json!({"errorRate": 2.0})).await;
    assert_eq!(status, 400);
    post(&sim, "/_sim/faults", json!({})).await;
    assert_eq!(read_properties(&sim).await.0, 200);

    let stats = get(&sim, "/_sim/stats").await;
    assert_eq!(stats["forced429"], 2);
    assert_eq!(stats["outageRejections"], 1);
    assert_eq!(stats["serverErrors"], 1);
    assert_eq!(stats["rateLimited"], 0);
}
