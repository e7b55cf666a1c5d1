//! What `build` and `start` reject, and how they say it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use leader_jobs::backend::{Backend, BackendError, Election, Ledger};

use leader_jobs::__private::{JobFuture, SourceLocation, boxed, descriptor};
use leader_jobs::registry::RegistryError;
use leader_jobs::{Error, JobContext, JobDescriptor, MisfirePolicy, OverlapPolicy, Runtime};

use crate::support::Spec;

fn noop(_ctx: JobContext) -> JobFuture {
    boxed(async { Ok(()) })
}

const fn declared_at(file: &'static str, line: u32, cron: &'static str) -> JobDescriptor {
    descriptor(
        "nightly-export",
        "exports",
        cron,
        "UTC",
        OverlapPolicy::Skip,
        MisfirePolicy::FireOnce,
        Duration::from_secs(3600),
        None,
        SourceLocation {
            module_path: "app::exports",
            file,
            line,
        },
        noop,
    )
}

static FIRST: JobDescriptor = declared_at("src/exports.rs", 10, "0 2 * * *");
static SECOND: JobDescriptor = declared_at("src/legacy.rs", 42, "0 3 * * *");
static BROKEN: JobDescriptor = declared_at("src/exports.rs", 10, "0 25 * * *");
static BAD_ZONE: JobDescriptor = Spec {
    timezone: "Mars/Olympus_Mons",
    ..Spec::new("martian", "0 9 * * *", noop)
}
.build();
static FINE: JobDescriptor = Spec::new("fine", "0 9 * * *", noop).build();

fn error_of(builder: leader_jobs::RuntimeBuilder) -> Error {
    builder.build().expect_err("the build must fail")
}

#[test]
fn two_jobs_with_one_name_are_rejected_naming_both_places() {
    let err = error_of(Runtime::builder().jobs([&FIRST, &SECOND]));
    assert!(
        matches!(
            err,
            Error::Registry(RegistryError::DuplicateName {
                name: "nightly-export",
                ..
            })
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("src/exports.rs:10"), "{message}");
    assert!(message.contains("src/legacy.rs:42"), "{message}");
    assert!(message.contains("name = "), "{message}");
}

#[test]
fn a_schedule_that_does_not_parse_is_rejected_with_the_job_and_place() {
    let err = error_of(Runtime::builder().jobs([&BROKEN]));
    let message = err.to_string();
    assert!(
        matches!(
            &err,
            Error::Registry(RegistryError::InvalidSchedule { job, .. }) if job.name() == "nightly-export"
        ),
        "{err:?}"
    );
    assert!(
        message.contains("0 25 * * *") && message.contains("src/exports.rs:10"),
        "{message}"
    );

    let err = error_of(Runtime::builder().jobs([&BAD_ZONE]));
    assert!(err.to_string().contains("Mars/Olympus_Mons"), "{err}");
}

#[test]
fn unusable_node_ids_and_empty_job_sets_are_rejected() {
    let err = error_of(Runtime::builder().node_id("web 1").jobs([&FINE]));
    assert!(err.to_string().contains("`web 1`"), "{err}");
    assert!(matches!(
        error_of(Runtime::builder().jobs([])),
        Error::NoJobs
    ));
}

#[test]
fn the_default_node_id_names_this_process() {
    let runtime = Runtime::builder().jobs([&FINE]).build().unwrap();
    let pid = format!("-{}-", std::process::id());
    assert!(runtime.node_id().contains(&pid), "{}", runtime.node_id());
}

#[test]
fn starting_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let runtime = Runtime::builder().jobs([&FINE]).build().unwrap();
    assert!(matches!(runtime.start(), Err(Error::NoTokioRuntime)));
}

/// A backend whose broker refuses every connection.
struct Unreachable;

#[async_trait]
impl Backend for Unreachable {
    async fn election(&self, _lock: &str, _node: &str) -> Result<Arc<dyn Election>, BackendError> {
        Err(BackendError::new("connection refused by 127.0.0.1:6650"))
    }

    async fn ledger(&self, _lock: &str, _node: &str) -> Result<Arc<dyn Ledger>, BackendError> {
        Err(BackendError::new("connection refused by 127.0.0.1:6650"))
    }
}

#[tokio::test(start_paused = true)]
async fn a_backend_that_cannot_open_a_lock_ends_run_until_with_the_lock_named() {
    let runtime = Runtime::builder()
        .node_id("isolated")
        .backend(Unreachable)
        .jobs([&FINE])
        .build()
        .unwrap();
    let err = runtime
        .run_until(std::future::pending())
        .await
        .expect_err("the runtime must stop");
    let message = err.to_string();
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    assert!(
        message.contains("lock `tests`") && message.contains("`isolated`"),
        "{message}"
    );
    assert!(message.contains("connection refused"), "{message}");
}
