//! Node ids: the name a node has in every election (the Pulsar consumer name) and in the ledger.

use std::hash::{BuildHasher, RandomState};

use crate::error::Error;

/// The longest node id accepted.
pub(super) const MAX_NODE_ID_LEN: usize = 128;

/// Checks that `id` is usable as a consumer name and in log lines: short, and only characters that
/// need no quoting anywhere.
pub(super) fn validate(id: &str) -> Result<(), Error> {
    let reason = if id.is_empty() {
        Some("it is empty")
    } else if id.len() > MAX_NODE_ID_LEN {
        Some("it is too long")
    } else if !id.chars().all(is_allowed) {
        Some("it contains a character outside the allowed set")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidNodeId {
            id: id.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// `hostname-pid-random`: stable enough to recognise in logs, unique across restarts and across
/// processes on one host.
pub(super) fn generate() -> String {
    let hostname = gethostname::gethostname();
    let mut host: String = hostname
        .to_string_lossy()
        .chars()
        .map(|c| if is_allowed(c) { c } else { '-' })
        .collect();
    // Room for `-pid-suffix`: at most 1 + 10 + 1 + 8 characters.
    host.truncate(MAX_NODE_ID_LEN - 20);
    if host.is_empty() {
        host.push_str("node");
    }
    // `RandomState` is seeded randomly per process, which is all the randomness a suffix needs.
    let suffix = RandomState::new().hash_one(std::time::SystemTime::now()) as u32;
    format!("{host}-{}-{suffix:08x}", std::process::id())
}

fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_valid_and_differ() {
        let (a, b) = (generate(), generate());
        validate(&a).unwrap();
        assert_ne!(a, b);
        assert!(a.contains(&format!("-{}-", std::process::id())), "{a}");
    }

    #[test]
    fn the_error_states_the_length_limit_the_check_applies() {
        let message = validate("a b").unwrap_err().to_string();
        assert!(
            message.contains(&format!("1 to {MAX_NODE_ID_LEN} characters")),
            "{message}"
        );
    }

    #[test]
    fn unusable_ids_are_rejected_with_the_reason() {
        for (id, reason) in [
            ("", "empty"),
            ("a b", "character"),
            ("ünïcode", "character"),
            (&"x".repeat(MAX_NODE_ID_LEN + 1), "too long"),
        ] {
            let err = validate(id).unwrap_err().to_string();
            assert!(err.contains(reason), "{err}");
        }
        validate("web-1.eu_west").unwrap();
    }
}
