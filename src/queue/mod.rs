//! Everything that talks to Redis. Every key of a pipeline shares the hash tag
//! `{<namespace>/<name>}`, so a pipeline's keys live on one Redis Cluster slot and Lua
//! scripts may touch several of them.

pub mod admin;

/// The hash-tagged namespace of a pipeline's keys: `{<namespace>/<name>}`.
pub fn pipeline_tag(namespace: &str, name: &str) -> String {
    format!("{{{namespace}/{name}}}")
}

/// The prefix every key of one pipeline starts with.
pub fn key_prefix(namespace: &str, name: &str) -> String {
    format!("sl:{}:", pipeline_tag(namespace, name))
}
