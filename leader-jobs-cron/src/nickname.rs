//! The nicknames a schedule may be written as; their own module because both the parser
//! (`expr`) and the error that lists them (`error`) need them, and neither should import the
//! other.

/// The nicknames and the 5-field expressions they stand for, as Debian's cron defines them.
pub(super) const NICKNAMES: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];
