//! Debian cron's daylight-saving rule in three zones, worked out by hand from the zone rules
//! (chrono-tz, tzdata 2025):
//!
//! | zone | spring forward (skipped wall-clock) | fall back (repeated wall-clock) |
//! |---|---|---|
//! | Europe/Berlin | 2026-03-29 01:00 UTC: 02:00 CET → 03:00 CEST | 2026-10-25 01:00 UTC: 03:00 CEST → 02:00 CET |
//! | America/New_York | 2026-03-08 07:00 UTC: 02:00 EST → 03:00 EDT | 2026-11-01 06:00 UTC: 02:00 EDT → 01:00 EST |
//! | Australia/Lord_Howe | 2026-10-03 15:30 UTC: 02:00 → 02:30 (+10:30 → +11) | 2026-04-04 15:00 UTC: 02:00 → 01:30 (+11 → +10:30) |
//!
//! Fixed-time jobs (no `*` at the start of seconds, minute or hour) run a skipped time at the
//! jump and a repeated time once; wildcard jobs keep their real-time cadence.

use super::{ticks, ticks_until, utc};

const BERLIN: &str = "Europe/Berlin";
const NEW_YORK: &str = "America/New_York";
const LORD_HOWE: &str = "Australia/Lord_Howe";

mod berlin {
    use super::*;

    #[test]
    fn fixed_time_in_the_skipped_hour_runs_when_the_clock_jumps() {
        // 02:30 CET = 01:30 UTC on the 28th; the 29th has no 02:30, so 03:00 CEST = 01:00 UTC;
        // 02:30 CEST = 00:30 UTC on the 30th.
        assert_eq!(
            ticks("30 2 * * *", BERLIN, utc(2026, 3, 28, 0, 0, 0), 3),
            [
                "2026-03-28T01:30:00Z",
                "2026-03-29T01:00:00Z",
                "2026-03-30T00:30:00Z"
            ]
        );
        // Several skipped times of one job, and a tick at the jump's own wall-clock time, are one
        // tick at the jump.
        assert_eq!(
            ticks("0,30 2,3 * * *", BERLIN, utc(2026, 3, 29, 0, 0, 0), 2),
            ["2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"]
        );
        // Just before the jump the next tick is the jump itself; at the jump it is the next day.
        assert_eq!(
            ticks("30 2 * * *", BERLIN, utc(2026, 3, 29, 0, 59, 59), 1),
            ["2026-03-29T01:00:00Z"]
        );
        assert_eq!(
            ticks("30 2 * * *", BERLIN, utc(2026, 3, 29, 1, 0, 0), 1),
            ["2026-03-30T00:30:00Z"]
        );
    }

    #[test]
    fn fixed_time_in_the_repeated_hour_runs_once() {
        // 02:30 CEST = 00:30 UTC; the second 02:30 (CET, 01:30 UTC) is skipped; the 26th's
        // 02:30 CET is 01:30 UTC.
        assert_eq!(
            ticks("30 2 * * *", BERLIN, utc(2026, 10, 24, 12, 0, 0), 2),
            ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
        );
        // Starting inside the second pass changes nothing.
        assert_eq!(
            ticks("30 2 * * *", BERLIN, utc(2026, 10, 25, 1, 10, 0), 1),
            ["2026-10-26T01:30:00Z"]
        );
        // A range that does not start with `*` is fixed-time too: four ticks, not eight.
        assert_eq!(
            ticks_until(
                "0-59/15 2 * * *",
                BERLIN,
                utc(2026, 10, 24, 23, 0, 0),
                utc(2026, 10, 25, 3, 0, 0)
            ),
            [
                "2026-10-25T00:00:00Z",
                "2026-10-25T00:15:00Z",
                "2026-10-25T00:30:00Z",
                "2026-10-25T00:45:00Z"
            ]
        );
    }

    #[test]
    fn every_five_minutes_keeps_its_cadence() {
        let spring = ticks_until(
            "*/5 * * * *",
            BERLIN,
            utc(2026, 3, 29, 0, 45, 0),
            utc(2026, 3, 29, 1, 10, 0),
        );
        // 01:50 and 01:55 CET, then 03:00 CEST: nothing for the skipped hour, nothing twice.
        assert_eq!(
            spring,
            [
                "2026-03-29T00:50:00Z",
                "2026-03-29T00:55:00Z",
                "2026-03-29T01:00:00Z",
                "2026-03-29T01:05:00Z",
                "2026-03-29T01:10:00Z"
            ]
        );
        // 02:00–02:55 CEST and again 02:00–02:55 CET: 24 ticks in two hours, 12 in the repeat.
        let fall = ticks_until(
            "*/5 * * * *",
            BERLIN,
            utc(2026, 10, 24, 23, 55, 0),
            utc(2026, 10, 25, 1, 55, 0),
        );
        assert_eq!(fall.len(), 24);
        assert_eq!(fall[11], "2026-10-25T00:55:00Z");
        assert_eq!(fall[12], "2026-10-25T01:00:00Z");
        // From the end of the first pass, the second pass comes next.
        assert_eq!(
            ticks("*/5 * * * *", BERLIN, utc(2026, 10, 25, 0, 57, 0), 2),
            ["2026-10-25T01:00:00Z", "2026-10-25T01:05:00Z"]
        );
    }

    #[test]
    fn hourly_is_a_wildcard_job() {
        // `0 * * * *` fixes the minute but its hour starts with `*`: hourly in real time.
        // Spring: 01:00 CET, 03:00 CEST, 04:00 CEST.
        assert_eq!(
            ticks("0 * * * *", BERLIN, utc(2026, 3, 28, 23, 30, 0), 3),
            [
                "2026-03-29T00:00:00Z",
                "2026-03-29T01:00:00Z",
                "2026-03-29T02:00:00Z"
            ]
        );
        // Fall: 02:00 CEST, 02:00 CET, 03:00 CET.
        assert_eq!(
            ticks("@hourly", BERLIN, utc(2026, 10, 24, 23, 30, 0), 3),
            [
                "2026-10-25T00:00:00Z",
                "2026-10-25T01:00:00Z",
                "2026-10-25T02:00:00Z"
            ]
        );
        // Every minute of 02:xx is a wildcard job: none on the 29th, 120 on 25 October.
        assert_eq!(
            ticks("* 2 * * *", BERLIN, utc(2026, 3, 28, 12, 0, 0), 1),
            ["2026-03-30T00:00:00Z"]
        );
        let repeated = ticks_until(
            "* 2 * * *",
            BERLIN,
            utc(2026, 10, 24, 12, 0, 0),
            utc(2026, 10, 25, 12, 0, 0),
        );
        assert_eq!(repeated.len(), 120);
    }

    #[test]
    fn seconds_jobs_follow_the_same_rule() {
        // Fixed-time with seconds: 02:30:10 is skipped, so the jump; in the fall, first pass only.
        assert_eq!(
            ticks("10 30 2 * * *", BERLIN, utc(2026, 3, 28, 12, 0, 0), 1),
            ["2026-03-29T01:00:00Z"]
        );
        assert_eq!(
            ticks("10 30 2 * * *", BERLIN, utc(2026, 10, 24, 12, 0, 0), 2),
            ["2026-10-25T00:30:10Z", "2026-10-26T01:30:10Z"]
        );
        // Seconds starting with `*` make a wildcard job: skipped in spring, twice in the fall.
        assert_eq!(
            ticks("*/20 30 2 * * *", BERLIN, utc(2026, 3, 28, 12, 0, 0), 1),
            ["2026-03-30T00:30:00Z"]
        );
        assert_eq!(
            ticks("*/20 30 2 * * *", BERLIN, utc(2026, 10, 24, 12, 0, 0), 7),
            [
                "2026-10-25T00:30:00Z",
                "2026-10-25T00:30:20Z",
                "2026-10-25T00:30:40Z",
                "2026-10-25T01:30:00Z",
                "2026-10-25T01:30:20Z",
                "2026-10-25T01:30:40Z",
                "2026-10-26T01:30:00Z"
            ]
        );
        // Every 30 minutes at second 0 (a wildcard minute) keeps a 30-minute cadence.
        let fall = ticks_until(
            "0 */30 * * * *",
            BERLIN,
            utc(2026, 10, 24, 23, 45, 0),
            utc(2026, 10, 25, 2, 0, 0),
        );
        assert_eq!(
            fall,
            [
                "2026-10-25T00:00:00Z",
                "2026-10-25T00:30:00Z",
                "2026-10-25T01:00:00Z",
                "2026-10-25T01:30:00Z",
                "2026-10-25T02:00:00Z"
            ]
        );
    }
}

mod new_york {
    use super::*;

    #[test]
    fn fixed_time_jobs() {
        // Spring: 02:30 EST = 07:30 UTC; no 02:30 on the 8th, so 03:00 EDT = 07:00 UTC;
        // 02:30 EDT = 06:30 UTC.
        assert_eq!(
            ticks("30 2 * * *", NEW_YORK, utc(2026, 3, 7, 0, 0, 0), 3),
            [
                "2026-03-07T07:30:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-09T06:30:00Z"
            ]
        );
        // Fall: 01:30 EDT = 05:30 UTC once; then 01:30 EST = 06:30 UTC on the 2nd.
        assert_eq!(
            ticks("30 1 * * *", NEW_YORK, utc(2026, 10, 31, 12, 0, 0), 2),
            ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
        );
        // 02:30 is not repeated (02:00 EDT became 01:00 EST): 02:30 EST = 07:30 UTC.
        assert_eq!(
            ticks("30 2 * * *", NEW_YORK, utc(2026, 10, 31, 12, 0, 0), 1),
            ["2026-11-01T07:30:00Z"]
        );
    }

    #[test]
    fn wildcard_jobs() {
        assert_eq!(
            ticks("*/5 * * * *", NEW_YORK, utc(2026, 3, 8, 6, 50, 0), 3),
            [
                "2026-03-08T06:55:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-08T07:05:00Z"
            ]
        );
        let fall = ticks_until(
            "*/5 * * * *",
            NEW_YORK,
            utc(2026, 11, 1, 4, 55, 0),
            utc(2026, 11, 1, 6, 55, 0),
        );
        assert_eq!(fall.len(), 24);
        // Hourly: 01:00 EST, 03:00 EDT in spring; 01:00 EDT, 01:00 EST, 02:00 EST in the fall.
        assert_eq!(
            ticks("0 * * * *", NEW_YORK, utc(2026, 3, 8, 5, 30, 0), 2),
            ["2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z"]
        );
        assert_eq!(
            ticks("0 * * * *", NEW_YORK, utc(2026, 11, 1, 4, 30, 0), 3),
            [
                "2026-11-01T05:00:00Z",
                "2026-11-01T06:00:00Z",
                "2026-11-01T07:00:00Z"
            ]
        );
    }
}

mod lord_howe {
    use super::*;

    #[test]
    fn half_hour_fall_back() {
        // 01:30–02:00 repeats: first at +11 (14:30–15:00 UTC), again at +10:30 (15:00–15:30).
        // A fixed 01:45 runs in the first pass only: 14:45 UTC; the next day at +10:30.
        assert_eq!(
            ticks("45 1 * * *", LORD_HOWE, utc(2026, 4, 4, 12, 0, 0), 2),
            ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]
        );
        // Every 15 minutes keeps its cadence: 01:30 and 01:45 twice, then 02:00.
        assert_eq!(
            ticks("*/15 * * * *", LORD_HOWE, utc(2026, 4, 4, 14, 20, 0), 5),
            [
                "2026-04-04T14:30:00Z",
                "2026-04-04T14:45:00Z",
                "2026-04-04T15:00:00Z",
                "2026-04-04T15:15:00Z",
                "2026-04-04T15:30:00Z"
            ]
        );
        // Hourly on the wall clock: 01:00 (+11) and 02:00 (+10:30); no full hour repeats.
        assert_eq!(
            ticks("0 * * * *", LORD_HOWE, utc(2026, 4, 4, 13, 30, 0), 2),
            ["2026-04-04T14:00:00Z", "2026-04-04T15:30:00Z"]
        );
    }

    #[test]
    fn half_hour_spring_forward() {
        // 02:00–02:30 is skipped at 15:30 UTC. A fixed 02:15 runs at the jump (02:30 at +11);
        // the next day 02:15 at +11 is 15:15 UTC.
        assert_eq!(
            ticks("15 2 * * *", LORD_HOWE, utc(2026, 10, 3, 12, 0, 0), 2),
            ["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"]
        );
        // Every 15 minutes: 01:45 (+10:30), then 02:30 (+11), 15 minutes later in real time.
        assert_eq!(
            ticks("*/15 * * * *", LORD_HOWE, utc(2026, 10, 3, 15, 0, 0), 3),
            [
                "2026-10-03T15:15:00Z",
                "2026-10-03T15:30:00Z",
                "2026-10-03T15:45:00Z"
            ]
        );
        // Hourly: 01:00 (+10:30), 02:00 skipped, 03:00 (+11).
        assert_eq!(
            ticks("0 * * * *", LORD_HOWE, utc(2026, 10, 3, 14, 0, 0), 2),
            ["2026-10-03T14:30:00Z", "2026-10-03T16:00:00Z"]
        );
    }
}

mod at_midnight {
    use super::*;

    #[test]
    fn havana_skips_midnight() {
        // 2026-03-08 00:00 CST → 01:00 CDT at 05:00 UTC: @daily runs at the jump, @hourly does
        // not tick for the skipped 00:00.
        assert_eq!(
            ticks("@daily", "America/Havana", utc(2026, 3, 7, 12, 0, 0), 2),
            ["2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"]
        );
        assert_eq!(
            ticks("@hourly", "America/Havana", utc(2026, 3, 8, 3, 30, 0), 2),
            ["2026-03-08T04:00:00Z", "2026-03-08T05:00:00Z"]
        );
    }

    #[test]
    fn beirut_repeats_the_last_hour_of_a_day() {
        // 2026-10-25 00:00 (+3) → 2026-10-24 23:00 (+2) at 21:00 UTC: 23:00–24:00 on the 24th
        // repeats and midnight comes once, at +2.
        assert_eq!(
            ticks("30 23 * * *", "Asia/Beirut", utc(2026, 10, 24, 12, 0, 0), 2),
            ["2026-10-24T20:30:00Z", "2026-10-25T21:30:00Z"]
        );
        assert_eq!(
            ticks("@daily", "Asia/Beirut", utc(2026, 10, 24, 12, 0, 0), 1),
            ["2026-10-24T22:00:00Z"]
        );
        assert_eq!(
            ticks(
                "*/30 * * * *",
                "Asia/Beirut",
                utc(2026, 10, 24, 20, 0, 0),
                4
            ),
            [
                "2026-10-24T20:30:00Z",
                "2026-10-24T21:00:00Z",
                "2026-10-24T21:30:00Z",
                "2026-10-24T22:00:00Z"
            ]
        );
    }
}

mod corrections {
    use super::*;

    #[test]
    fn a_skipped_day_is_lost() {
        // Pacific/Apia skipped 2011-12-30 (−10 → +14 at 10:00 UTC): more than 3 hours is a
        // correction, so the fixed 12:00 of the 30th does not run at the jump.
        // 12:00 on the 29th at −10 is 22:00 UTC; on the 31st at +14 it is 22:00 UTC on the 30th.
        assert_eq!(
            ticks("0 12 * * *", "Pacific/Apia", utc(2011, 12, 29, 12, 0, 0), 2),
            ["2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z"]
        );
    }

    #[test]
    fn a_repeated_day_runs_twice() {
        // Pacific/Kwajalein went from +11 to −12 at 1969-09-30 13:00 UTC, repeating 23 hours
        // of wall-clock time: 12:00 on the 30th is 01:00 UTC (+11) and 00:00 UTC the next day
        // (−12); a correction that large repeats fixed-time jobs too.
        assert_eq!(
            ticks(
                "0 12 * * *",
                "Pacific/Kwajalein",
                utc(1969, 9, 29, 12, 0, 0),
                3
            ),
            [
                "1969-09-30T01:00:00Z",
                "1969-10-01T00:00:00Z",
                "1969-10-02T00:00:00Z"
            ]
        );
    }
}
