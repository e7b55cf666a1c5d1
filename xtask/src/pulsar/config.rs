//! The broker's configuration files: `broker.conf` (standalone.conf format) and `log4j2.xml`.

use std::fmt::Write as _;

use super::BrokerSettings;

/// Keys the tooling owns: ports have their own options, and the broker only ever binds to
/// loopback.
const RESERVED_KEYS: [(&str, &str); 6] = [
    ("brokerServicePort", "use --port"),
    ("webServicePort", "use --http-port"),
    ("bindAddress", "the broker binds to 127.0.0.1 only"),
    ("advertisedAddress", "the broker binds to 127.0.0.1 only"),
    ("listeningInterface", "the bookie binds to loopback only"),
    ("allowLoopback", "the bookie binds to loopback only"),
];

/// One `--set KEY=VALUE`: adds a broker configuration key or replaces the tooling's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigOverride {
    key: String,
    value: String,
}

impl ConfigOverride {
    /// A key the tooling itself sets (not checked against the reserved keys).
    pub(crate) fn new(key: &str, value: String) -> Self {
        Self {
            key: key.to_owned(),
            value,
        }
    }

    /// Parses `KEY=VALUE` (the value may be empty or contain `=`).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(format!("`{text}` is not KEY=VALUE"));
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) || key.starts_with('#') {
            return Err(format!("`{key}` is not a configuration key"));
        }
        if let Some((_, instead)) = RESERVED_KEYS.iter().find(|(reserved, _)| *reserved == key) {
            return Err(format!("`{key}` cannot be set with --set: {instead}"));
        }
        Ok(Self {
            key: key.to_owned(),
            value: value.trim().to_owned(),
        })
    }
}

/// `broker.conf`: what a standalone broker needs on loopback, the production defaults the
/// project's code must cope with (written out so the file documents them), then `--set`.
pub(crate) fn broker_config(settings: &BrokerSettings) -> String {
    let mut entries: Vec<(String, String)> = [
        ("clusterName", "standalone".to_owned()),
        ("bindAddress", "127.0.0.1".to_owned()),
        ("advertisedAddress", "127.0.0.1".to_owned()),
        ("brokerServicePort", settings.service_port.to_string()),
        ("webServicePort", settings.http_port.to_string()),
        // Without these two the embedded bookie listens on every interface.
        ("listeningInterface", "lo".to_owned()),
        ("allowLoopback", "true".to_owned()),
        // A single bookie can only store single copies.
        ("managedLedgerDefaultEnsembleSize", "1".to_owned()),
        ("managedLedgerDefaultWriteQuorum", "1".to_owned()),
        ("managedLedgerDefaultAckQuorum", "1".to_owned()),
        // The bookie judges the whole filesystem it shares with the checkout, the build and
        // everything else: by default it turns read-only at 95 % used (90 % warns), and every
        // topic creation then fails with "Not enough non-faulty bookies available" although
        // the broker answers. CI met that on a machine with gigabytes free; so did a broker here
        // with 11 GB of 252 GB free. A development broker should write while there is room.
        ("diskUsageThreshold", "0.9999".to_owned()),
        ("diskUsageWarnThreshold", "0.999".to_owned()),
        ("diskUsageLwmThreshold", "0.999".to_owned()),
        // Production defaults, kept so tests meet the broker users run.
        ("brokerDeleteInactiveTopicsEnabled", "true".to_owned()),
        ("defaultRetentionTimeInMinutes", "0".to_owned()),
        ("defaultRetentionSizeInMB", "0".to_owned()),
        ("keepAliveIntervalSeconds", "30".to_owned()),
        ("activeConsumerFailoverDelayTimeMillis", "1000".to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    for ConfigOverride { key, value } in &settings.overrides {
        match entries.iter_mut().find(|(existing, _)| existing == key) {
            Some(entry) => entry.1.clone_from(value),
            None => entries.push((key.clone(), value.clone())),
        }
    }
    let mut text = String::from(
        "# Written by `cargo xtask pulsar start` on every start; change it with --set KEY=VALUE.\n",
    );
    for (key, value) in &entries {
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{key}={value}");
    }
    text
}

/// The value of `key` in a configuration file written by [`broker_config`].
pub(crate) fn value_of<'a>(config: &'a str, key: &str) -> Option<&'a str> {
    config
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| name.trim() == key)
        .map(|(_, value)| value.trim())
        .next_back()
}

/// log4j to stdout, which the tooling sends to `broker.log` together with whatever else the
/// JVM prints (crash reports, out-of-memory errors), so one file tells the whole story.
pub(crate) fn log4j_config() -> &'static str {
    r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by `cargo xtask pulsar start`. -->
<Configuration status="warn">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="%d{ISO8601} %-5level [%t] %c{1.} - %msg%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="info">
      <AppenderRef ref="stdout"/>
    </Root>
  </Loggers>
</Configuration>
"#
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn settings(overrides: &[&str]) -> BrokerSettings {
        BrokerSettings {
            dir: PathBuf::from("target/pulsar"),
            service_port: 6651,
            http_port: 8081,
            overrides: overrides
                .iter()
                .map(|text| ConfigOverride::parse(text))
                .collect::<Result<_, _>>()
                .unwrap(),
            ready_timeout: Duration::from_secs(1),
            maven: crate::pulsar::MavenOptions::default(),
        }
    }

    #[test]
    fn ports_come_from_the_settings() {
        let config = broker_config(&settings(&[]));
        assert_eq!(value_of(&config, "brokerServicePort"), Some("6651"));
        assert_eq!(value_of(&config, "webServicePort"), Some("8081"));
        assert_eq!(value_of(&config, "bindAddress"), Some("127.0.0.1"));
    }

    #[test]
    fn set_replaces_a_key_in_place_and_adds_new_ones() {
        let config = broker_config(&settings(&[
            "keepAliveIntervalSeconds=10",
            "authenticationEnabled=true",
            "tokenSecretKey=data:;base64,AAA=",
        ]));
        assert_eq!(value_of(&config, "keepAliveIntervalSeconds"), Some("10"));
        assert_eq!(config.matches("keepAliveIntervalSeconds=").count(), 1);
        assert_eq!(value_of(&config, "authenticationEnabled"), Some("true"));
        assert_eq!(
            value_of(&config, "tokenSecretKey"),
            Some("data:;base64,AAA=")
        );
    }

    #[test]
    fn set_rejects_malformed_and_reserved_keys() {
        assert!(ConfigOverride::parse("novalue").is_err());
        assert!(ConfigOverride::parse("=1").is_err());
        assert!(ConfigOverride::parse("two words=1").is_err());
        let reserved = ConfigOverride::parse("brokerServicePort=1").unwrap_err();
        assert!(reserved.contains("--port"), "{reserved}");
        assert!(ConfigOverride::parse("bindAddress=0.0.0.0").is_err());
        assert_eq!(
            ConfigOverride::parse("emptyValue="),
            Ok(ConfigOverride {
                key: "emptyValue".to_owned(),
                value: String::new()
            })
        );
    }
}
