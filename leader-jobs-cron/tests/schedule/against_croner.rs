//! The calendar matcher against croner, an independent implementation, in UTC (no daylight
//! saving) on random expressions. The generator avoids the one place where croner's dialect
//! differs from Vixie's: a day field that starts with `*` without being exactly `*`.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use leader_jobs_cron::{Schedule, ScheduleError};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u32) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32;
        u32::try_from(value % u64::from(bound)).expect("below a u32 bound")
    }

    fn between(&mut self, low: u32, high: u32) -> u32 {
        low + self.below(high - low + 1)
    }
}

/// One field: `*`, or a list of one to three values, ranges and steps.
fn field(random: &mut Random, low: u32, high: u32, names: &[&str], day_field: bool) -> String {
    if random.below(4) == 0 {
        return "*".into();
    }
    let value = |random: &mut Random, at_least: u32| {
        let number = random.between(at_least, high);
        match names.get(usize::try_from(number - low).expect("small")) {
            Some(name) if random.below(3) == 0 => (*name).to_owned(),
            _ => number.to_string(),
        }
    };
    let count = random.between(1, 3);
    let elements: Vec<String> = (0..count)
        .map(|_| match random.below(if day_field { 5 } else { 6 }) {
            0 | 1 => value(random, low),
            2 => {
                let first = random.between(low, high);
                format!("{first}-{}", random.between(first, high))
            }
            3 => {
                let first = random.between(low, high);
                let last = random.between(first, high);
                format!("{first}-{last}/{}", random.between(1, 12))
            }
            4 if day_field && high == 31 && random.below(2) == 0 => "L".into(),
            4 => value(random, low),
            _ => format!("*/{}", random.between(1, high / 2 + 1)),
        })
        .collect();
    elements.join(",")
}

/// A random 5- or 6-field expression.
fn expression(random: &mut Random) -> String {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let mut fields = Vec::new();
    if random.below(4) == 0 {
        fields.push(field(random, 0, 59, &[], false));
    }
    fields.push(field(random, 0, 59, &[], false));
    fields.push(field(random, 0, 23, &[], false));
    fields.push(field(random, 1, 31, &[], true));
    fields.push(field(random, 1, 12, &MONTHS, false));
    fields.push(field(random, 0, 7, &WEEKDAYS, true));
    fields.join(" ")
}

#[test]
fn utc_ticks_agree_with_croner() {
    let mut random = Random(0x5EED_CAFE_F00D_BEEF);
    let (mut compared, mut never) = (0, 0);
    while compared < 1500 {
        let expression = expression(&mut random);
        let schedule = match Schedule::parse(&expression) {
            Ok(schedule) => schedule,
            Err(ScheduleError::NeverFires { .. }) => {
                never += 1;
                continue;
            }
            Err(error) => panic!("`{expression}` should parse: {error}"),
        };
        let croner = croner::Cron::from_str(&expression)
            .unwrap_or_else(|error| panic!("croner rejects `{expression}`: {error:?}"));
        // A start between 1990 and 2060, at any second.
        let start = DateTime::<Utc>::from_timestamp(
            631_152_000 + i64::from(random.below(2_208_988_800)),
            0,
        )
        .expect("in range");
        let ours: Vec<_> = schedule.upcoming(start).take(6).collect();
        let theirs: Vec<_> = croner.iter_after(start).take(6).collect();
        assert_eq!(ours, theirs, "`{expression}` after {start}");
        compared += 1;
    }
    // The generator makes a few impossible day/month combinations, never most of them.
    assert!(never < compared / 10, "{never} never-firing expressions");
}
