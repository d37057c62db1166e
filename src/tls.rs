//! One rustls crypto provider for the whole process: HTTPS to the CRM and stores, and
//! `rediss://` to Redis (verified against the system roots, or `SSL_CERT_FILE`).
//!
//! kube's client is built on ring; reqwest is built without a provider of its own
//! (`rustls-no-provider`) so that only one is compiled in. With no provider compiled in by
//! reqwest, it needs the process default installed before the first client is built.

/// Installs ring as the process's rustls provider, once; call before building an HTTP
/// client. Safe to call from anywhere, any number of times.
pub fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A plain HTTP client (for tools and tests) with the provider in place.
pub fn http_client() -> reqwest::Client {
    ensure_crypto_provider();
    reqwest::Client::new()
}
