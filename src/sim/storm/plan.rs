//! What a storm sends and when, decided before anything is sent: a profile of phases
//! (`RATExSECONDS`), each delivery's order id and version, and which deliveries are sent
//! twice (some at once, as stores do on a timeout) or swapped with their successor. Pure, so
//! a run can be replayed from its seed and the tests can read the plan back.

use std::time::Duration;

/// One phase of a profile: `rate` deliveries per second for `seconds`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    pub rate: f64,
    pub seconds: f64,
}

/// Why a profile was refused, naming the part that was wrong.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProfileError {
    #[error("--profile: `{0}` is not RATExSECONDS (e.g. 20x10,200x20,20x10)")]
    Shape(String),
    #[error("--profile: `{0}` needs a rate above 0 and a duration above 0 seconds")]
    Range(String),
}

/// Parses `20x10,200x20,20x10`.
pub fn parse_profile(text: &str) -> Result<Vec<Phase>, ProfileError> {
    text.split(',')
        .map(|part| {
            let part = part.trim();
            let (rate, seconds) = part
                .split_once('x')
                .and_then(|(r, s)| Some((r.trim().parse::<f64>().ok()?, s.trim().parse().ok()?)))
                .ok_or_else(|| ProfileError::Shape(part.to_string()))?;
            if !(rate > 0.0 && seconds > 0.0 && rate.is_finite() && f64::is_finite(seconds)) {
                return Err(ProfileError::Range(part.to_string()));
            }
            Ok(Phase { rate, seconds })
        })
        .collect()
}

/// The knobs that shape the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// Distinct orders the deliveries cycle through, from `first_id`.
    pub orders: u64,
    pub first_id: u64,
    /// Fraction of deliveries sent twice.
    pub duplicates: f64,
    /// Of those, the fraction whose copy is sent at the same moment (concurrently).
    pub concurrent_duplicates: f64,
    /// Fraction of deliveries swapped with the next one (an older version arrives last).
    pub out_of_order: f64,
    /// Fraction of deliveries the store never sends (the change is in the store, the
    /// webhook is lost): only the poller can bring these in.
    pub dropped: f64,
    /// At most this many deliveries in all (the profile may ask for more).
    pub max_count: u64,
    pub seed: u64,
}

/// One planned delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    /// Position in the plan; also the delivery's id (`storm-<seq>`).
    pub seq: u64,
    pub order_id: u64,
    /// 1 for the first delivery of an order, then one more per delivery.
    pub version: u32,
    /// When to send it, from the start of the storm.
    pub at: Duration,
    /// Sent again: right away with it (`Concurrent`) or a little later (`Later`).
    pub copy: Copy,
    /// Never sent: the store holds this version, its webhook is lost.
    pub dropped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    None,
    Concurrent,
    Later,
}

/// The deliveries of `profile` under `shape`, in sending order.
pub fn plan(profile: &[Phase], shape: &Shape) -> Vec<Planned> {
    let mut rng = fastrand::Rng::with_seed(shape.seed);
    let orders = shape.orders.max(1);
    let mut out = Vec::new();
    let mut start = 0.0_f64;
    'phases: for phase in profile {
        let count = (phase.rate * phase.seconds).round() as u64;
        for i in 0..count {
            let seq = out.len() as u64;
            if seq >= shape.max_count {
                break 'phases;
            }
            let copy = if rng.f64() < shape.duplicates {
                if rng.f64() < shape.concurrent_duplicates {
                    Copy::Concurrent
                } else {
                    Copy::Later
                }
            } else {
                Copy::None
            };
            // Drawn only when asked for, so a seed's plan without drops stays what it was.
            let dropped = shape.dropped > 0.0 && rng.f64() < shape.dropped;
            out.push(Planned {
                seq,
                order_id: shape.first_id + seq % orders,
                version: (seq / orders) as u32 + 1,
                at: Duration::from_secs_f64(start + i as f64 / phase.rate),
                copy: if dropped { Copy::None } else { copy },
                dropped,
            });
        }
        start += phase.seconds;
    }
    // Swapping contents, not times: the schedule keeps its rate, the versions arrive late.
    let mut i = 0;
    while i + 1 < out.len() {
        if rng.f64() < shape.out_of_order {
            let (a, b) = (out[i], out[i + 1]);
            out[i] = Planned { at: a.at, ..b };
            out[i + 1] = Planned { at: b.at, ..a };
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            orders: 3,
            first_id: 100,
            duplicates: 0.0,
            concurrent_duplicates: 0.0,
            out_of_order: 0.0,
            dropped: 0.0,
            max_count: u64::MAX,
            seed: 7,
        }
    }

    #[test]
    fn profiles_parse_or_name_the_bad_part() {
        assert_eq!(
            parse_profile("20x10, 200x2.5").unwrap(),
            vec![
                Phase {
                    rate: 20.0,
                    seconds: 10.0
                },
                Phase {
                    rate: 200.0,
                    seconds: 2.5
                }
            ]
        );
        for (text, err) in [
            ("20", ProfileError::Shape("20".into())),
            ("20x10,abc", ProfileError::Shape("abc".into())),
            ("0x10", ProfileError::Range("0x10".into())),
            ("5x-1", ProfileError::Range("5x-1".into())),
        ] {
            assert_eq!(parse_profile(text), Err(err), "{text}");
        }
    }

    #[test]
    fn deliveries_cycle_through_orders_with_rising_versions_at_the_phase_rates() {
        let p = plan(&parse_profile("2x2,4x1").unwrap(), &shape());
        let got: Vec<(u64, u32, u128)> = p
            .iter()
            .map(|d| (d.order_id, d.version, d.at.as_millis()))
            .collect();
        assert_eq!(
            got,
            vec![
                (100, 1, 0),
                (101, 1, 500),
                (102, 1, 1000),
                (100, 2, 1500),
                (101, 2, 2000),
                (102, 2, 2250),
                (100, 3, 2500),
                (101, 3, 2750),
            ]
        );
        assert!(p.iter().all(|d| d.copy == Copy::None));
    }

    #[test]
    fn the_count_is_bounded() {
        let shape = Shape {
            max_count: 5,
            ..shape()
        };
        assert_eq!(plan(&parse_profile("100x10").unwrap(), &shape).len(), 5);
    }

    #[test]
    fn out_of_order_swaps_versions_but_keeps_the_schedule() {
        let shape = Shape {
            orders: 1,
            out_of_order: 1.0,
            ..shape()
        };
        let p = plan(&parse_profile("1x4").unwrap(), &shape);
        let versions: Vec<u32> = p.iter().map(|d| d.version).collect();
        assert_eq!(versions, vec![2, 1, 4, 3]);
        let times: Vec<u64> = p.iter().map(|d| d.at.as_secs()).collect();
        assert_eq!(times, vec![0, 1, 2, 3]);
    }

    #[test]
    fn duplicates_follow_their_fractions() {
        let shape = Shape {
            duplicates: 1.0,
            concurrent_duplicates: 0.5,
            ..shape()
        };
        let p = plan(&parse_profile("1000x1").unwrap(), &shape);
        let concurrent = p.iter().filter(|d| d.copy == Copy::Concurrent).count();
        assert!(p.iter().all(|d| d.copy != Copy::None));
        assert!((400..600).contains(&concurrent), "{concurrent}");
    }

    #[test]
    fn dropped_deliveries_follow_their_fraction_and_are_never_copied() {
        let shape = Shape {
            duplicates: 1.0,
            dropped: 0.2,
            ..shape()
        };
        let p = plan(&parse_profile("1000x1").unwrap(), &shape);
        let dropped: Vec<&Planned> = p.iter().filter(|d| d.dropped).collect();
        assert!((150..250).contains(&dropped.len()), "{}", dropped.len());
        assert!(dropped.iter().all(|d| d.copy == Copy::None));
        let without = plan(
            &parse_profile("1000x1").unwrap(),
            &Shape {
                dropped: 0.0,
                ..shape
            },
        );
        assert!(without.iter().all(|d| !d.dropped && d.copy != Copy::None));
    }
}
