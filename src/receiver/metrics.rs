//! Prometheus metrics of the receiver. Label values come from fixed sets only (route,
//! a known-topic list, outcome codes), so a hostile sender cannot blow up cardinality.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

/// Topics that get their own label value; everything else is counted as "other".
const KNOWN_TOPICS: &[&str] = &[
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/delete",
    "customers/create",
    "customers/update",
    "customers/delete",
    "products/create",
    "products/update",
    "products/delete",
    "checkouts/create",
    "checkouts/update",
    "checkouts/delete",
    "order.created",
    "order.updated",
    "order.deleted",
    "order.restored",
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "product.created",
    "product.updated",
    "product.deleted",
    "product.restored",
];

/// The label value for a topic.
pub fn topic_label(topic: &str) -> &'static str {
    KNOWN_TOPICS
        .iter()
        .find(|t| **t == topic)
        .copied()
        .unwrap_or("other")
}

/// The receiver's metrics, in a registry of their own so tests can run many receivers in
/// one process.
#[derive(Clone, Debug)]
pub struct ReceiverMetrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    duplicates: IntCounterVec,
    enqueue_failures: IntCounterVec,
    in_flight: IntGauge,
}

impl ReceiverMetrics {
    /// Registers every metric; fails only on a programming error (a duplicate name).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "syncline_receiver_requests_total",
                "Webhook deliveries by route, topic and outcome.",
            ),
            &["platform", "topic", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "syncline_receiver_request_duration_seconds",
                "Time from request start to answer, by route.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["platform"],
        )?;
        let duplicates = IntCounterVec::new(
            Opts::new(
                "syncline_receiver_duplicates_total",
                "Deliveries whose id was already seen; answered 200, nothing enqueued.",
            ),
            &["platform"],
        )?;
        let enqueue_failures = IntCounterVec::new(
            Opts::new(
                "syncline_receiver_enqueue_failures_total",
                "Verified deliveries Redis did not take (answered 503).",
            ),
            &["reason"],
        )?;
        let in_flight = IntGauge::new(
            "syncline_receiver_in_flight_requests",
            "Webhook deliveries being processed right now.",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(duplicates.clone()))?;
        registry.register(Box::new(enqueue_failures.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            duplicates,
            enqueue_failures,
            in_flight,
        })
    }

    /// Counts one answered delivery.
    pub fn observe(&self, platform: &str, topic: &str, outcome: &str, seconds: f64) {
        self.requests
            .with_label_values(&[platform, topic_label(topic), outcome])
            .inc();
        self.latency.with_label_values(&[platform]).observe(seconds);
        if outcome == "duplicate" {
            self.duplicates.with_label_values(&[platform]).inc();
        }
    }

    /// Counts a verified delivery that could not be stored.
    pub fn enqueue_failed(&self, reason: &str) {
        self.enqueue_failures.with_label_values(&[reason]).inc();
    }

    /// The gauge of deliveries in progress.
    pub fn in_flight(&self) -> &IntGauge {
        &self.in_flight
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        crate::telemetry::render(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_topics_collapse_to_other() {
        assert_eq!(topic_label("orders/create"), "orders/create");
        assert_eq!(topic_label("order.updated"), "order.updated");
        assert_eq!(topic_label("orders/create-evil-123"), "other");
    }

    #[test]
    fn renders_counters_with_labels() {
        let m = ReceiverMetrics::new().unwrap();
        m.observe("shopify", "orders/create", "accepted", 0.001);
        m.observe("shopify", "random/topic", "duplicate", 0.001);
        m.enqueue_failed("timeout");
        let text = m.render();
        assert!(text.contains(
            r#"syncline_receiver_requests_total{outcome="accepted",platform="shopify",topic="orders/create"} 1"#
        ), "{text}");
        assert!(text.contains(r#"topic="other""#), "{text}");
        assert!(
            text.contains(r#"syncline_receiver_duplicates_total{platform="shopify"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"syncline_receiver_enqueue_failures_total{reason="timeout"} 1"#),
            "{text}"
        );
    }
}
