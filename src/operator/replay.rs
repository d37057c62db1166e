//! Replaying dead letters on request: annotating a pipeline with
//! `syncline.dev/replay-dead-letters=<token>` moves all its dead letters back into the
//! events stream, once per distinct token. A token is a request id, not a switch: setting
//! the same value again does nothing, so a reconcile that runs twice (resync, watch
//! event, operator restart) never replays twice.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::events::EventType;
use tracing::{info, warn};

use super::context::Context;
use crate::api::{DeadLetterReplayStatus, SyncPipeline};
use crate::queue::{QueueKeys, admin, dead_letter_count};

/// The annotation that requests a replay; its value is the request's token.
pub const REPLAY_ANNOTATION: &str = "syncline.dev/replay-dead-letters";

/// The Event action of replays.
const ACTION: &str = "ReplayDeadLetters";

/// The token to replay for, if any: the annotation's value when it is set, non-empty, and
/// neither recorded in status nor remembered by this process as done.
pub fn token_to_replay(
    annotation: Option<&str>,
    recorded: Option<&str>,
    remembered: Option<&str>,
) -> Option<String> {
    let token = annotation.map(str::trim).filter(|t| !t.is_empty())?;
    (recorded != Some(token) && remembered != Some(token)).then(|| token.to_string())
}

/// Carries out a requested replay and answers what status should record; `None` when none
/// was requested or it failed (a Warning Event says why, and the next reconcile retries).
pub async fn replay_if_requested(
    p: &SyncPipeline,
    ctx: &Context,
    redis: &admin::RedisTarget,
) -> Option<DeadLetterReplayStatus> {
    let ns = p.namespace().unwrap_or_default();
    let name = p.name_any();
    let key = format!("{ns}/{name}");
    let recorded = p
        .status
        .as_ref()
        .and_then(|s| s.dead_letter_replay.as_ref())
        .map(|r| r.token.as_str());
    let token = token_to_replay(
        p.annotations().get(REPLAY_ANNOTATION).map(String::as_str),
        recorded,
        ctx.replayed_token(&key).as_deref(),
    )?;
    let keys = QueueKeys::new(&ns, &name);
    match admin::replay_dead_letters(redis, &keys, ctx.settings.redis_timeout).await {
        Ok(n) => {
            // Remembered before status is written: even if that write fails, this process
            // will not replay the token again.
            ctx.remember_replay(&key, &token);
            info!(namespace = %ns, name = %name, token = %token, replayed = n, "dead letters replayed");
            let note = format!("Replayed {} (token {token})", dead_letter_count(n));
            ctx.publish(p, EventType::Normal, "DeadLettersReplayed", note, ACTION)
                .await;
            Some(DeadLetterReplayStatus {
                token,
                replayed: i64::try_from(n).unwrap_or(i64::MAX),
                completed_at: Some(Time(Timestamp::now())),
            })
        }
        Err(e) => {
            warn!(namespace = %ns, name = %name, token = %token, error = %e, "dead-letter replay failed");
            let note = format!("Could not replay dead letters (token {token}): {e}; will retry");
            ctx.publish(
                p,
                EventType::Warning,
                "DeadLetterReplayFailed",
                note,
                ACTION,
            )
            .await;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_once_per_distinct_token() {
        assert_eq!(token_to_replay(None, None, None), None);
        assert_eq!(token_to_replay(Some("  "), None, None), None);
        assert_eq!(
            token_to_replay(Some("t1"), None, None).as_deref(),
            Some("t1")
        );
        assert_eq!(token_to_replay(Some("t1"), Some("t1"), None), None);
        assert_eq!(
            token_to_replay(Some("t1"), None, Some("t1")),
            None,
            "a replay whose status write is not visible yet must not run again"
        );
        assert_eq!(
            token_to_replay(Some("t2"), Some("t1"), Some("t1")).as_deref(),
            Some("t2")
        );
    }
}
