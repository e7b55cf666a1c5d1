//! Shared helpers of the integration tests, which run against a real Apache Pulsar broker.
//!
//! Start one with `cargo xtask pulsar start`, or let `cargo xtask test` start it and run
//! everything.

pub mod broker;
pub mod cluster;
pub mod dedicated_broker;

pub mod run_log;

pub mod secure;

pub mod oauth2_issuer;

pub mod chaos;
