//! Durations written as text in the attribute (`"30s"`, `"1m30s"`), turned into milliseconds at
//! compile time so the descriptor holds a plain `Duration`.

/// Units from largest to smallest; a duration names each at most once, in this order.
const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

/// The accepted form, for error messages.
pub(crate) const FORMAT: &str =
    "whole numbers with units h, m, s or ms, largest first, like \"30s\", \"1m30s\" or \"2h\"";

/// Why a duration text was rejected.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DurationError {
    /// Not of the accepted form.
    Malformed,
    /// Adds up to zero.
    Zero,
    /// Does not fit in `u64` milliseconds.
    TooLong,
}

/// Parses a duration such as `"1m30s"` into milliseconds; zero is rejected.
pub(crate) fn parse_millis(text: &str) -> Result<u64, DurationError> {
    let mut rest = text;
    let mut total: u64 = 0;
    // Index into UNITS that the next component must not precede.
    let mut next_unit = 0;
    if rest.is_empty() {
        return Err(DurationError::Malformed);
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (number, after_number) = rest.split_at(digits);
        let letters = after_number.len()
            - after_number
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (unit, after_unit) = after_number.split_at(letters);
        if number.is_empty() {
            return Err(DurationError::Malformed);
        }
        let position = UNITS[next_unit..]
            .iter()
            .position(|(name, _)| *name == unit)
            .ok_or(DurationError::Malformed)?;
        let unit_millis = UNITS[next_unit + position].1;
        next_unit += position + 1;
        let value: u64 = number.parse().map_err(|_| DurationError::TooLong)?;
        total = value
            .checked_mul(unit_millis)
            .and_then(|millis| total.checked_add(millis))
            .ok_or(DurationError::TooLong)?;
        rest = after_unit;
    }
    if total == 0 {
        return Err(DurationError::Zero);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::{DurationError, parse_millis};

    #[test]
    fn single_units() {
        assert_eq!(parse_millis("250ms"), Ok(250));
        assert_eq!(parse_millis("30s"), Ok(30_000));
        assert_eq!(parse_millis("5m"), Ok(300_000));
        assert_eq!(parse_millis("1h"), Ok(3_600_000));
    }

    #[test]
    fn compound_largest_first() {
        assert_eq!(parse_millis("1m30s"), Ok(90_000));
        assert_eq!(parse_millis("1h2m3s4ms"), Ok(3_723_004));
        assert_eq!(parse_millis("90s"), Ok(90_000));
    }

    #[test]
    fn rejects_bad_forms() {
        for text in [
            "", "30", "s", "1x", "30s1m", "1s1s", "1 s", "-1s", "1.5s", "1mss",
        ] {
            assert_eq!(
                parse_millis(text),
                Err(DurationError::Malformed),
                "{text:?}"
            );
        }
    }

    #[test]
    fn rejects_zero_and_overflow() {
        assert_eq!(parse_millis("0s"), Err(DurationError::Zero));
        assert_eq!(parse_millis("0h0m"), Err(DurationError::Zero));
        assert_eq!(
            parse_millis("99999999999999999999s"),
            Err(DurationError::TooLong)
        );
        assert_eq!(
            parse_millis("18446744073709551615h"),
            Err(DurationError::TooLong)
        );
    }
}
