//! Every rejection, with its message and the data it carries.

use leader_jobs_cron::{CronField, Schedule, ScheduleError};

/// The error `Schedule::parse` gives for `expression`.
fn error(expression: &str) -> ScheduleError {
    match Schedule::parse(expression) {
        Ok(schedule) => panic!("`{expression}` parsed as {schedule}"),
        Err(error) => error,
    }
}

/// The message `Schedule::parse` gives for `expression`.
fn message(expression: &str) -> String {
    error(expression).to_string()
}

#[test]
fn values_out_of_range_name_the_field_and_its_range() {
    assert_eq!(message("0 25 * * *"), "hour must be 0–23, got 25");
    assert_eq!(message("60 * * * *"), "minute must be 0–59, got 60");
    assert_eq!(message("60 0 0 * * *"), "second must be 0–59, got 60");
    assert_eq!(
        message("0 0 0 * *"),
        "day-of-month must be 1–31 or L (last day of the month), got 0"
    );
    assert_eq!(
        message("0 0 * 13 *"),
        "month must be 1–12 or JAN–DEC, got 13"
    );
    assert_eq!(
        message("0 0 * * 8"),
        "day-of-week must be 0–7 or SUN–SAT (0 and 7 are Sunday), got 8"
    );
    assert_eq!(
        error("0 25 * * *"),
        ScheduleError::InvalidValue {
            field: CronField::Hour,
            min: 0,
            max: 23,
            text: "25".into()
        }
    );
    // Too large for any field, and part of a range.
    assert_eq!(message("0 1-300 * * *"), "hour must be 0–23, got 300");
}

#[test]
fn words_that_are_not_names_of_the_field() {
    assert_eq!(
        message("0 0 * * MONDAY"),
        "day-of-week must be 0–7 or SUN–SAT (0 and 7 are Sunday), got MONDAY"
    );
    assert_eq!(message("0 JAN * * *"), "hour must be 0–23, got JAN");
    assert_eq!(
        message("0 0 * MON *"),
        "month must be 1–12 or JAN–DEC, got MON"
    );
    assert_eq!(message("0 +5 * * *"), "hour must be 0–23, got +5");
}

#[test]
fn wrong_field_counts() {
    assert_eq!(
        message("0 9 *"),
        "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with leading seconds, got 3"
    );
    assert_eq!(
        error("0 0 9 * * * 2026"),
        ScheduleError::FieldCount { found: 7 }
    );
    assert_eq!(
        message("   "),
        "the cron expression is empty: write 5 fields (minute hour day-of-month month day-of-week), \
         6 with leading seconds, or a nickname: \
         @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"
    );
}

#[test]
fn steps() {
    assert_eq!(
        message("*/0 * * * *"),
        "minute step must be a whole number of at least 1, got `0` in `*/0`"
    );
    assert_eq!(
        message("0 0-23/x * * *"),
        "hour step must be a whole number of at least 1, got `x` in `0-23/x`"
    );
    assert_eq!(
        message("5/15 * * * *"),
        "minute `5/15`: a step needs `*` or a range before it (cron reads no `start/step`); \
         write `5-59/15`"
    );
    assert_eq!(
        error("0 1/2 * * *"),
        ScheduleError::StepWithoutRange {
            field: CronField::Hour,
            text: "1/2".into(),
            suggestion: "1-23/2".into()
        }
    );
    assert_eq!(
        message("/5 * * * *"),
        "minute `/5` is not valid: a step needs `*` or a range before `/`, e.g. `*/5` or `0-30/5`"
    );
}

#[test]
fn backwards_ranges_suggest_the_wrap_around() {
    assert_eq!(
        message("50-10 * * * *"),
        "minute range `50-10` runs backwards and cron ranges do not wrap around; \
         write `50-59,0-10`"
    );
    assert_eq!(
        error("0 22-2/2 * * *"),
        ScheduleError::ReversedRange {
            field: CronField::Hour,
            text: "22-2/2".into(),
            suggestion: "22-23/2,0-2/2".into()
        }
    );
    let suggestion = |expression| match error(expression) {
        ScheduleError::ReversedRange { suggestion, .. } => suggestion,
        other => panic!("`{expression}`: {other}"),
    };
    assert_eq!(suggestion("0 0 * * FRI-MON"), "5-6,0-1");
    assert_eq!(suggestion("0 0 * * SAT-MON"), "6,0-1");
    assert_eq!(suggestion("0 0 * * 7-2"), "0-2");
    assert_eq!(suggestion("0 0 * NOV-FEB *"), "11-12,1-2");
}

#[test]
fn malformed_elements() {
    assert_eq!(
        message("1,,2 * * * *"),
        "minute `1,,2` is not valid: a list element is empty; separate values with single commas, \
         e.g. `1,15`"
    );
    assert_eq!(
        message("1- * * * *"),
        "minute `1-` is not valid: a range is two values joined by one `-`, e.g. `1-5`"
    );
    assert_eq!(
        message("1-2-3 * * * *"),
        "minute `1-2-3` is not valid: a range is two values joined by one `-`, e.g. `1-5`"
    );
    assert_eq!(
        message("*-5 * * * *"),
        "minute `*-5` is not valid: `*` stands alone (optionally with a step, `*/5`) and cannot \
         be part of a range"
    );
}

#[test]
fn l_belongs_to_day_of_month_only() {
    assert_eq!(
        message("0 0 * * L"),
        "day-of-week `L` is not valid: `L` (last day of the month) is only allowed in day-of-month"
    );
    assert_eq!(
        message("0 0 L-2 * *"),
        "day-of-month `L-2` is not valid: only a bare `L` (last day of the month, in \
         day-of-month) is supported; `nL` and `L-n` are Quartz syntax"
    );
}

#[test]
fn quartz_syntax_is_named_as_such() {
    let problem = |expression| match error(expression) {
        ScheduleError::Syntax { problem, .. } => problem,
        other => panic!("`{expression}`: {other}"),
    };
    assert_eq!(
        problem("0 0 ? * MON"),
        "`?` is Quartz syntax; cron writes `*` for \"any\""
    );
    assert_eq!(
        problem("0 0 * * 5#3"),
        "`#` (n-th weekday of the month) is Quartz syntax that cron does not read"
    );
    assert_eq!(
        problem("0 0 15W * *"),
        "`W` (nearest weekday) is Quartz syntax that cron does not read"
    );
    assert!(problem("0 0 * * 5L").contains("Quartz"));
    assert_eq!(
        error("0 0 * * 5L"),
        ScheduleError::Syntax {
            field: CronField::DayOfWeek,
            text: "5L".into(),
            problem: problem("0 0 * * 5L")
        }
    );
}

#[test]
fn nicknames() {
    assert_eq!(
        message("@reboot"),
        "@reboot is not a schedule: a cluster has no single boot to run it after; \
         run start-up work in `main` before starting the runtime"
    );
    assert_eq!(
        message("@fortnightly"),
        "unknown nickname `@fortnightly`: use one of \
         @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, or write the 5 fields"
    );
    // As in Debian's cron, nicknames are lower case.
    assert_eq!(
        error("@DAILY"),
        ScheduleError::UnknownNickname {
            text: "@DAILY".into()
        }
    );
}

#[test]
fn schedules_that_can_never_fire() {
    assert_eq!(
        message("0 9 31 2 *"),
        "`0 9 31 2 *` can never fire: no date matches its day-of-month, month and day-of-week \
         together (like 31 or 30 in February); fix one of those fields"
    );
    for expression in [
        "0 0 30 2 *",
        "0 0 30,31 2 *",
        "0 0 31 4,6,9,11 *",
        "0 0 0 31 APR *",
        // Both day fields must match when day-of-week starts with `*`.
        "0 0 30 2 */7",
    ] {
        assert_eq!(
            error(expression),
            ScheduleError::NeverFires {
                expression: expression.into()
            }
        );
    }
    // Either day field may match when both are restricted: Mondays in February.
    assert!(Schedule::parse("0 0 31 2 1").is_ok());
    assert!(Schedule::parse("0 0 29 2 *").is_ok());
    assert!(Schedule::parse("0 0 L 2 *").is_ok());
}

#[test]
fn unknown_time_zones_suggest_a_name() {
    let in_zone = |tz: &str| {
        Schedule::parse("@daily")
            .unwrap()
            .in_timezone(tz)
            .unwrap_err()
    };
    assert_eq!(
        in_zone("Mars/Olympus_Mons").to_string(),
        "unknown time zone `Mars/Olympus_Mons`: use an IANA name such as `Europe/Berlin`, \
         `America/New_York` or `UTC`"
    );
    assert_eq!(
        in_zone("Berlin").to_string(),
        "unknown time zone `Berlin`: did you mean `Europe/Berlin`?"
    );
    assert_eq!(
        in_zone("europe/berlin"),
        ScheduleError::UnknownTimeZone {
            name: "europe/berlin".into(),
            suggestion: Some("Europe/Berlin")
        }
    );
    assert_eq!(
        in_zone("New York"),
        ScheduleError::UnknownTimeZone {
            name: "New York".into(),
            suggestion: Some("America/New_York")
        }
    );
    assert_eq!(
        in_zone(""),
        ScheduleError::UnknownTimeZone {
            name: String::new(),
            suggestion: None
        }
    );
}
