//! The pipeline's NetworkPolicies: a receiver may be reached only on its port and a
//! worker only on its health port; both may reach only DNS, their Redis and (workers) the
//! CRM and the store, each by the port its URL names. Destinations stay open by address:
//! a store or HubSpot has no fixed address range, and Redis may live outside the cluster.
//! Only a CNI that enforces NetworkPolicy (Calico, Cilium, Antrea, kube-router, …) acts on
//! them; elsewhere they are accepted and change nothing.

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::receiver::RECEIVER_PORT;
use super::worker::WORKER_PORT;
use super::{
    BuildError, child_meta, name_and_namespace, receiver_name, selector_labels, worker_name,
};
use crate::api::SyncPipeline;

/// Name resolution, over UDP and TCP (answers too long for UDP).
const DNS_PORT: i32 = 53;

/// The TCP port `url` reaches: the one it names, else its scheme's default.
pub fn url_port(url: &str) -> Option<u16> {
    let parsed = reqwest::Url::parse(url).ok()?;
    parsed.port_or_known_default().or(match parsed.scheme() {
        "redis" | "rediss" | "valkey" | "valkeys" => Some(6379),
        _ => None,
    })
}

fn port(n: i32, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(n)),
        protocol: Some(protocol.to_string()),
        ..Default::default()
    }
}

/// One egress rule to any address on the given TCP ports, plus DNS.
fn egress(tcp_ports: &[u16]) -> Vec<NetworkPolicyEgressRule> {
    let mut tcp: Vec<u16> = tcp_ports.to_vec();
    tcp.sort_unstable();
    tcp.dedup();
    vec![
        NetworkPolicyEgressRule {
            ports: Some(vec![port(DNS_PORT, "UDP"), port(DNS_PORT, "TCP")]),
            ..Default::default()
        },
        NetworkPolicyEgressRule {
            ports: Some(tcp.into_iter().map(|n| port(i32::from(n), "TCP")).collect()),
            ..Default::default()
        },
    ]
}

fn policy(
    p: &SyncPipeline,
    name: String,
    component: &str,
    listen: i32,
    tcp_egress: &[u16],
) -> Result<NetworkPolicy, BuildError> {
    let (pipeline, _) = name_and_namespace(p)?;
    Ok(NetworkPolicy {
        metadata: child_meta(p, name, component)?,
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(pipeline, component)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                ports: Some(vec![port(listen, "TCP")]),
                ..Default::default()
            }]),
            egress: Some(egress(tcp_egress)),
        }),
    })
}

/// The port of a URL the policy must open, or which field lacks one. The Redis URL may
/// come from the Secret and carry a password, so errors name the field, never the value.
fn required_port(url: &str, field: &'static str) -> Result<u16, BuildError> {
    url_port(url).ok_or(BuildError::NoPort(field))
}

/// Where the resolved Redis URL came from, for errors.
const REDIS_FIELD: &str = "spec.redis.url (or the Secret's redisUrl)";

/// The receiver's policy: webhooks in on its port (from anywhere: stores deliver from the
/// internet, through whatever ingress the cluster has), Redis and DNS out.
pub fn receiver_network_policy(
    p: &SyncPipeline,
    redis_url: &str,
) -> Result<NetworkPolicy, BuildError> {
    let (name, _) = name_and_namespace(p)?;
    let redis = required_port(redis_url, REDIS_FIELD)?;
    policy(p, receiver_name(name), "receiver", RECEIVER_PORT, &[redis])
}

/// The workers' policy: probes and scrapes in on the health port; Redis, the CRM and the
/// store (the poller runs in the workers) and DNS out.
pub fn worker_network_policy(
    p: &SyncPipeline,
    redis_url: &str,
) -> Result<NetworkPolicy, BuildError> {
    let (name, _) = name_and_namespace(p)?;
    let ports = [
        required_port(redis_url, REDIS_FIELD)?,
        required_port(&p.spec.crm.url, "spec.crm.url")?,
        required_port(&p.spec.store.url, "spec.store.url")?,
    ];
    policy(p, worker_name(name), "worker", WORKER_PORT, &ports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::resources::test_support::pipeline;

    #[test]
    fn a_url_reaches_its_named_port_else_its_schemes_default() {
        for (url, want) in [
            ("https://api.hubapi.com", Some(443)),
            ("http://shop.internal:8089/", Some(8089)),
            ("http://shop.example", Some(80)),
            ("redis://:secret@redis.shops:6380/0", Some(6380)),
            ("redis://redis.shops", Some(6379)),
            ("rediss://redis.example", Some(6379)),
            ("unix:///run/redis.sock", None),
            ("not a url", None),
        ] {
            assert_eq!(url_port(url), want, "{url}");
        }
    }

    fn tcp_ports(policy: &NetworkPolicy) -> Vec<(String, i32)> {
        let spec = policy.spec.as_ref().unwrap();
        spec.egress
            .iter()
            .flatten()
            .flat_map(|r| r.ports.iter().flatten())
            .map(|p| {
                let IntOrString::Int(n) = p.port.clone().unwrap() else {
                    panic!("named port")
                };
                (p.protocol.clone().unwrap(), n)
            })
            .collect()
    }

    #[test]
    fn receivers_reach_only_dns_and_redis_and_listen_only_on_their_port() {
        let p = pipeline("shopify.yaml");
        let np = receiver_network_policy(&p, "redis://redis.shops:6380").unwrap();
        assert_eq!(np.metadata.name.as_deref(), Some("acme-shopify-receiver"));
        let spec = np.spec.as_ref().unwrap();
        assert_eq!(
            spec.pod_selector
                .as_ref()
                .unwrap()
                .match_labels
                .as_ref()
                .unwrap()["app.kubernetes.io/component"],
            "receiver"
        );
        assert_eq!(
            spec.policy_types.as_deref(),
            Some(&["Ingress".to_string(), "Egress".to_string()][..])
        );
        let ingress = spec.ingress.as_ref().unwrap();
        assert_eq!(ingress.len(), 1);
        assert!(ingress[0].from.is_none(), "webhooks come from anywhere");
        assert_eq!(
            ingress[0].ports.as_ref().unwrap()[0].port,
            Some(IntOrString::Int(RECEIVER_PORT))
        );
        assert_eq!(
            tcp_ports(&np),
            vec![("UDP".into(), 53), ("TCP".into(), 53), ("TCP".into(), 6380)]
        );
        assert!(np.metadata.owner_references.is_some());
    }

    #[test]
    fn workers_reach_redis_the_crm_and_the_store_by_their_ports() {
        let mut p = pipeline("woocommerce.yaml");
        p.spec.crm.url = "https://api.hubapi.com".into();
        p.spec.store.url = "http://shop.example:8443".into();
        let np = worker_network_policy(&p, "redis://redis.shops").unwrap();
        assert_eq!(
            tcp_ports(&np),
            vec![
                ("UDP".into(), 53),
                ("TCP".into(), 53),
                ("TCP".into(), 443),
                ("TCP".into(), 6379),
                ("TCP".into(), 8443)
            ]
        );
        let ingress = &np.spec.as_ref().unwrap().ingress.as_ref().unwrap()[0];
        assert_eq!(
            ingress.ports.as_ref().unwrap()[0].port,
            Some(IntOrString::Int(WORKER_PORT))
        );
    }

    #[test]
    fn a_url_without_a_port_is_named_and_its_value_never_shown() {
        let p = pipeline("shopify.yaml");
        let err = worker_network_policy(&p, "unix:///run/redis-secret-path.sock").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("spec.redis.url"), "{text}");
        assert!(!text.contains("secret-path"), "{text}");
        let mut q = p.clone();
        q.spec.crm.url = "ftp-ish".into();
        let err = worker_network_policy(&q, "redis://r:6379").unwrap_err();
        assert!(err.to_string().contains("spec.crm.url"), "{err}");
    }
}
