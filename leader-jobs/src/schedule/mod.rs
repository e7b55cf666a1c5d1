//! TEMPORARY local stand-in for the schedule engine (branch `schedule`); never committed.
#![allow(missing_docs)]
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    tz: Tz,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(String);

impl Schedule {
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(s)
            .map_err(|e| ScheduleError(e.to_string()))?;
        Ok(Self { cron, tz: Tz::UTC })
    }
    pub fn in_timezone(self, tz: &str) -> Result<Self, ScheduleError> {
        let tz: Tz = tz
            .parse()
            .map_err(|_| ScheduleError(format!("unknown tz {tz}")))?;
        Ok(Self { tz, ..self })
    }
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .and_then(|d| chrono::Timelike::with_nanosecond(&d.with_timezone(&Utc), 0))
    }
}
