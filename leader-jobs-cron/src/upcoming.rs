//! A schedule's ticks as an iterator.

use core::iter::FusedIterator;

use chrono::{DateTime, Utc};

use crate::Schedule;

impl Schedule {
    /// The ticks strictly after `after`, in order.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use leader_jobs_cron::Schedule;
    ///
    /// let schedule = Schedule::parse("*/20 * * * *")?;
    /// let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    /// let minutes: Vec<_> = schedule
    ///     .upcoming(start)
    ///     .take(4)
    ///     .map(|tick| (tick - start).num_minutes())
    ///     .collect();
    /// assert_eq!(minutes, [20, 40, 60, 80]);
    /// # Ok::<(), leader_jobs_cron::ScheduleError>(())
    /// ```
    pub fn upcoming(&self, after: DateTime<Utc>) -> Upcoming<'_> {
        Upcoming {
            schedule: self,
            after: Some(after),
        }
    }
}

/// The ticks of a [`Schedule`] after a point in time, from [`Schedule::upcoming`].
#[derive(Clone, Debug)]
pub struct Upcoming<'a> {
    schedule: &'a Schedule,
    /// The last tick returned (at first, the starting point); `None` once the ticks ran out.
    after: Option<DateTime<Utc>>,
}

impl Iterator for Upcoming<'_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        let next = self.schedule.next_after(self.after?);
        self.after = next;
        next
    }
}

impl FusedIterator for Upcoming<'_> {}
