use k8s_openapi::api::core::v1::PodSpec;

use super::test_support::{inputs, pipeline};
use super::*;

fn pod_spec(d: &k8s_openapi::api::apps::v1::Deployment) -> &PodSpec {
    d.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

#[test]
fn every_child_is_labelled_and_owned_by_the_pipeline() {
    let p = pipeline("shopify.yaml");
    let (cm, sum) = config_map(&p).unwrap();
    let metas = [
        cm.metadata,
        receiver_deployment(&p, &inputs(), &sum).unwrap().metadata,
        receiver_service(&p).unwrap().metadata,
        receiver_pdb(&p).unwrap().unwrap().metadata,
        worker_deployment(&p, &inputs(), &sum).unwrap().metadata,
    ];
    for m in metas {
        let labels = m.labels.unwrap();
        assert_eq!(labels["app.kubernetes.io/name"], "syncline");
        assert_eq!(labels["app.kubernetes.io/instance"], "acme-shopify");
        assert_eq!(labels["app.kubernetes.io/managed-by"], FIELD_MANAGER);
        assert_eq!(m.namespace.as_deref(), Some("shops"));
        let owner = &m.owner_references.unwrap()[0];
        assert_eq!(owner.uid, "3f1c5e0a-0000-4000-8000-000000000001");
        assert_eq!(
            (owner.controller, owner.block_owner_deletion),
            (Some(true), Some(true))
        );
    }
}

#[test]
fn pods_are_locked_down() {
    let p = pipeline("shopify.yaml");
    // The receiver stays in its Service while Redis is down (it answers 503 there); a
    // worker that cannot reach Redis is not ready.
    for (d, readiness) in [
        (receiver_deployment(&p, &inputs(), "c").unwrap(), "/healthz"),
        (worker_deployment(&p, &inputs(), "c").unwrap(), "/readyz"),
    ] {
        let spec = pod_spec(&d);
        assert_eq!(spec.automount_service_account_token, Some(false));
        let psc = spec.security_context.as_ref().unwrap();
        assert_eq!(psc.run_as_non_root, Some(true));
        assert_eq!(
            psc.seccomp_profile.as_ref().unwrap().type_,
            "RuntimeDefault"
        );
        assert!(psc.run_as_user.unwrap() > 0);
        let c = &spec.containers[0];
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_deref(),
            Some(&["ALL".to_string()][..])
        );
        assert_eq!(
            c.liveness_probe
                .as_ref()
                .unwrap()
                .http_get
                .as_ref()
                .unwrap()
                .path
                .as_deref(),
            Some("/healthz")
        );
        assert_eq!(
            c.readiness_probe
                .as_ref()
                .unwrap()
                .http_get
                .as_ref()
                .unwrap()
                .path
                .as_deref(),
            Some(readiness)
        );
        let res = c.resources.as_ref().unwrap();
        assert!(res.requests.as_ref().unwrap().contains_key("cpu"));
        assert!(res.limits.as_ref().unwrap().contains_key("memory"));
        assert!(spec.termination_grace_period_seconds.unwrap() >= 30);
    }
}

#[test]
fn secrets_reach_pods_only_through_secret_key_refs() {
    let p = pipeline("shopify.yaml");
    let receiver = receiver_deployment(&p, &inputs(), "c").unwrap();
    let worker = worker_deployment(&p, &inputs(), "c").unwrap();
    let env_of =
        |d: &k8s_openapi::api::apps::v1::Deployment| pod_spec(d).containers[0].env.clone().unwrap();
    for env in [env_of(&receiver), env_of(&worker)] {
        for var in env
            .iter()
            .filter(|v| v.name.starts_with("SYNCLINE_") && v.name != "SYNCLINE_POD_NAME")
        {
            assert!(var.value.is_none(), "{} carries a literal value", var.name);
            let r = var
                .value_from
                .as_ref()
                .unwrap()
                .secret_key_ref
                .as_ref()
                .unwrap();
            assert_eq!(r.name, "acme-shopify-credentials");
        }
    }
    let names = |env: Vec<k8s_openapi::api::core::v1::EnvVar>| {
        env.into_iter().map(|v| v.name).collect::<Vec<_>>()
    };
    let receiver_env = names(env_of(&receiver));
    assert!(receiver_env.contains(&"SYNCLINE_WEBHOOK_SECRET".to_string()));
    assert!(
        !receiver_env.contains(&"SYNCLINE_CRM_TOKEN".to_string()),
        "least privilege: the receiver needs no CRM token"
    );
    let worker_env = names(env_of(&worker));
    assert!(worker_env.contains(&"SYNCLINE_CRM_TOKEN".to_string()));
    assert!(!worker_env.contains(&"SYNCLINE_WEBHOOK_SECRET".to_string()));
}

/// What the operator puts in a pod's environment is what the loader reads back: every
/// Secret-backed variable lands on the key it references, and only the keys a role can
/// start without are marked optional.
#[test]
fn the_loader_reads_every_secret_a_pod_is_given() {
    use crate::config::{SecretKey, SecretValues, merge_env};
    for file in crate::api::examples::FILES {
        let p = pipeline(file);
        for d in [
            receiver_deployment(&p, &inputs(), "c").unwrap(),
            worker_deployment(&p, &inputs(), "c").unwrap(),
        ] {
            for var in pod_spec(&d).containers[0].env.clone().unwrap() {
                let Some(r) = var.value_from.and_then(|v| v.secret_key_ref) else {
                    continue;
                };
                let key = SecretKey::ALL
                    .into_iter()
                    .find(|k| k.name() == r.key)
                    .unwrap_or_else(|| panic!("{file}: {} is no Secret key", r.key));
                assert_eq!(r.optional, key.optional().then_some(true), "{file} {key}");
                let mut loaded = SecretValues::default();
                merge_env(&mut loaded, [(var.name.clone(), "from-pod".to_owned())]);
                assert_eq!(loaded.get(key), Some("from-pod"), "{file}: {}", var.name);
            }
        }
    }
}

#[test]
fn checksums_and_replicas_follow_the_inputs() {
    let p = pipeline("shopify.yaml");
    let mut i = inputs();
    let a = worker_deployment(&p, &i, "cfg1").unwrap();
    i.secret_checksum = "rotated".into();
    i.worker_replicas = 0;
    let b = worker_deployment(&p, &i, "cfg2").unwrap();
    let ann = |d: &k8s_openapi::api::apps::v1::Deployment| {
        d.spec
            .as_ref()
            .unwrap()
            .template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .clone()
            .unwrap()
    };
    assert_eq!(ann(&a)[SECRET_CHECKSUM], "abc123");
    assert_eq!(ann(&b)[SECRET_CHECKSUM], "rotated");
    assert_eq!(ann(&b)[CONFIG_CHECKSUM], "cfg2");
    assert_eq!(b.spec.as_ref().unwrap().replicas, Some(0));
    let r = receiver_deployment(&p, &inputs(), "c").unwrap();
    assert_eq!(r.spec.as_ref().unwrap().replicas, Some(2));
}

#[test]
fn pdb_only_with_more_than_one_receiver() {
    let mut p = pipeline("shopify.yaml");
    assert!(receiver_pdb(&p).unwrap().is_some());
    p.spec.receiver.replicas = 1;
    assert!(receiver_pdb(&p).unwrap().is_none());
}

#[test]
fn webhook_url_names_the_service_and_platform() {
    let p = pipeline("woocommerce.yaml");
    assert_eq!(
        webhook_url(&p).unwrap(),
        "http://corner-shop-receiver.shops.svc:8080/webhooks/woocommerce"
    );
}

#[test]
fn a_pipeline_without_identity_is_an_error_not_a_panic() {
    let mut p = pipeline("shopify.yaml");
    p.metadata.uid = None;
    assert_eq!(
        receiver_service(&p).unwrap_err(),
        BuildError::MissingMetadata("metadata.uid")
    );
}

#[test]
fn pods_log_json_lines() {
    let p = pipeline("shopify.yaml");
    for (d, role) in [
        (receiver_deployment(&p, &inputs(), "c").unwrap(), "receiver"),
        (worker_deployment(&p, &inputs(), "c").unwrap(), "worker"),
    ] {
        let args = pod_spec(&d).containers[0].args.clone().unwrap();
        assert_eq!(
            args[..2],
            [role.to_string(), "--log-format=json".to_string()]
        );
    }
}

#[test]
fn the_longest_allowed_name_gives_valid_child_names_and_the_crd_says_so() {
    let mut p = pipeline("shopify.yaml");
    let name = "a".repeat(MAX_PIPELINE_NAME);
    p.metadata.name = Some(name.clone());
    let (cm, sum) = config_map(&p).unwrap();
    let names = [
        cm.metadata.name,
        receiver_deployment(&p, &inputs(), &sum)
            .unwrap()
            .metadata
            .name,
        receiver_service(&p).unwrap().metadata.name,
        receiver_pdb(&p).unwrap().unwrap().metadata.name,
        worker_deployment(&p, &inputs(), &sum)
            .unwrap()
            .metadata
            .name,
    ];
    assert!(names.iter().flatten().all(|n| n.len() <= 63), "{names:?}");
    assert_eq!(receiver_name(&name).len(), 63);

    let crd = serde_json::to_value(crate::api::crd().unwrap()).unwrap();
    let rules =
        &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["x-kubernetes-validations"];
    let rule = format!("self.metadata.name.size() <= {MAX_PIPELINE_NAME}");
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == rule.as_str()
                && r["message"]
                    .as_str()
                    .unwrap()
                    .contains(&MAX_PIPELINE_NAME.to_string())),
        "{rules}"
    );
}
