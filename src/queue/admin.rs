//! Operator-side Redis calls: reachability checks and removing a deleted pipeline's keys.

use std::time::Duration;

use redis::AsyncCommands;

use super::QueueKeys;

/// Why a Redis call failed. Messages never include the URL (it may hold a password).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("Redis error: {0}")]
    Redis(String),
}

fn redis_err(e: redis::RedisError) -> AdminError {
    AdminError::Redis(e.to_string())
}

async fn connect(
    url: &str,
    timeout: Duration,
) -> Result<redis::aio::MultiplexedConnection, AdminError> {
    let client =
        redis::Client::open(url).map_err(|e| AdminError::InvalidUrl(e.category().to_string()))?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    tokio::time::timeout(
        timeout,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    .map_err(|_| AdminError::Timeout(timeout))?
    .map_err(redis_err)
}

/// Checks that Redis answers a PING within `timeout`.
pub async fn ping(url: &str, timeout: Duration) -> Result<(), AdminError> {
    let mut conn = connect(url, timeout).await?;
    let ping = redis::cmd("PING");
    let fut = ping.query_async::<String>(&mut conn);
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| AdminError::Timeout(timeout))?
        .map_err(redis_err)?;
    Ok(())
}

/// Removes every key of one pipeline (queue, dedupe markers, watermarks, retries, dead
/// letters, cursors, lease) and returns how many were removed. The shared CRM rate-limit
/// bucket is another tag and is left alone.
pub async fn delete_pipeline_keys(
    url: &str,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<u64, AdminError> {
    let mut conn = connect(url, timeout).await?;
    let pattern = format!(
        "{}:*",
        glob_escape(QueueKeys::new(namespace, name).prefix())
    );
    let work = async {
        let mut removed = 0u64;
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            if !keys.is_empty() {
                removed += conn.unlink::<_, u64>(&keys).await?;
            }
            if next == 0 {
                return Ok::<u64, redis::RedisError>(removed);
            }
            cursor = next;
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| AdminError::Timeout(timeout))?
        .map_err(redis_err)
}

/// Escapes Redis glob metacharacters so a name is matched literally.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_metacharacters_are_escaped() {
        assert_eq!(glob_escape("sl:{a/b}:"), "sl:{a/b}:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
