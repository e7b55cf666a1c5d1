//! The rule for lock names, checked by `#[singleton_job]` at compile time and by the runtime for
//! jobs built in code. A lock becomes part of Pulsar topic names
//! (`leader-jobs.<lock>.election`, `leader-jobs.<lock>.ledger`), so it must be a safe topic-name
//! fragment.

/// Longest accepted lock name; keeps full topic names well inside broker and metadata-store limits.
const MAX_CHARS: usize = 100;

/// Pulsar reads a topic whose name contains this as one partition of a partitioned topic.
const PARTITION_MARKER: &str = "-partition-";

/// The rule, as the error messages state it.
pub const RULE: &str = "a lock name becomes part of the Pulsar topic \
     `leader-jobs.<lock>.election`, so it must be 1 to 100 characters from A-Z, a-z, 0-9, `_` and \
     `-`, and must not contain `-partition-`";

/// Checks `lock`; on failure says what is wrong with it (the caller adds [`RULE`]).
///
/// ```
/// assert!(leader_jobs_cron::lock_name::check("email").is_ok());
/// assert_eq!(
///     leader_jobs_cron::lock_name::check("a/b").unwrap_err(),
///     "it contains '/'"
/// );
/// ```
///
/// # Errors
///
/// What is wrong with the name, in words that follow "invalid lock name: ".
pub fn check(lock: &str) -> Result<(), String> {
    if lock.is_empty() {
        return Err("it is empty".to_owned());
    }
    if let Some(bad) = lock
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!("it contains {bad:?}"));
    }
    if lock.len() > MAX_CHARS {
        return Err(format!("it is {} characters long", lock.len()));
    }
    if lock.contains(PARTITION_MARKER) {
        return Err(format!("it contains `{PARTITION_MARKER}`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_topic_safe_names() {
        for lock in [
            "email",
            "send_daily_digest",
            "billing-eu-1",
            "A9",
            &"x".repeat(100),
        ] {
            assert_eq!(check(lock), Ok(()), "{lock:?}");
        }
    }

    #[test]
    fn rejects_unsafe_names() {
        assert_eq!(check(""), Err("it is empty".to_owned()));
        assert_eq!(check("a/b"), Err("it contains '/'".to_owned()));
        assert_eq!(check("a.b"), Err("it contains '.'".to_owned()));
        assert_eq!(check("mail job"), Err("it contains ' '".to_owned()));
        assert_eq!(check("größe"), Err("it contains 'ö'".to_owned()));
        assert_eq!(
            check(&"x".repeat(101)),
            Err("it is 101 characters long".to_owned())
        );
        assert_eq!(
            check("orders-partition-1"),
            Err("it contains `-partition-`".to_owned())
        );
    }
}
