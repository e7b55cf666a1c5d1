//! Is a cluster broker ready: it sees every broker, looks topics up, and the broker that owns a
//! new topic creates it (a ledger on the bookie).

use std::time::{SystemTime, UNIX_EPOCH};

use super::super::readiness::admin_agent;
use super::layout::CLUSTER_NAME;

/// Whether the broker with admin API `admin` is ready in a cluster of `count` brokers; if not,
/// what it lacks.
pub(crate) fn broker_ready(admin: &str, count: usize) -> Result<(), String> {
    let agent = admin_agent();
    let get = |url: &str| -> Result<String, String> {
        let mut response = agent
            .get(url)
            .call()
            .map_err(|error| format!("GET {url}: {error}"))?;
        let status = response.status();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("GET {url} answered {status}: {}", clip(&body)))
        }
    };
    let brokers = get(&format!("{admin}/admin/v2/brokers/{CLUSTER_NAME}"))?;
    let seen = brokers.matches("127.0.0.1:").count();
    if seen < count {
        return Err(format!("it sees {seen} of {count} brokers: {brokers}"));
    }
    // A name of its own each time: a topic that exists proves nothing. Asked through this
    // broker, created on the broker that owns it (an admin write sent elsewhere is redirected,
    // and a redirected PUT is not followed).
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let topic = format!("public/default/leader-jobs-readiness-{nanos}");
    let lookup = get(&format!("{admin}/lookup/v2/topic/persistent/{topic}"))?;
    let owner = http_url(&lookup).ok_or_else(|| format!("lookup answered {}", clip(&lookup)))?;
    let url = format!("{owner}/admin/v2/persistent/{topic}");
    let mut created = agent
        .put(&url)
        .content_type("application/json")
        .send("")
        .map_err(|error| format!("PUT {url}: {error}"))?;
    let status = created.status();
    if !status.is_success() {
        let body = created.body_mut().read_to_string().unwrap_or_default();
        return Err(format!("PUT {url} answered {status}: {}", clip(&body)));
    }
    // A courtesy: the broker deletes an unused topic after a minute anyway.
    let _ = agent.delete(&url).call();
    Ok(())
}

/// The owner's admin URL in a lookup's answer, `{"brokerUrl":…,"httpUrl":"http://…",…}`.
fn http_url(lookup: &str) -> Option<&str> {
    let start = lookup.find("\"httpUrl\":\"")? + "\"httpUrl\":\"".len();
    let end = lookup[start..].find('"')?;
    Some(&lookup[start..start + end])
}

fn clip(body: &str) -> String {
    body.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_read_from_a_lookup() {
        let lookup = r#"{"brokerUrl":"pulsar://127.0.0.1:6851","httpUrl":"http://127.0.0.1:8251","nativeUrl":"pulsar://127.0.0.1:6851","brokerUrlSsl":""}"#;
        assert_eq!(http_url(lookup), Some("http://127.0.0.1:8251"));
        assert_eq!(http_url("{}"), None);
    }
}
