//! The policies a job is declared with, and where it was declared.

/// What happens when a tick arrives while the previous run of the same job is still going.
///
/// A run overlaps the next tick if it lasts longer than the period between its own tick and that
/// one, counted from when it started: a run that started late (its claim was slow to come back
/// from the broker) and is still going when the next tick comes due makes that tick wait, and the
/// tick is skipped only if the run is still going a whole period after it began.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OverlapPolicy {
    /// The tick is skipped and recorded as skipped (the default).
    Skip,
    /// The tick runs right after the current run ends; at most one tick waits.
    Queue,
    /// The tick runs at once, beside the current run.
    Allow,
}

/// What happens to ticks that passed while no node led the job's lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MisfirePolicy {
    /// One catch-up run for all missed ticks (the default).
    FireOnce,
    /// Missed ticks are recorded as missed and not run.
    Skip,
    /// Every missed tick inside the catch-up window runs, oldest first.
    FireAll,
}

/// What happens to a tick whose run never reported how it ended: its leader crashed mid-run,
/// froze past its lease, or was fenced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Delivery {
    /// The tick is reported as an abandoned run and not run again (the default): a tick runs at
    /// most once.
    #[default]
    AtMostOnce,
    /// The next leader runs the tick again, as a new attempt under its own term, once the old
    /// leader's run has surely stopped, within the job's rerun window. A tick completes at least
    /// once, and twice only when the first completion never reached the ledger: make the job
    /// idempotent with [`JobContext::run_id`](crate::JobContext::run_id).
    AtLeastOnce,
}

/// The attribute's spelling: `at_most_once`, `at_least_once`.
impl core::fmt::Display for Delivery {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::AtMostOnce => "at_most_once",
            Self::AtLeastOnce => "at_least_once",
        })
    }
}

/// The attribute's spelling: `skip`, `queue`, `allow`.
impl core::fmt::Display for OverlapPolicy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Skip => "skip",
            Self::Queue => "queue",
            Self::Allow => "allow",
        })
    }
}

/// The attribute's spelling: `fire_once`, `skip`, `fire_all`.
impl core::fmt::Display for MisfirePolicy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::FireOnce => "fire_once",
            Self::Skip => "skip",
            Self::FireAll => "fire_all",
        })
    }
}

/// Where a job was declared (the `#[singleton_job]` attribute, or the call of
/// [`Job::new`](super::Job::new)), for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceLocation {
    /// The source file.
    pub file: &'static str,
    /// The line in it.
    pub line: u32,
}

impl SourceLocation {
    /// The location of the caller of a `#[track_caller]` function.
    #[track_caller]
    pub(crate) fn caller() -> Self {
        let location = core::panic::Location::caller();
        Self {
            file: location.file(),
            line: location.line(),
        }
    }
}

impl core::fmt::Display for SourceLocation {
    /// `file:line`, as compilers and editors print locations.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}
