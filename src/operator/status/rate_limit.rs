//! `CrmRateLimitMismatch`: whether HubSpot's own headers state a lower limit than the
//! pipeline declares. The workers already pace at the lower figure; the condition tells the
//! platform team why the drain is slower than `spec.crmRateLimit` promises, and what to set.
//! The message holds only the two limits (never the daily remainder, which moves with every
//! request), so a steady account writes no status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::{Cond, Observed, reason};
use crate::api::condition::CRM_RATE_LIMIT_MISMATCH;
use crate::connectors::crm::hubspot::limits::per_second;
use crate::queue::StatedLimits;

fn describe(requests: u64, per_ms: u64) -> String {
    if per_ms.is_multiple_of(1000) {
        format!("{requests} per {}s", per_ms / 1000)
    } else {
        format!("{requests} per {per_ms}ms")
    }
}

pub(super) fn condition(o: &Observed, old: &[Condition]) -> Cond {
    let stated: Option<StatedLimits> = match &o.queue {
        Some(sample) => sample.crm_limits.clone(),
        // Redis unread this time: keep what is stored rather than flip on a blip.
        None => {
            if let Some(c) = old.iter().find(|c| c.type_ == CRM_RATE_LIMIT_MISMATCH) {
                return Cond {
                    type_: CRM_RATE_LIMIT_MISMATCH,
                    holds: c.status == "True",
                    reason: match c.reason.as_str() {
                        reason::STATED_LIMIT_LOWER => reason::STATED_LIMIT_LOWER,
                        reason::STATED_LIMIT_NOT_LOWER => reason::STATED_LIMIT_NOT_LOWER,
                        _ => reason::NO_STATED_LIMIT,
                    },
                    message: c.message.clone(),
                };
            }
            None
        }
    };
    let declared_requests = u64::try_from(o.declared_rate.requests.max(1)).unwrap_or(1);
    let declared_ms = u64::try_from(o.declared_rate.per_seconds.max(1)).unwrap_or(1) * 1000;
    let declared = describe(declared_requests, declared_ms);
    let Some((max, interval_ms)) = stated.and_then(|s| Some((s.max?, s.interval_ms?))) else {
        return Cond {
            type_: CRM_RATE_LIMIT_MISMATCH,
            holds: false,
            reason: reason::NO_STATED_LIMIT,
            message: format!(
                "no worker has seen HubSpot's rate-limit headers yet; pacing at spec.crmRateLimit ({declared})"
            ),
        };
    };
    let rate = |requests: u64, ms: u64| {
        per_second(
            u32::try_from(requests).unwrap_or(u32::MAX),
            std::time::Duration::from_millis(ms),
        )
    };
    let stated_text = describe(max, interval_ms);
    if rate(max, interval_ms) < rate(declared_requests, declared_ms) {
        Cond {
            type_: CRM_RATE_LIMIT_MISMATCH,
            holds: true,
            reason: reason::STATED_LIMIT_LOWER,
            message: format!(
                "HubSpot states {stated_text} for this account, spec.crmRateLimit declares {declared}: \
                 workers pace at HubSpot's figure; set spec.crmRateLimit to it (or below, if other apps share the account)"
            ),
        }
    } else {
        Cond {
            type_: CRM_RATE_LIMIT_MISMATCH,
            holds: false,
            reason: reason::STATED_LIMIT_NOT_LOWER,
            message: format!(
                "HubSpot states {stated_text}; spec.crmRateLimit ({declared}) is within it"
            ),
        }
    }
}
