//! What can be wrong with a cron expression or a time-zone name, said so the reader can fix it.

use core::fmt;

use super::nickname::NICKNAMES;

/// One of the six fields of a cron expression, in the order they are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CronField {
    /// The optional leading seconds field (6-field expressions): 0–59.
    Second,
    /// Minute of the hour: 0–59.
    Minute,
    /// Hour of the day: 0–23.
    Hour,
    /// Day of the month: 1–31, or `L` for the last day of the month.
    DayOfMonth,
    /// Month of the year: 1–12 or `JAN`–`DEC`.
    Month,
    /// Day of the week: 0–7 (0 and 7 are Sunday) or `SUN`–`SAT`.
    DayOfWeek,
}

impl CronField {
    /// The field's name as cron's documentation spells it, e.g. `day-of-month`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::DayOfMonth => "day-of-month",
            Self::Month => "month",
            Self::DayOfWeek => "day-of-week",
        }
    }

    /// The smallest number the field accepts.
    pub const fn min(self) -> u8 {
        match self {
            Self::DayOfMonth | Self::Month => 1,
            Self::Second | Self::Minute | Self::Hour | Self::DayOfWeek => 0,
        }
    }

    /// The largest number the field accepts (7 for day-of-week: 0 and 7 are both Sunday).
    pub const fn max(self) -> u8 {
        match self {
            Self::Second | Self::Minute => 59,
            Self::Hour => 23,
            Self::DayOfMonth => 31,
            Self::Month => 12,
            Self::DayOfWeek => 7,
        }
    }

    /// What the field accepts besides numbers, appended to the numeric range in messages.
    const fn alternatives(self) -> &'static str {
        match self {
            Self::Second | Self::Minute | Self::Hour => "",
            Self::DayOfMonth => " or L (last day of the month)",
            Self::Month => " or JAN–DEC",
            Self::DayOfWeek => " or SUN–SAT (0 and 7 are Sunday)",
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a cron expression or a time zone was rejected.
///
/// Every message names what is wrong and how to write it instead, e.g.
/// `hour must be 0–23, got 25`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The expression is empty or only whitespace.
    #[error(
        "the cron expression is empty: write 5 fields (minute hour day-of-month month day-of-week), \
         6 with leading seconds, or a nickname: {}",
        NicknameList
    )]
    Empty,

    /// The expression has neither 5 nor 6 whitespace-separated fields.
    #[error(
        "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with leading seconds, \
         got {found}"
    )]
    FieldCount {
        /// How many fields the expression has.
        found: usize,
    },

    /// A value is not a number or name the field accepts, or lies outside its range.
    #[error("{field} must be {min}–{max}{}, got {text}", field.alternatives())]
    InvalidValue {
        /// The field the value was written in.
        field: CronField,
        /// The smallest number the field accepts.
        min: u8,
        /// The largest number the field accepts.
        max: u8,
        /// The value as written.
        text: String,
    },

    /// The step after `/` is not a whole number of at least 1.
    #[error("{field} step must be a whole number of at least 1, got `{step}` in `{text}`")]
    InvalidStep {
        /// The field the step was written in.
        field: CronField,
        /// The step as written.
        step: String,
        /// The whole list element, e.g. `*/0`.
        text: String,
    },

    /// A step follows a single value (`5/15`), which Debian's cron rejects too.
    #[error(
        "{field} `{text}`: a step needs `*` or a range before it (cron reads no `start/step`); \
         write `{suggestion}`"
    )]
    StepWithoutRange {
        /// The field the element was written in.
        field: CronField,
        /// The element as written, e.g. `5/15`.
        text: String,
        /// The same steps written as a range, e.g. `5-59/15`.
        suggestion: String,
    },

    /// A range whose start is after its end (`50-10`); cron ranges do not wrap around.
    #[error(
        "{field} range `{text}` runs backwards and cron ranges do not wrap around; write `{suggestion}`"
    )]
    ReversedRange {
        /// The field the range was written in.
        field: CronField,
        /// The range as written.
        text: String,
        /// The same values written as two ranges, e.g. `50-59,0-10`.
        suggestion: String,
    },

    /// A list element that is not `*`, a value, a range or a step: empty elements, `?`, `#`,
    /// `W`, `nL` and other syntax Vixie cron does not read.
    #[error("{field} `{text}` is not valid: {problem}")]
    Syntax {
        /// The field the element was written in.
        field: CronField,
        /// The element as written.
        text: String,
        /// What is wrong with it and what to write instead.
        problem: &'static str,
    },

    /// `@something` that is not one of the known nicknames.
    #[error(
        "unknown nickname `{text}`: use one of {}, or write the 5 fields",
        NicknameList
    )]
    UnknownNickname {
        /// The nickname as written.
        text: String,
    },

    /// `@reboot`, which names no time at which a cluster could run a job.
    #[error(
        "@reboot is not a schedule: a cluster has no single boot to run it after; \
         run start-up work in `main` before starting the runtime"
    )]
    Reboot,

    /// No calendar date satisfies the day-of-month, month and day-of-week fields together.
    #[error(
        "`{expression}` can never fire: no date matches its day-of-month, month and day-of-week \
         together (like 31 or 30 in February); fix one of those fields"
    )]
    NeverFires {
        /// The expression as written.
        expression: String,
    },

    /// The time-zone name is not in the IANA database.
    #[error("unknown time zone `{name}`: {}", TimeZoneHint(*.suggestion))]
    UnknownTimeZone {
        /// The name as written.
        name: String,
        /// A known name that differs only in case, spacing or a missing region, if any.
        suggestion: Option<&'static str>,
    },
}

/// The advice after an unknown time-zone name: the likely intended name, or the format.
struct TimeZoneHint(Option<&'static str>);

impl fmt::Display for TimeZoneHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, "did you mean `{name}`?"),
            None => {
                f.write_str("use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`")
            }
        }
    }
}

/// The accepted nicknames, comma-separated.
struct NicknameList;

impl fmt::Display for NicknameList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (name, _)) in NICKNAMES.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}
