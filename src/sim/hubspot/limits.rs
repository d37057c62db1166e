//! HubSpot's rate limits and the simulator's fault injection, pure (time passed in):
//! a rolling 10-second window per app, a daily cap, a per-second search limit, and faults
//! (error rate, added latency, an outage window, a forced 429 burst).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The rolling window of the burst limit.
pub const WINDOW: Duration = Duration::from_secs(10);
/// The window of the search limit.
pub const SEARCH_WINDOW: Duration = Duration::from_secs(1);

/// Which limit a request hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    TenSecondlyRolling,
    Daily,
    Secondly,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Self::TenSecondlyRolling => "TEN_SECONDLY_ROLLING",
            Self::Daily => "DAILY",
            Self::Secondly => "SECONDLY",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::TenSecondlyRolling => "You have reached your ten_secondly_rolling limit.",
            Self::Daily => "You have reached your daily limit.",
            Self::Secondly => "You have reached your secondly limit.",
        }
    }
}

/// Configured limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitConfig {
    pub per_10s: u32,
    pub daily: u64,
    pub search_per_second: u32,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            per_10s: 190,
            daily: 1_000_000,
            search_per_second: 5,
        }
    }
}

/// The rate-limit headers of an admitted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub max: u32,
    pub remaining: u32,
    pub daily: u64,
    pub daily_remaining: u64,
}

/// The limiter's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted(Usage),
    Limited {
        policy: Policy,
        usage: Usage,
        /// When a slot frees up (the oldest request leaves the window).
        retry_after: Duration,
    },
}

/// Rolling-window limiter; only admitted requests count.
#[derive(Debug)]
pub struct RateLimiter {
    config: LimitConfig,
    window: VecDeque<Instant>,
    search_window: VecDeque<Instant>,
    daily_used: u64,
}

fn prune(window: &mut VecDeque<Instant>, now: Instant, span: Duration) {
    while window
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= span)
    {
        window.pop_front();
    }
}

impl RateLimiter {
    pub fn new(config: LimitConfig) -> Self {
        Self {
            config,
            window: VecDeque::new(),
            search_window: VecDeque::new(),
            daily_used: 0,
        }
    }

    pub fn config(&self) -> LimitConfig {
        self.config
    }

    fn usage(&self) -> Usage {
        let used = u32::try_from(self.window.len()).unwrap_or(u32::MAX);
        Usage {
            max: self.config.per_10s,
            remaining: self.config.per_10s.saturating_sub(used),
            daily: self.config.daily,
            daily_remaining: self.config.daily.saturating_sub(self.daily_used),
        }
    }

    /// Admits or rejects one request at `now`; `search` requests use the search limit
    /// instead of the burst limit (both count against the daily cap).
    pub fn admit(&mut self, now: Instant, search: bool) -> Admission {
        prune(&mut self.window, now, WINDOW);
        prune(&mut self.search_window, now, SEARCH_WINDOW);
        if self.daily_used >= self.config.daily {
            return Admission::Limited {
                policy: Policy::Daily,
                usage: self.usage(),
                retry_after: Duration::from_secs(3600),
            };
        }
        let (window, max, span, policy) = if search {
            (
                &mut self.search_window,
                self.config.search_per_second,
                SEARCH_WINDOW,
                Policy::Secondly,
            )
        } else {
            (
                &mut self.window,
                self.config.per_10s,
                WINDOW,
                Policy::TenSecondlyRolling,
            )
        };
        if window.len() >= max as usize {
            let oldest = window.front().copied().unwrap_or(now);
            let retry_after = span.saturating_sub(now.saturating_duration_since(oldest));
            return Admission::Limited {
                policy,
                usage: self.usage(),
                retry_after,
            };
        }
        window.push_back(now);
        self.daily_used += 1;
        Admission::Admitted(self.usage())
    }
}

/// Fault injection settings (flags and `POST /_sim/faults`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultConfig {
    /// Fraction (0..=1) of admitted requests answered with a 500/502/503/504.
    pub error_rate: f64,
    /// The one status those errors get (e.g. 500, which spends a retry attempt, where a
    /// 502–504 does not); 0 draws one of the four per request.
    pub error_status: u16,
    /// Added to every request before it is answered.
    pub latency_ms: u64,
    /// Up to this much more, drawn uniformly per request (real answer times vary).
    pub latency_jitter_ms: u64,
    /// From now, every request is answered 503 for this long.
    pub outage_ms: u64,
    /// The next N authenticated requests are answered 429 (TEN_SECONDLY_ROLLING).
    pub burst_429: u32,
    /// `Retry-After` seconds on forced 429s (none when 0).
    pub retry_after_secs: u64,
    /// Faults hit only requests whose path contains this (empty: every request), e.g.
    /// `/associations/` for failures after the upserts of an event landed.
    pub only_path: String,
}

/// The statuses injected server errors take (`FaultConfig::error_status` names one).
pub const SERVER_ERRORS: [u16; 4] = [500, 502, 503, 504];

/// What fault injection decides for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Outage,
    Forced429 { retry_after_secs: u64 },
    ServerError(u16),
}

/// Fault state: settings plus the outage deadline and the burst counter.
#[derive(Debug, Default)]
pub struct Faults {
    config: FaultConfig,
    outage_until: Option<Instant>,
    burst_left: u32,
}

impl Faults {
    /// Applies settings at `now` (an outage starts now; a burst replaces the counter).
    pub fn configure(&mut self, config: FaultConfig, now: Instant) {
        self.outage_until =
            (config.outage_ms > 0).then(|| now + Duration::from_millis(config.outage_ms));
        self.burst_left = config.burst_429;
        self.config = config;
    }

    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// This request's added latency: the base plus a uniform draw of the jitter.
    pub fn latency(&self) -> Duration {
        let jitter = match self.config.latency_jitter_ms {
            0 => 0,
            j => fastrand::u64(0..=j),
        };
        Duration::from_millis(self.config.latency_ms.saturating_add(jitter))
    }

    /// Whether faults apply to a request for `path`.
    pub fn applies_to(&self, path: &str) -> bool {
        self.config.only_path.is_empty() || path.contains(&self.config.only_path)
    }

    /// Decides the fault of one request; `roll` is a uniform sample in [0, 1).
    pub fn decide(&mut self, now: Instant, roll: f64) -> Fault {
        if self.outage_until.is_some_and(|until| now < until) {
            return Fault::Outage;
        }
        if self.burst_left > 0 {
            self.burst_left -= 1;
            return Fault::Forced429 {
                retry_after_secs: self.config.retry_after_secs,
            };
        }
        if roll < self.config.error_rate {
            if self.config.error_status != 0 {
                return Fault::ServerError(self.config.error_status);
            }
            let codes = SERVER_ERRORS;
            let index = ((roll / self.config.error_rate) * codes.len() as f64) as usize;
            return Fault::ServerError(codes[index.min(codes.len() - 1)]);
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_10s: u32) -> RateLimiter {
        RateLimiter::new(LimitConfig {
            per_10s,
            daily: 1000,
            search_per_second: 2,
        })
    }

    #[test]
    fn the_window_admits_max_then_limits_until_the_oldest_leaves() {
        let mut l = limiter(3);
        let t0 = Instant::now();
        for i in 0..3 {
            match l.admit(t0 + Duration::from_secs(i), false) {
                Admission::Admitted(u) => assert_eq!(u.remaining, 2 - i as u32),
                other => panic!("request {i} was limited: {other:?}"),
            }
        }
        let at = t0 + Duration::from_secs(5);
        match l.admit(at, false) {
            Admission::Limited {
                policy,
                retry_after,
                usage,
            } => {
                assert_eq!(policy, Policy::TenSecondlyRolling);
                assert_eq!(retry_after, Duration::from_secs(5));
                assert_eq!(usage.remaining, 0);
            }
            other => panic!("expected a 429, got {other:?}"),
        }
        // Rejected requests do not count: at t0+10s one slot is free again.
        assert!(matches!(
            l.admit(t0 + Duration::from_secs(10), false),
            Admission::Admitted(_)
        ));
        assert!(matches!(
            l.admit(t0 + Duration::from_secs(10), false),
            Admission::Limited { .. }
        ));
    }

    #[test]
    fn search_has_its_own_per_second_limit() {
        let mut l = limiter(100);
        let t0 = Instant::now();
        assert!(matches!(l.admit(t0, true), Admission::Admitted(_)));
        assert!(matches!(l.admit(t0, true), Admission::Admitted(_)));
        assert!(matches!(
            l.admit(t0, true),
            Admission::Limited {
                policy: Policy::Secondly,
                ..
            }
        ));
        assert!(matches!(l.admit(t0, false), Admission::Admitted(_)));
        assert!(matches!(
            l.admit(t0 + Duration::from_secs(1), true),
            Admission::Admitted(_)
        ));
    }

    #[test]
    fn the_daily_cap_limits_with_the_daily_policy() {
        let mut l = RateLimiter::new(LimitConfig {
            per_10s: 100,
            daily: 2,
            search_per_second: 5,
        });
        let t0 = Instant::now();
        assert!(matches!(l.admit(t0, false), Admission::Admitted(_)));
        assert!(matches!(l.admit(t0, true), Admission::Admitted(_)));
        assert!(matches!(
            l.admit(t0 + WINDOW, false),
            Admission::Limited {
                policy: Policy::Daily,
                ..
            }
        ));
    }

    #[test]
    fn faults_outage_then_burst_then_error_rate() {
        let mut f = Faults::default();
        let t0 = Instant::now();
        assert_eq!(f.decide(t0, 0.0), Fault::None);
        f.configure(
            FaultConfig {
                outage_ms: 1000,
                burst_429: 2,
                error_rate: 0.5,
                retry_after_secs: 3,
                ..Default::default()
            },
            t0,
        );
        assert_eq!(f.decide(t0, 0.9), Fault::Outage);
        let after = t0 + Duration::from_secs(1);
        for _ in 0..2 {
            assert_eq!(
                f.decide(after, 0.9),
                Fault::Forced429 {
                    retry_after_secs: 3
                }
            );
        }
        assert_eq!(f.decide(after, 0.9), Fault::None);
        assert!(matches!(f.decide(after, 0.1), Fault::ServerError(_)));
        assert!(matches!(f.decide(after, 0.49), Fault::ServerError(_)));
        f.configure(
            FaultConfig {
                error_rate: 1.0,
                error_status: 500,
                ..Default::default()
            },
            after,
        );
        for roll in [0.0, 0.3, 0.6, 0.99] {
            assert_eq!(f.decide(after, roll), Fault::ServerError(500));
        }
    }
}
