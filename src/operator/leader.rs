//! Leader election through a `coordination.k8s.io/v1` Lease, so two operator replicas never
//! reconcile at once. The holder renews every `renew`; another replica takes over once the
//! lease has not been renewed for `duration`. A leader that cannot renew within `duration`
//! stops (the process exits and is restarted as a standby), because by then another
//! replica may already lead.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};
use tracing::{debug, info, warn};

/// Lease settings.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub duration: Duration,
    pub renew: Duration,
}

/// This process's identity: its pod's name plus a suffix of its own. A container restarted
/// after a crash keeps the pod's name but is a new process that never renewed the lease, so
/// it must not count as the holder (client-go's election adds a UUID for the same reason);
/// the pod name stays first so `kubectl get lease` still says which pod leads.
pub fn process_identity(pod: Option<String>) -> String {
    let pod = pod.unwrap_or_else(|| "syncline-operator".into());
    format!("{pod}_{:08x}", fastrand::u32(..))
}

/// Pure: may `identity` take or keep the lease as it stands at `now`?
pub fn may_hold(spec: &LeaseSpec, identity: &str, now: Timestamp) -> bool {
    let holder = spec.holder_identity.as_deref().unwrap_or("");
    if holder.is_empty() || holder == identity {
        return true;
    }
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(15)));
    match spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) {
        Some(MicroTime(renewed)) => renewed
            .checked_add(duration)
            .is_ok_and(|expiry| expiry <= now),
        None => true,
    }
}

/// One attempt to acquire or renew; `Ok(true)` when this replica holds the lease after it.
pub async fn try_acquire(api: &Api<Lease>, cfg: &LeaseConfig) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let secs = i32::try_from(cfg.duration.as_secs()).unwrap_or(i32::MAX);
    match api.get_opt(&cfg.name).await? {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(cfg.name.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(cfg.identity.clone()),
                    lease_duration_seconds: Some(secs),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
        Some(mut lease) => {
            let spec = lease.spec.clone().unwrap_or_default();
            if !may_hold(&spec, &cfg.identity, now) {
                return Ok(false);
            }
            let taking_over = spec.holder_identity.as_deref() != Some(cfg.identity.as_str());
            let mut new = spec;
            if taking_over {
                new.acquire_time = Some(MicroTime(now));
                new.lease_transitions = Some(new.lease_transitions.unwrap_or(0) + 1);
            }
            new.holder_identity = Some(cfg.identity.clone());
            new.lease_duration_seconds = Some(secs);
            new.renew_time = Some(MicroTime(now));
            lease.spec = Some(new);
            // replace carries the resourceVersion we read: a concurrent writer makes it 409.
            match api.replace(&cfg.name, &PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

/// Waits until this replica holds the lease.
pub async fn acquire(api: &Api<Lease>, cfg: &LeaseConfig) {
    let mut announced = false;
    loop {
        match try_acquire(api, cfg).await {
            Ok(true) => {
                info!(lease = %cfg.name, identity = %cfg.identity, "acquired the leader lease");
                return;
            }
            Ok(false) if !announced => {
                info!(lease = %cfg.name, "another replica leads; standing by");
                announced = true;
            }
            Ok(false) => debug!("still standing by"),
            Err(e) => warn!(error = %e, "leader lease check failed"),
        }
        tokio::time::sleep(cfg.renew).await;
    }
}

/// Renews the lease until renewal has failed for a whole lease duration; returns then.
pub async fn hold(api: &Api<Lease>, cfg: &LeaseConfig) {
    let mut last_ok = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(cfg.renew).await;
        match try_acquire(api, cfg).await {
            Ok(true) => last_ok = tokio::time::Instant::now(),
            Ok(false) => {
                warn!("the leader lease was taken by another replica");
                return;
            }
            Err(e) => warn!(error = %e, "renewing the leader lease failed"),
        }
        if last_ok.elapsed() >= cfg.duration {
            warn!("could not renew the leader lease for its whole duration");
            return;
        }
    }
}

/// Gives the lease up on a clean shutdown so a standby takes over at once.
pub async fn release(api: &Api<Lease>, cfg: &LeaseConfig) {
    if let Ok(Some(mut lease)) = api.get_opt(&cfg.name).await
        && let Some(spec) = lease.spec.as_mut()
        && spec.holder_identity.as_deref() == Some(cfg.identity.as_str())
    {
        spec.holder_identity = None;
        spec.renew_time = None;
        if let Err(e) = api.replace(&cfg.name, &PostParams::default(), &lease).await {
            warn!(error = %e, "could not release the leader lease");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_process_of_a_pod_is_its_own_candidate() {
        let a = process_identity(Some("op-7d9f-x2".into()));
        let b = process_identity(Some("op-7d9f-x2".into()));
        assert!(a.starts_with("op-7d9f-x2_"), "{a}");
        assert_ne!(a, b, "a restarted container must not inherit the lease");
        assert!(process_identity(None).starts_with("syncline-operator_"));
    }

    fn spec(holder: Option<&str>, renewed_secs_ago: i64, duration: i32) -> (LeaseSpec, Timestamp) {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let renewed = now
            .checked_sub(SignedDuration::from_secs(renewed_secs_ago))
            .unwrap();
        let spec = LeaseSpec {
            holder_identity: holder.map(str::to_string),
            lease_duration_seconds: Some(duration),
            renew_time: Some(MicroTime(renewed)),
            ..Default::default()
        };
        (spec, now)
    }

    #[test]
    fn a_live_lease_of_another_holder_is_respected() {
        let (s, now) = spec(Some("a"), 5, 15);
        assert!(!may_hold(&s, "b", now));
        assert!(may_hold(&s, "a", now), "the holder renews its own lease");
    }

    #[test]
    fn an_expired_or_released_lease_can_be_taken() {
        let (s, now) = spec(Some("a"), 15, 15);
        assert!(may_hold(&s, "b", now));
        let (s, now) = spec(None, 1, 15);
        assert!(may_hold(&s, "b", now));
    }
}
