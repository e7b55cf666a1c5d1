//! What `build` and `start` reject, and how they say it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use leader_jobs::backend::{Backend, BackendError, Election, Ledger};

use leader_jobs::registry::RegistryError;
use leader_jobs::{Delivery, Error, Job, JobContext, MisfirePolicy, OverlapPolicy, Runtime, State};

use crate::support::Spec;

fn noop(_ctx: JobContext) -> leader_jobs::job::JobFuture {
    Box::pin(async { Ok(()) })
}

#[track_caller]
fn export(cron: &str) -> Job {
    Job::new("nightly-export", cron, noop).lock("exports")
}

fn fine() -> Job {
    Spec::new("fine", "0 9 * * *", noop).build()
}

fn error_of(builder: leader_jobs::RuntimeBuilder) -> Error {
    builder.build().expect_err("the build must fail")
}

#[test]
fn two_jobs_with_one_name_are_rejected_naming_both_places() {
    let first_line = line!() + 1;
    let first = export("0 2 * * *");
    let second_line = line!() + 1;
    let second = export("0 3 * * *");
    let err = error_of(Runtime::builder().jobs([first, second]));
    assert!(
        matches!(
            &err,
            Error::Registry(registry) if matches!(&**registry, RegistryError::DuplicateName { name, .. } if name == "nightly-export")
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("building.rs:{first_line}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("building.rs:{second_line}")),
        "{message}"
    );
    assert!(message.contains("name = "), "{message}");
}

#[test]
fn a_schedule_that_does_not_parse_is_rejected_with_the_job_and_place() {
    let err = error_of(Runtime::builder().jobs([export("0 25 * * *")]));
    let message = err.to_string();
    assert!(
        matches!(
            &err,
            Error::Registry(registry) if matches!(&**registry, RegistryError::InvalidSchedule { job, .. } if job == "nightly-export")
        ),
        "{err:?}"
    );
    assert!(
        message.contains("0 25 * * *")
            && message.contains("building.rs:")
            && message.contains("hour"),
        "{message}"
    );

    let martian = Spec {
        timezone: "Mars/Olympus_Mons",
        ..Spec::new("martian", "0 9 * * *", noop)
    };
    let err = error_of(Runtime::builder().jobs([martian.build()]));
    assert!(err.to_string().contains("Mars/Olympus_Mons"), "{err}");
}

#[test]
fn a_job_built_in_code_is_held_to_the_attributes_rules() {
    // The lock defaults to the job's name, which must then be a valid lock name.
    let err = error_of(Runtime::builder().jobs([Job::new("app::cleanup", "@daily", noop)]));
    let message = err.to_string();
    assert!(
        message.contains("job `app::cleanup`")
            && message.contains("invalid lock name \"app::cleanup\": it contains ':'")
            && message.contains("1 to 100 characters"),
        "{message}"
    );

    let catch_up = Job::new("sync", "@hourly", noop).catch_up(Duration::from_secs(60));
    let err = error_of(Runtime::builder().jobs([catch_up]));
    assert!(
        err.to_string()
            .contains("`catch_up` only applies with `misfire = \"fire_all\"`"),
        "{err}"
    );

    let zero = Job::new("sync", "@hourly", noop).timeout(Duration::ZERO);
    let err = error_of(Runtime::builder().jobs([zero]));
    assert!(
        err.to_string()
            .contains("`timeout` must be longer than zero"),
        "{err}"
    );

    let allow = Job::new("sync", "@hourly", noop)
        .delivery(Delivery::AtLeastOnce)
        .overlap(OverlapPolicy::Allow);
    let err = error_of(Runtime::builder().jobs([allow]));
    assert!(
        err.to_string()
            .contains("needs `overlap = \"skip\"` or `\"queue\"`"),
        "{err}"
    );

    let window = Job::new("sync", "@hourly", noop).rerun_window(Duration::from_secs(60));
    let err = error_of(Runtime::builder().jobs([window]));
    assert!(
        err.to_string()
            .contains("`rerun_window` only applies with `delivery = \"at_least_once\"`"),
        "{err}"
    );

    let retries = Job::new("sync", "@hourly", noop).retries(101);
    let err = error_of(Runtime::builder().jobs([retries]));
    assert!(err.to_string().contains("more than 100"), "{err}");

    let two_contexts = Job::new("sync", "@hourly", |_a: JobContext, _b: JobContext| async {});
    let err = error_of(Runtime::builder().jobs([two_contexts]));
    assert!(
        err.to_string()
            .contains("at most one `JobContext`; remove its parameter 2 of the handler"),
        "{err}"
    );

    let fire_all = Job::new("sync", "@hourly", noop)
        .misfire(MisfirePolicy::FireAll)
        .catch_up(Duration::from_secs(60));
    assert!(Runtime::builder().jobs([fire_all]).build().is_ok());
}

struct Mailer;
struct Database;

#[test]
fn a_state_nobody_gave_fails_the_build_naming_job_parameter_and_type() {
    let job = Job::new(
        "digest",
        "0 9 * * *",
        |_ctx: JobContext, _mail: State<Mailer>, _db: State<Database>| async {},
    );
    let err = error_of(Runtime::builder().state(Mailer).jobs([job.clone()]));
    let message = err.to_string();
    assert!(
        matches!(&err, Error::Registry(registry) if matches!(&**registry, RegistryError::MissingState { job, .. } if job == "digest")),
        "{err:?}"
    );
    assert!(
        message.contains("job `digest`")
            && message.contains("building::Database>` as its parameter 3 of the handler")
            && message.contains(".state("),
        "{message}"
    );
    assert!(
        Runtime::builder()
            .state(Mailer)
            .state(Database)
            .jobs([job])
            .build()
            .is_ok()
    );
}

#[test]
fn overrides_must_name_known_jobs_and_parse() {
    let err = error_of(Runtime::builder().jobs([fine()]).schedule("fien", "@daily"));
    assert!(
        matches!(&err, Error::Registry(registry) if matches!(&**registry, RegistryError::UnknownJob { name, .. } if name == "fien")),
        "{err:?}"
    );
    assert!(err.to_string().contains("known jobs: fine"), "{err}");

    let err = error_of(Runtime::builder().jobs([fine()]).disable("nope"));
    assert!(err.to_string().contains("`nope`"), "{err}");

    let err = error_of(
        Runtime::builder()
            .jobs([fine()])
            .schedule("fine", "0 9 * 13 *"),
    );
    let message = err.to_string();
    assert!(
        message.contains("job `fine`")
            && message.contains("0 9 * 13 *")
            && message.contains("month"),
        "{message}"
    );
}

#[test]
fn unusable_node_ids_and_empty_job_sets_are_rejected() {
    let err = error_of(Runtime::builder().node_id("web 1").jobs([fine()]));
    assert!(err.to_string().contains("`web 1`"), "{err}");
    assert!(matches!(
        error_of(Runtime::builder().jobs([])),
        Error::NoJobs
    ));
}

#[test]
fn the_default_node_id_names_this_process() {
    let runtime = Runtime::builder().jobs([fine()]).build().unwrap();
    let pid = format!("-{}-", std::process::id());
    assert!(runtime.node_id().contains(&pid), "{}", runtime.node_id());
}

#[test]
fn starting_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let runtime = Runtime::builder().jobs([fine()]).build().unwrap();
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
        .jobs([fine()])
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
