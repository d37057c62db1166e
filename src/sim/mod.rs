//! Simulators of the external APIs syncline talks to, for tests, demos and benchmarks.

pub mod hubspot;
pub mod store;
pub mod storm;

/// Locks a simulator's state. A panic while holding a lock cannot leave these structures
/// half-updated in a way that matters to a simulator; keep serving.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
