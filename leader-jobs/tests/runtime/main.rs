//! Deterministic tests of the runtime on the in-process backend, under Tokio's paused clock.

// Clippy treats only `#[test]` functions as tests; the helpers and job functions here are test
// code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod application;
mod building;
mod claim_ahead;
mod claim_window;
mod cluster_view;
mod control;
mod delivery;
mod events;
mod failover;
mod lease;
mod misfire;
mod outcomes;
mod overlap;
mod rerun_window;
mod retries;
mod slow_ledger;
mod support;
mod ticks;
