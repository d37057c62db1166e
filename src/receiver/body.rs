//! Reading a delivery's body within the size limit, and answering a too-large one so the
//! client reads the 413 instead of a reset.
//!
//! A server that answers 413 and closes while the client is still writing leaves unread
//! bytes in the socket: the kernel then resets the connection, and a client that writes
//! its whole body before reading (most HTTP clients, every store's webhook sender) sees
//! a broken pipe, never the answer. So the 413 is sent at once, and the rest of the body
//! is read and thrown away in the background, up to a byte bound and a deadline (what
//! nginx calls a lingering close). A body past the bound, or a client that said
//! `Expect: 100-continue` and so has sent nothing yet, is not drained: the connection is
//! closed after the answer.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

use super::Rejection;
use super::delivery::header;

/// How much of a body is read, and how much of a refused one is drained.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest accepted body.
    pub max: usize,
    /// Most bytes of a too-large body read and discarded after the 413.
    pub drain: usize,
    /// Longest time spent draining.
    pub drain_timeout: Duration,
}

/// The body, or 413 when it is (or is declared) larger than `limits.max`.
pub async fn read_limited(
    mut body: Body,
    headers: &HeaderMap,
    limits: BodyLimits,
) -> Result<Bytes, Rejection> {
    let declared =
        header(headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared.filter(|len| *len > limits.max as u64) {
        // Refused before reading a byte.
        drain_after_refusal(body, headers, Some(len), 0, limits);
        return Err(Rejection::PayloadTooLarge);
    }
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Rejection::BodyUnreadable)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let read = collected.len() + data.len();
        if read > limits.max {
            drain_after_refusal(body, headers, declared, read as u64, limits);
            return Err(Rejection::PayloadTooLarge);
        }
        collected.extend_from_slice(&data);
    }
    Ok(collected.freeze())
}

/// Whether a refused body should be drained: not when the client waits for a
/// `100 Continue` (it has sent nothing), nor when its declared length is past the bound.
fn should_drain(headers: &HeaderMap, declared: Option<u64>, limits: BodyLimits) -> bool {
    let expects_continue = header(headers, header::EXPECT.as_str())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
    !expects_continue && declared.is_none_or(|len| len <= limits.drain as u64)
}

/// Reads and discards the rest of `body` in the background (the 413 is sent meanwhile),
/// within the drain bound and deadline; dropping it earlier closes the connection.
fn drain_after_refusal(
    body: Body,
    headers: &HeaderMap,
    declared: Option<u64>,
    already: u64,
    limits: BodyLimits,
) {
    if !should_drain(headers, declared, limits) {
        return;
    }
    tokio::spawn(async move {
        let drained = tokio::time::timeout(limits.drain_timeout, discard(body, already, limits));
        if !matches!(drained.await, Ok(true)) {
            tracing::debug!("too-large body not drained within bounds; closing the connection");
        }
    });
}

/// Reads frames until the end (true) or until the bound is passed or the body fails.
async fn discard(mut body: Body, mut read: u64, limits: BodyLimits) -> bool {
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return false;
        };
        if let Some(data) = frame.data_ref() {
            read += data.len() as u64;
            if read > limits.drain as u64 {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> BodyLimits {
        BodyLimits {
            max: 10,
            drain: 100,
            drain_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn drains_unless_the_client_waits_for_continue_or_the_body_is_past_the_bound() {
        let mut h = HeaderMap::new();
        assert!(should_drain(&h, None, limits()));
        assert!(should_drain(&h, Some(100), limits()));
        assert!(!should_drain(&h, Some(101), limits()));
        h.insert(header::EXPECT, "100-Continue".parse().unwrap());
        assert!(!should_drain(&h, Some(50), limits()));
    }

    #[tokio::test]
    async fn reads_up_to_the_limit_and_refuses_past_it() {
        let h = HeaderMap::new();
        let ok = read_limited(Body::from("0123456789"), &h, limits()).await;
        assert_eq!(ok.unwrap(), Bytes::from_static(b"0123456789"));
        let big = read_limited(Body::from("0123456789A"), &h, limits()).await;
        assert!(matches!(big, Err(Rejection::PayloadTooLarge)));
        let mut declared = HeaderMap::new();
        declared.insert(header::CONTENT_LENGTH, "11".parse().unwrap());
        let early = read_limited(Body::from("0"), &declared, limits()).await;
        assert!(matches!(early, Err(Rejection::PayloadTooLarge)));
    }
}
