//! The shutdown signal every long-running role waits for, and the wait that ends early on
//! it (the worker's loops and the poller in the worker's pods share it).

use std::time::Duration;

use tokio::sync::watch;

/// Resolves on SIGTERM (what Kubernetes sends) or Ctrl-C.
pub async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Waits `d` or until `stopped` turns true; answers whether shutdown came.
pub async fn pause(d: Duration, stopped: &mut watch::Receiver<bool>) -> bool {
    let slept = tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = stopped.wait_for(|s| *s) => false,
    };
    !slept || *stopped.borrow()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_ends_at_shutdown_or_when_its_time_is_up() {
        let (tx, mut rx) = watch::channel(false);
        assert!(!pause(Duration::from_millis(10), &mut rx).await, "time up");
        let waiting = tokio::spawn(async move { pause(Duration::from_secs(600), &mut rx).await });
        tx.send(true).unwrap();
        let stopped = tokio::time::timeout(Duration::from_secs(10), waiting).await;
        assert!(stopped.unwrap().unwrap(), "shutdown ends the wait early");
    }
}
