//! The fault campaign: a real broker of its own, node processes of `chaos-node`, a seeded
//! schedule of faults (process kills, freezes, restarts, broker stops and kills, link cuts,
//! black holes and delays, clock steps), and a checker that judges the run from an external run
//! log, the nodes' reports and the ledger.
//!
//! `cargo xtask chaos` runs the full campaign (the `chaos` binary); `tests/tests/chaos.rs` a
//! short one in CI.

pub mod app;
pub mod bridge;
pub mod brokers;
pub mod campaign;
pub mod check;
mod delivery;
pub mod faults;
mod inject;
pub mod leadership;
pub mod proxy;
pub mod report;
