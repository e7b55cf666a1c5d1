//! Two jobs that end up with the same name compile, but the runtime's startup check rejects them
//! and names both declarations.

const FIRST_LINE: u32 = line!() + 1;
#[leader_jobs::singleton_job(cron = "@daily", name = "nightly-export")]
async fn export_orders() {}

mod legacy {
    pub(crate) const SECOND_LINE: u32 = line!() + 1;
    #[leader_jobs::singleton_job(cron = "0 3 * * *", name = "nightly-export")]
    async fn export_orders() {}
}

#[test]
fn duplicate_names_are_a_startup_error_naming_both_declarations() {
    let error = leader_jobs::registry::collect_checked().unwrap_err();
    assert!(matches!(
        &error,
        leader_jobs::registry::RegistryError::DuplicateName { name, .. } if name == "nightly-export"
    ));
    let message = error.to_string();
    let first = format!("{}:{FIRST_LINE}", file!());
    let second = format!("{}:{}", file!(), legacy::SECOND_LINE);
    assert!(
        message.contains(&format!("one declared at {first} and one at {second}")),
        "{message}"
    );
}

#[test]
fn registered_jobs_still_lists_both() {
    let jobs = leader_jobs::registered_jobs();
    let names: Vec<&str> = jobs.iter().map(|job| job.name()).collect();
    assert_eq!(names, ["nightly-export", "nightly-export"]);
}
