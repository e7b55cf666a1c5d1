//! Deterministic tests of the runtime on the in-process backend, under Tokio's paused clock.

mod building;
mod failover;
mod misfire;
mod outcomes;
mod overlap;
mod support;
mod ticks;
