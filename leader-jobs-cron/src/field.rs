//! One field of a cron expression — lists, ranges, steps and names — read as Debian's cron reads
//! it, except that a backwards range (`50-10`), which Debian accepts and never fires, is an error.

use super::error::{CronField, ScheduleError};

/// Month names; `JAN` is 1.
const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// Day-of-week names; `SUN` is 0.
const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The values one field matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FieldSet {
    /// Bit `v` is set when the field matches value `v`. Day-of-week keeps Sunday in bit 0 only.
    pub(super) bits: u64,
    /// Whether the field as written starts with `*`. Vixie cron decides two things by this
    /// first character alone: the day-of-month / day-of-week rule, and which jobs keep their
    /// real-time cadence across daylight-saving changes.
    pub(super) starts_with_star: bool,
    /// Whether day-of-month lists `L`, the last day of the month.
    pub(super) last_day: bool,
}

/// Parses one whitespace-free field: a comma-separated list of `*`, values, ranges and steps.
pub(super) fn parse_field(field: CronField, text: &str) -> Result<FieldSet, ScheduleError> {
    let mut set = FieldSet {
        bits: 0,
        starts_with_star: text.starts_with('*'),
        last_day: false,
    };
    for element in text.split(',') {
        if element.is_empty() {
            return Err(ScheduleError::Syntax {
                field,
                text: text.to_owned(),
                problem: "a list element is empty; separate values with single commas, e.g. `1,15`",
            });
        }
        parse_element(field, element, &mut set)?;
    }
    if field == CronField::DayOfWeek && set.bits & (1 << 7) != 0 {
        set.bits = (set.bits | 1) & !(1 << 7);
    }
    Ok(set)
}

/// Adds one list element (`*`, `5`, `1-5`, `*/15`, `10-50/10`, `L`) to `set`.
fn parse_element(field: CronField, element: &str, set: &mut FieldSet) -> Result<(), ScheduleError> {
    let syntax = |problem| ScheduleError::Syntax {
        field,
        text: element.to_owned(),
        problem,
    };
    if let Some(problem) = quartz_extension(element) {
        return Err(syntax(problem));
    }
    if element.eq_ignore_ascii_case("L") {
        if field != CronField::DayOfMonth {
            return Err(syntax(
                "`L` (last day of the month) is only allowed in day-of-month",
            ));
        }
        set.last_day = true;
        return Ok(());
    }

    let (range, step_text) = match element.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (element, None),
    };
    let step = match step_text {
        Some(step) => parse_step(field, step, element)?,
        None => 1,
    };
    let (start, end) = if range == "*" {
        (field.min(), field.max())
    } else if range.is_empty() {
        return Err(syntax(
            "a step needs `*` or a range before `/`, e.g. `*/5` or `0-30/5`",
        ));
    } else if range.contains('*') {
        return Err(syntax(
            "`*` stands alone (optionally with a step, `*/5`) and cannot be part of a range",
        ));
    } else if let Some((first, last)) = range.split_once('-') {
        if first.is_empty() || last.is_empty() || last.contains('-') {
            return Err(syntax(
                "a range is two values joined by one `-`, e.g. `1-5`",
            ));
        }
        let (first, last) = (parse_value(field, first)?, parse_value(field, last)?);
        if first > last {
            return Err(ScheduleError::ReversedRange {
                field,
                text: element.to_owned(),
                suggestion: wrapped_range(field, first, last, step_text),
            });
        }
        (first, last)
    } else {
        let value = parse_value(field, range)?;
        if let Some(step) = step_text {
            return Err(ScheduleError::StepWithoutRange {
                field,
                text: element.to_owned(),
                suggestion: format!("{range}-{}/{step}", field.max()),
            });
        }
        (value, value)
    };
    for value in (start..=end).step_by(step) {
        set.bits |= 1 << value;
    }
    Ok(())
}

/// Recognises the Quartz scheduler's extensions, which people often paste into cron strings.
fn quartz_extension(element: &str) -> Option<&'static str> {
    if element.contains('?') {
        return Some("`?` is Quartz syntax; cron writes `*` for \"any\"");
    }
    if element.contains('#') {
        return Some("`#` (n-th weekday of the month) is Quartz syntax that cron does not read");
    }
    let upper = element.to_ascii_uppercase();
    let digit_before = |suffix| {
        upper
            .strip_suffix(suffix)
            .is_some_and(|rest| rest.ends_with(|c: char| c.is_ascii_digit()))
    };
    if digit_before('W') {
        return Some("`W` (nearest weekday) is Quartz syntax that cron does not read");
    }
    if digit_before('L') || upper.starts_with("L-") {
        return Some(
            "only a bare `L` (last day of the month, in day-of-month) is supported; \
             `nL` and `L-n` are Quartz syntax",
        );
    }
    None
}

/// Parses the step after `/`: a whole number of at least 1 (a step larger than the range
/// matches its first value only, as in Debian's cron).
fn parse_step(field: CronField, step: &str, element: &str) -> Result<usize, ScheduleError> {
    let digits = !step.is_empty() && step.bytes().all(|b| b.is_ascii_digit());
    match step.parse::<usize>() {
        Ok(value) if digits && value >= 1 => Ok(value),
        _ => Err(ScheduleError::InvalidStep {
            field,
            step: step.to_owned(),
            text: element.to_owned(),
        }),
    }
}

/// Parses one value: digits, or a three-letter name in the month and day-of-week fields.
fn parse_value(field: CronField, text: &str) -> Result<u8, ScheduleError> {
    let invalid = || ScheduleError::InvalidValue {
        field,
        min: field.min(),
        max: field.max(),
        text: text.to_owned(),
    };
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u8>() {
            Ok(value) if (field.min()..=field.max()).contains(&value) => Ok(value),
            _ => Err(invalid()),
        };
    }
    let (names, first): (&[&str], usize) = match field {
        CronField::Month => (&MONTH_NAMES, 1),
        CronField::DayOfWeek => (&WEEKDAY_NAMES, 0),
        CronField::Second | CronField::Minute | CronField::Hour | CronField::DayOfMonth => {
            return Err(invalid());
        }
    };
    names
        .iter()
        .zip(first..)
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .and_then(|(_, value)| u8::try_from(value).ok())
        .ok_or_else(invalid)
}

/// Writes a backwards range `first-last` as the two ranges a wrap-around would mean.
fn wrapped_range(field: CronField, first: u8, last: u8, step: Option<&str>) -> String {
    let step = step.map(|step| format!("/{step}")).unwrap_or_default();
    let (min, top) = match field {
        // Sunday is both 0 and 7: the wrap goes from Saturday to 0.
        CronField::DayOfWeek => (0, 6),
        _ => (field.min(), field.max()),
    };
    let span = |from: u8, to: u8| {
        if from == to {
            from.to_string()
        } else {
            format!("{from}-{to}{step}")
        }
    };
    if field == CronField::DayOfWeek && first == 7 {
        span(min, last)
    } else {
        format!("{},{}", span(first, top), span(min, last))
    }
}
