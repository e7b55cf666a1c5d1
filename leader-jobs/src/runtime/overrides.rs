//! Schedules from configuration: per job a cron expression that replaces the declared one, or
//! `off` to switch the job off, read from the environment or any serde format.

use std::collections::BTreeMap;

/// The environment variable [`ScheduleOverrides::from_env`] reads.
pub const SCHEDULES_ENV: &str = "LEADER_JOBS_SCHEDULES";

/// The values that switch a job off instead of naming a schedule (`-` as Spring's `@Scheduled`).
const OFF: [&str; 2] = ["off", "-"];

/// Per job name, a schedule that replaces the declared one or `off`; given to
/// [`RuntimeBuilder::schedules`](crate::RuntimeBuilder::schedules).
///
/// From the environment (entries separated by `;`, each `job name = cron` or `job name = off`):
///
/// ```
/// use leader_jobs::ScheduleOverrides;
///
/// let overrides: ScheduleOverrides =
///     "app::send_daily_digest = 0 7 * * 1-5; app::cleanup = off".parse()?;
/// assert_eq!(overrides.schedule("app::send_daily_digest"), Some("0 7 * * 1-5"));
/// assert!(overrides.is_off("app::cleanup"));
/// # Ok::<(), leader_jobs::ScheduleOverridesError>(())
/// ```
///
/// Or from a configuration file, as a map from job name to schedule, with any serde format
/// (TOML, YAML, JSON):
///
/// ```
/// let overrides: leader_jobs::ScheduleOverrides =
///     serde_json::from_str(r#"{ "app::send_daily_digest": "0 7 * * *", "app::cleanup": "off" }"#)?;
/// assert!(overrides.is_off("app::cleanup"));
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// Names and expressions are checked by [`build`](crate::RuntimeBuilder::build): an unknown job
/// name fails it listing the known ones, an invalid expression names the job and the field.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct ScheduleOverrides(BTreeMap<String, String>);

/// Why a [`SCHEDULES_ENV`]-style string cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScheduleOverridesError {
    /// An entry is not `job name = schedule`.
    #[error(
        "schedule override {entry:?} is not `job name = cron expression` or `job name = off`; \
         separate entries with `;`"
    )]
    Malformed {
        /// The entry as written.
        entry: String,
    },
    /// A job is named twice.
    #[error("the schedule of job `{job}` is overridden twice; keep one entry")]
    Repeated {
        /// The job's name.
        job: String,
    },
    /// The variable holds something that is not UTF-8.
    #[error("{SCHEDULES_ENV} is not valid UTF-8")]
    NotUnicode,
}

impl ScheduleOverrides {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// The overrides in [`SCHEDULES_ENV`]; none if it is unset or empty.
    ///
    /// # Errors
    ///
    /// An entry that is not `name = value`, a job named twice, or a value that is not UTF-8.
    pub fn from_env() -> Result<Self, ScheduleOverridesError> {
        match std::env::var(SCHEDULES_ENV) {
            Ok(text) => text.parse(),
            Err(std::env::VarError::NotPresent) => Ok(Self::new()),
            Err(std::env::VarError::NotUnicode(_)) => Err(ScheduleOverridesError::NotUnicode),
        }
    }

    /// Runs job `name` at the ticks of `cron` instead of its declared schedule.
    #[must_use]
    pub fn with_schedule(mut self, name: impl Into<String>, cron: impl Into<String>) -> Self {
        self.0.insert(name.into(), cron.into());
        self
    }

    /// Switches job `name` off.
    #[must_use]
    pub fn with_off(mut self, name: impl Into<String>) -> Self {
        self.0.insert(name.into(), OFF[0].to_owned());
        self
    }

    /// The schedule given for job `name`, unless it is switched off.
    pub fn schedule(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|value| !is_off(value))
    }

    /// Whether job `name` is switched off.
    pub fn is_off(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|value| is_off(value))
    }

    /// The jobs named, with their value (`off` for one switched off), sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

fn is_off(value: &str) -> bool {
    OFF.iter().any(|off| value.trim().eq_ignore_ascii_case(off))
}

impl core::str::FromStr for ScheduleOverrides {
    type Err = ScheduleOverridesError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut overrides = BTreeMap::new();
        for entry in text
            .split(';')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            let malformed = || ScheduleOverridesError::Malformed {
                entry: entry.to_owned(),
            };
            let (name, value) = entry.split_once('=').ok_or_else(malformed)?;
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() || value.is_empty() {
                return Err(malformed());
            }
            if overrides
                .insert(name.to_owned(), value.to_owned())
                .is_some()
            {
                return Err(ScheduleOverridesError::Repeated {
                    job: name.to_owned(),
                });
            }
        }
        Ok(Self(overrides))
    }
}

#[cfg(test)]
mod tests {
    use super::{ScheduleOverrides, ScheduleOverridesError};

    #[test]
    fn entries_are_trimmed_and_off_is_recognised_in_either_spelling() {
        let overrides: ScheduleOverrides = " a = */5 * * * * ;b=OFF; c = - ;".parse().unwrap();
        assert_eq!(overrides.schedule("a"), Some("*/5 * * * *"));
        assert!(overrides.is_off("b") && overrides.is_off("c"));
        assert_eq!(overrides.schedule("b"), None);
        assert_eq!(overrides.iter().count(), 3);
    }

    #[test]
    fn malformed_and_repeated_entries_are_rejected() {
        assert_eq!(
            "a = @daily; b".parse::<ScheduleOverrides>(),
            Err(ScheduleOverridesError::Malformed { entry: "b".into() })
        );
        assert_eq!(
            "a=@daily;a=off".parse::<ScheduleOverrides>(),
            Err(ScheduleOverridesError::Repeated { job: "a".into() })
        );
        assert_eq!(
            "".parse::<ScheduleOverrides>(),
            Ok(ScheduleOverrides::new())
        );
    }
}
