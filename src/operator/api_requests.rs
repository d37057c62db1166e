//! Every request the operator sends to the API server, counted by verb and resource
//! (`syncline_operator_api_requests_total`): the figure that tells a platform team what
//! one more pipeline costs their API server, and that the scale benchmark reads at steady
//! state (aim: no writes and almost no reads). Counted in the client's own stack, so it
//! covers the watches, the reads the caches miss and every write.

use axum::http::{Method, Request};
use kube::client::{Body, ClientBuilder};
use prometheus::IntCounterVec;
use tower::util::MapRequestLayer;

/// A client for `config` whose every request increments `counter{verb, resource}`.
pub fn counting_client(
    config: kube::Config,
    counter: IntCounterVec,
) -> Result<kube::Client, kube::Error> {
    let count = MapRequestLayer::new(move |request: Request<Body>| {
        let query = request.uri().query().unwrap_or("");
        let (verb, resource) = verb_and_resource(request.method(), request.uri().path(), query);
        counter.with_label_values(&[verb, &resource]).inc();
        request
    });
    Ok(ClientBuilder::try_from(config)?.with_layer(&count).build())
}

/// The API server's verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`)
/// and the resource (with its subresource, e.g. `syncpipelines/status`) a request is for,
/// read from its REST path: `/api/v1/…` or `/apis/<group>/<version>/…`, then optionally
/// `namespaces/<ns>/`, then `<resource>[/<name>[/<subresource>]]`.
pub fn verb_and_resource(method: &Method, path: &str, query: &str) -> (&'static str, String) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match segments.first() {
        Some(&"api") => segments.get(2..),
        Some(&"apis") => segments.get(3..),
        _ => None,
    }
    .unwrap_or(&[]);
    let rest = match rest {
        ["namespaces", _, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    let (resource, named) = match rest {
        [] => ("other".to_string(), false),
        [resource] => ((*resource).to_string(), false),
        [resource, _name] => ((*resource).to_string(), true),
        [resource, _name, sub, ..] => (format!("{resource}/{sub}"), true),
    };
    let watch = query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1");
    let verb = match *method {
        Method::GET if watch => "watch",
        Method::GET if named => "get",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "other",
    };
    (verb, resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_and_resources_from_rest_paths() {
        let cases = [
            (
                Method::GET,
                "/apis/syncline.dev/v1alpha1/syncpipelines",
                "watch=true&resourceVersion=5",
                "watch",
                "syncpipelines",
            ),
            (
                Method::GET,
                "/apis/syncline.dev/v1alpha1/syncpipelines",
                "limit=500",
                "list",
                "syncpipelines",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/shops/secrets/acme",
                "",
                "get",
                "secrets",
            ),
            (
                Method::PATCH,
                "/apis/syncline.dev/v1alpha1/namespaces/shops/syncpipelines/acme/status",
                "fieldManager=x",
                "patch",
                "syncpipelines/status",
            ),
            (
                Method::PATCH,
                "/apis/apps/v1/namespaces/shops/deployments/acme-worker",
                "",
                "patch",
                "deployments",
            ),
            (
                Method::POST,
                "/apis/events.k8s.io/v1/namespaces/shops/events",
                "",
                "create",
                "events",
            ),
            (
                Method::PUT,
                "/apis/coordination.k8s.io/v1/namespaces/syncline-system/leases/syncline-operator",
                "",
                "update",
                "leases",
            ),
            (
                Method::DELETE,
                "/apis/policy/v1/namespaces/shops/poddisruptionbudgets/acme-receiver",
                "",
                "delete",
                "poddisruptionbudgets",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/shops",
                "",
                "get",
                "namespaces",
            ),
            (Method::GET, "/version", "", "list", "other"),
        ];
        for (method, path, query, verb, resource) in cases {
            assert_eq!(
                verb_and_resource(&method, path, query),
                (verb, resource.to_string()),
                "{method} {path}?{query}"
            );
        }
    }
}
