//! What a failed write means for its event, pure: which failures spend one of the event's
//! attempts, how long to wait (exponential backoff with full jitter, honouring
//! `Retry-After`), and when an event becomes a dead letter.

use std::time::Duration;

use crate::connectors::crm::hubspot::FailureClass;

/// First retry delay ceiling; doubles per attempt.
pub const BASE_DELAY: Duration = Duration::from_secs(1);
/// Largest retry delay for one event.
pub const MAX_DELAY: Duration = Duration::from_secs(300);
/// Typical wait before an event whose lock was taken over is claimed again.
pub const LEASE_LOST_DELAY: Duration = Duration::from_secs(1);
/// Largest pause of a worker while the CRM is unreachable.
pub const MAX_OUTAGE_PAUSE: Duration = Duration::from_secs(30);

/// Full jitter: a uniform delay in `[0, min(MAX, BASE · 2^step)]`; `roll` is a uniform
/// sample in `[0, 1)`.
pub fn full_jitter(step: u32, max: Duration, roll: f64) -> Duration {
    let ceiling = BASE_DELAY
        .checked_mul(1u32.checked_shl(step.min(30)).unwrap_or(u32::MAX))
        .unwrap_or(max)
        .min(max);
    ceiling.mul_f64(roll.clamp(0.0, 1.0))
}

/// What to do with an event whose write failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Back into the queue after `delay`, with this many attempts spent.
    Retry {
        attempts: u32,
        delay: Duration,
    },
    DeadLetter {
        reason: &'static str,
        attempts: u32,
    },
}

/// Decides for an event that had spent `attempts` before this failure.
pub fn decide(class: &FailureClass, attempts: u32, max_attempts: u32, roll: f64) -> Decision {
    match class {
        FailureClass::Outage { retry_after } => {
            let delay = full_jitter(attempts, MAX_OUTAGE_PAUSE, roll);
            Decision::Retry {
                attempts,
                delay: delay.max(retry_after.unwrap_or_default()),
            }
        }
        FailureClass::Transient => {
            let spent = attempts + 1;
            if spent >= max_attempts {
                Decision::DeadLetter {
                    reason: "retries_exhausted",
                    attempts: spent,
                }
            } else {
                Decision::Retry {
                    attempts: spent,
                    delay: full_jitter(attempts, MAX_DELAY, roll),
                }
            }
        }
        FailureClass::Permanent { reason } => Decision::DeadLetter {
            reason,
            attempts: attempts + 1,
        },
        FailureClass::Unauthorized => Decision::DeadLetter {
            reason: "crm_unauthorized",
            attempts: attempts + 1,
        },
        // Soon, so the claim decides: stale once the other worker committed, busy while it
        // writes.
        FailureClass::LeaseLost => Decision::Retry {
            attempts,
            delay: LEASE_LOST_DELAY.mul_f64(0.5 + roll.clamp(0.0, 1.0)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_under_a_doubling_capped_ceiling() {
        assert_eq!(full_jitter(0, MAX_DELAY, 0.999), Duration::from_millis(999));
        assert_eq!(full_jitter(3, MAX_DELAY, 0.5), Duration::from_secs(4));
        assert_eq!(full_jitter(40, MAX_DELAY, 0.5), MAX_DELAY / 2);
        assert_eq!(full_jitter(5, MAX_DELAY, 0.0), Duration::ZERO);
        for step in 0..20 {
            assert!(full_jitter(step, MAX_DELAY, 0.999_999) <= MAX_DELAY);
        }
    }

    #[test]
    fn outages_never_spend_attempts_and_honour_retry_after() {
        let class = FailureClass::Outage {
            retry_after: Some(Duration::from_secs(10)),
        };
        for attempts in [0, 7, 50] {
            match decide(&class, attempts, 8, 0.1) {
                Decision::Retry { attempts: a, delay } => {
                    assert_eq!(a, attempts);
                    assert!(delay >= Duration::from_secs(10));
                }
                other => panic!("outage dead-lettered: {other:?}"),
            }
        }
    }

    #[test]
    fn transient_failures_spend_attempts_up_to_the_limit() {
        assert_eq!(
            decide(&FailureClass::Transient, 0, 3, 0.5),
            Decision::Retry {
                attempts: 1,
                delay: Duration::from_millis(500)
            }
        );
        assert_eq!(
            decide(&FailureClass::Transient, 2, 3, 0.5),
            Decision::DeadLetter {
                reason: "retries_exhausted",
                attempts: 3
            }
        );
        assert_eq!(
            decide(&FailureClass::Unauthorized, 0, 3, 0.5),
            Decision::DeadLetter {
                reason: "crm_unauthorized",
                attempts: 1
            }
        );
    }

    #[test]
    fn a_lost_lease_spends_no_attempt_and_comes_back_within_two_delays() {
        for (attempts, roll) in [(0, 0.0), (2, 0.5), (2, 0.999)] {
            match decide(&FailureClass::LeaseLost, attempts, 3, roll) {
                Decision::Retry { attempts: a, delay } => {
                    assert_eq!(a, attempts);
                    assert!(delay >= LEASE_LOST_DELAY / 2 && delay < LEASE_LOST_DELAY * 2);
                }
                other => panic!("a lost lease dead-lettered: {other:?}"),
            }
        }
    }
}
