//! Removing the demo's topics afterwards: each run uses topics of its own, and the ledger's
//! durable subscription would keep them on the broker for good.

use std::time::Duration;

/// Deletes the election and ledger topics of `locks` under `prefix` in `public/default`;
/// returns what could not be deleted, to be reported.
pub(crate) fn delete_topics(admin_url: &str, prefix: &str, locks: &[&str]) -> Vec<String> {
    let agent = leader_jobs_tests::http_agent(Duration::from_secs(10));
    let mut failures = Vec::new();
    for lock in locks {
        for kind in ["election", "ledger"] {
            let topic = format!("{prefix}.{lock}.{kind}");
            // `force` also removes the topic's subscriptions and closes their consumers.
            let url = format!(
                "{}/admin/v2/persistent/public/default/{topic}?force=true",
                admin_url.trim_end_matches('/')
            );
            match agent.delete(&url).call() {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => failures.push(format!("{topic}: HTTP {}", response.status())),
                Err(error) => failures.push(format!("{topic}: {error}")),
            }
        }
    }
    failures
}
