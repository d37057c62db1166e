//! The poller lease as a poller holds it: acquired with a fencing token, renewed in the
//! background, and considered lost locally *before* Redis can expire it, so a poller stops
//! before another pod can start (the fenced cursor writes are the second barrier).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::queue::{Queue, QueueError};

/// How long after a (re)acquisition was *sent* the lease counts as held: two thirds of the
/// TTL, so slow replies and clock rate differences stay on the safe side.
pub fn safe_for(ttl: Duration) -> Duration {
    ttl * 2 / 3
}

/// A held poller lease. Dropping it stops renewing (it then expires in Redis).
#[derive(Debug)]
pub struct Lease {
    pub holder: String,
    pub token: u64,
    deadline: Arc<Mutex<Instant>>,
    keeper: JoinHandle<()>,
}

fn read(deadline: &Mutex<Instant>) -> Instant {
    *deadline.lock().unwrap_or_else(|p| p.into_inner())
}

fn write(deadline: &Mutex<Instant>, at: Instant) {
    *deadline.lock().unwrap_or_else(|p| p.into_inner()) = at;
}

impl Lease {
    /// Takes the lease if free: `None` while another holder has it.
    pub async fn acquire(
        queue: &Queue,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Self>, QueueError> {
        let sent = Instant::now();
        let Some(token) = queue.acquire_poller_lease(holder, ttl).await? else {
            return Ok(None);
        };
        let deadline = Arc::new(Mutex::new(sent + safe_for(ttl)));
        let keeper = tokio::spawn(keep(
            queue.clone(),
            holder.to_string(),
            token,
            ttl,
            deadline.clone(),
        ));
        Ok(Some(Self {
            holder: holder.to_string(),
            token,
            deadline,
            keeper,
        }))
    }

    /// The lease's value in Redis, which fenced writes compare against.
    pub fn value(&self) -> String {
        format!("{}:{}", self.token, self.holder)
    }

    /// Whether the lease may still be acted on.
    pub fn alive(&self) -> bool {
        Instant::now() < read(&self.deadline)
    }

    /// Resolves once the lease may no longer be acted on.
    pub async fn lost(&self) {
        loop {
            let deadline = read(&self.deadline);
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
    }

    /// Runs `work` while the lease holds: `None` if it was lost first (work is dropped).
    pub async fn guard<F: Future>(&self, work: F) -> Option<F::Output> {
        tokio::select! {
            out = work => Some(out),
            () = self.lost() => None,
        }
    }

    /// Gives the lease up at once, so the next poller need not wait for the TTL.
    pub async fn release(self, queue: &Queue) {
        self.keeper.abort();
        if let Err(e) = queue.release_poller_lease(&self.holder, self.token).await {
            tracing::debug!(error = %e, "poller lease not released; it will expire");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.keeper.abort();
    }
}

async fn keep(
    queue: Queue,
    holder: String,
    token: u64,
    ttl: Duration,
    deadline: Arc<Mutex<Instant>>,
) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        let sent = Instant::now();
        match queue.renew_poller_lease(&holder, token, ttl).await {
            Ok(true) => write(&deadline, sent + safe_for(ttl)),
            Ok(false) => {
                tracing::warn!(token, "poller lease taken over; polling stops");
                write(&deadline, Instant::now());
                return;
            }
            // Keep trying; the deadline runs out by itself if Redis stays away.
            Err(e) => tracing::warn!(error = %e, "poller lease not renewed"),
        }
    }
}
