//! From the raw attribute arguments and the function to a checked [`JobSpec`]. Every problem is
//! recorded, not just the first, so one build shows them all.

mod duration;
mod signature;

use std::collections::HashMap;

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Signature};

use crate::errors::Errors;
use crate::parse::RawArgs;
use leader_jobs_cron::{Schedule, lock_name};
pub(crate) use signature::JobSignature;

/// Every key the attribute accepts, with an example for error messages.
const KEYS: [(&str, &str); 13] = [
    ("cron", "cron = \"0 9 * * *\""),
    ("lock", "lock = \"email\""),
    ("tz", "tz = \"Europe/Berlin\""),
    ("name", "name = \"daily-digest\""),
    ("overlap", "overlap = \"queue\""),
    ("misfire", "misfire = \"fire_all\""),
    ("catch_up", "catch_up = \"6h\""),
    ("timeout", "timeout = \"30s\""),
    ("retries", "retries = \"3\""),
    ("retry_backoff", "retry_backoff = \"10s\""),
    ("delivery", "delivery = \"at_least_once\""),
    ("rerun_window", "rerun_window = \"1h\""),
    ("crate", "crate = \"my_app::leader_jobs\""),
];

/// Most retries a job may ask for; the runtime's `registry::MAX_RETRIES`, which checks jobs built
/// in code against the same number.
const MAX_RETRIES: u32 = 100;

/// The time zone a schedule is read in when the attribute names none.
const DEFAULT_TIMEZONE: &str = "UTC";

/// `overlap = "..."`: what happens when a tick arrives while the previous run is still going.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overlap {
    Skip,
    Queue,
    Allow,
}

/// `misfire = "..."`: what happens to ticks missed while no node led the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Misfire {
    FireOnce,
    Skip,
    FireAll,
}

/// `delivery = "..."`: what happens to a tick whose leader never reported how its run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    AtMostOnce,
    AtLeastOnce,
}

/// A job as the attribute declares it, every value checked.
pub(crate) struct JobSpec {
    /// The `name` given; `None` means module path and function name.
    pub(crate) name: Option<LitStr>,
    pub(crate) lock: LitStr,
    pub(crate) cron: LitStr,
    pub(crate) timezone: LitStr,
    pub(crate) overlap: Overlap,
    pub(crate) misfire: Misfire,
    /// Given only with `misfire = "fire_all"`; `None` keeps the runtime's default.
    pub(crate) catch_up_millis: Option<u64>,
    pub(crate) timeout_millis: Option<u64>,
    pub(crate) retries: Option<u32>,
    pub(crate) retry_backoff_millis: Option<u64>,
    pub(crate) delivery: Delivery,
    /// Given only with `delivery = "at_least_once"`.
    pub(crate) rerun_window_millis: Option<u64>,
    /// Where `leader-jobs` is reachable, when not at `::leader_jobs` (a renamed dependency or a
    /// re-export).
    pub(crate) krate: Option<syn::Path>,
    pub(crate) signature: JobSignature,
}

impl JobSpec {
    /// `<crate>::__private`. With `respan`, every token is spanned there (the expansion places
    /// some paths where rustc reports an error on them); without, a given path keeps the span of
    /// its `crate = "..."` literal, so a path that does not resolve is reported there.
    pub(crate) fn private_path(&self, respan: Option<Span>) -> proc_macro2::TokenStream {
        let krate = match &self.krate {
            Some(path) => quote::ToTokens::to_token_stream(path),
            None => quote::quote!(::leader_jobs),
        };
        let path = quote::quote!(#krate::__private);
        match respan {
            None => path,
            Some(span) => path
                .into_iter()
                .map(|mut token| {
                    token.set_span(span);
                    token
                })
                .collect(),
        }
    }
}

/// A key that was given, with the string it was given.
struct Given {
    key: Ident,
    value: LitStr,
}

/// Checks the attribute arguments (`args`, or why they did not parse) and the function's
/// `signature`. Errors come in source order: arguments first.
pub(crate) fn job_spec(args: syn::Result<RawArgs>, signature: &Signature) -> syn::Result<JobSpec> {
    let mut errors = Errors::default();
    let (mut given, suggested) = match args {
        Ok(args) => given_keys(args, &mut errors),
        Err(mut error) => {
            // Which keys are missing is unknowable when the arguments did not parse.
            signature::check(signature, &mut errors);
            if let Err(signature_errors) = errors.finish(()) {
                error.combine(signature_errors);
            }
            return Err(error);
        }
    };

    let cron = given.remove("cron").map(|cron| cron.value);
    // A misspelt `cron` was already reported with the suggestion to fix it.
    if cron.is_none() && !suggested.contains(&"cron") {
        errors.push(syn::Error::new(
            Span::call_site(),
            "missing `cron`: every job needs a schedule, like \
             `#[singleton_job(cron = \"0 9 * * *\")]`",
        ));
    }
    let timezone = given.remove("tz").map_or_else(
        || LitStr::new(DEFAULT_TIMEZONE, Span::call_site()),
        |tz| tz.value,
    );
    check_schedule(cron.as_ref(), &timezone, &mut errors);
    let cron = cron.unwrap_or_else(|| LitStr::new("", Span::call_site()));
    let lock = check_lock(given.remove("lock"), &signature.ident, &mut errors);
    let name = given.remove("name").map(|name| {
        if name.value.value().trim().is_empty() {
            errors.at(&name.value, "`name` must not be empty");
        }
        name.value
    });
    let overlap = given.remove("overlap").map_or(Overlap::Skip, |given| {
        policy(
            &given,
            &[
                ("skip", Overlap::Skip),
                ("queue", Overlap::Queue),
                ("allow", Overlap::Allow),
            ],
            &mut errors,
        )
    });
    let misfire = given.remove("misfire").map_or(Misfire::FireOnce, |given| {
        policy(
            &given,
            &[
                ("fire_once", Misfire::FireOnce),
                ("skip", Misfire::Skip),
                ("fire_all", Misfire::FireAll),
            ],
            &mut errors,
        )
    });
    let catch_up_millis = match given.remove("catch_up") {
        None => None,
        Some(catch_up) => {
            if misfire != Misfire::FireAll {
                errors.at(
                    &catch_up.key,
                    "`catch_up` only applies with `misfire = \"fire_all\"`; \
                     set that policy or remove `catch_up`",
                );
            }
            duration_millis(&catch_up, &mut errors)
        }
    };
    let timeout_millis = given
        .remove("timeout")
        .and_then(|timeout| duration_millis(&timeout, &mut errors));
    let retries_given = given.contains_key("retries");
    let retries = given
        .remove("retries")
        .and_then(|retries| retry_count(&retries, &mut errors));
    let retry_backoff_millis = given.remove("retry_backoff").and_then(|backoff| {
        if !retries_given {
            errors.at(
                &backoff.key,
                "`retry_backoff` only applies with `retries`; set `retries = \"3\"` or remove \
                 `retry_backoff`",
            );
        }
        duration_millis(&backoff, &mut errors)
    });
    let (delivery, rerun_window_millis) = delivery(&mut given, overlap, &mut errors);

    let krate = given
        .remove("crate")
        .and_then(|given| match given.value.parse::<syn::Path>() {
            Ok(path) => Some(path),
            Err(_) => {
                errors.at(
                    &given.value,
                    format!(
                        "`crate` takes the path leader-jobs is reachable at, like \
                         `crate = \"my_app::leader_jobs\"`, not {:?}",
                        given.value.value()
                    ),
                );
                None
            }
        });
    let signature = signature::check(signature, &mut errors);

    errors.finish(JobSpec {
        name,
        lock,
        cron,
        timezone,
        overlap,
        misfire,
        catch_up_millis,
        timeout_millis,
        retries,
        retry_backoff_millis,
        delivery,
        rerun_window_millis,
        krate,
        signature,
    })
}

/// `delivery` and `rerun_window`, checked against each other and the overlap policy.
fn delivery(
    given: &mut HashMap<&'static str, Given>,
    overlap: Overlap,
    errors: &mut Errors,
) -> (Delivery, Option<u64>) {
    let delivery = given
        .remove("delivery")
        .map_or(Delivery::AtMostOnce, |given| {
            let delivery = policy(
                &given,
                &[
                    ("at_most_once", Delivery::AtMostOnce),
                    ("at_least_once", Delivery::AtLeastOnce),
                ],
                errors,
            );
            if delivery == Delivery::AtLeastOnce && overlap == Overlap::Allow {
                errors.at(
                &given.value,
                "`delivery = \"at_least_once\"` needs `overlap = \"skip\"` or `\"queue\"`: with \
                 `allow`, runs of older ticks may be going when the leader dies, and only a \
                 job's latest tick can be run again",
            );
            }
            delivery
        });
    let window = given.remove("rerun_window").and_then(|window| {
        if delivery != Delivery::AtLeastOnce {
            errors.at(
                &window.key,
                "`rerun_window` only applies with `delivery = \"at_least_once\"`; set that or \
                 remove `rerun_window`",
            );
        }
        duration_millis(&window, errors)
    });
    (delivery, window)
}

/// Sorts the arguments by key, recording unknown keys, repeated keys and non-string values.
/// Also returns the keys suggested for misspelt ones.
fn given_keys(
    args: RawArgs,
    errors: &mut Errors,
) -> (HashMap<&'static str, Given>, Vec<&'static str>) {
    let mut given = HashMap::new();
    let mut suggested = Vec::new();
    for arg in args.0 {
        let key_name = arg.key.unraw().to_string();
        let Some(&(key, example)) = KEYS.iter().find(|(key, _)| *key == key_name) else {
            let valid: Vec<&str> = KEYS.iter().map(|(key, _)| *key).collect();
            let hint = match suggestion(&key_name) {
                Some(key) => {
                    suggested.push(key);
                    format!(" (did you mean `{key}`?)")
                }
                None => String::new(),
            };
            errors.at(
                &arg.key,
                format!(
                    "unknown key `{key_name}`{hint}; valid keys are: {}",
                    valid.join(", ")
                ),
            );
            continue;
        };
        if given.contains_key(key) {
            errors.at(&arg.key, format!("`{key}` is given twice; keep one"));
            continue;
        }
        match arg.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(value),
                ..
            }) => {
                given.insert(
                    key,
                    Given {
                        key: arg.key,
                        value,
                    },
                );
            }
            other => errors.at(
                other,
                format!("`{key}` takes a string literal, like `{example}`"),
            ),
        }
    }
    (given, suggested)
}

/// The valid key a misspelt one most likely meant: a few edits away (one per three characters,
/// as rustc's own suggestions), or a common synonym.
fn suggestion(unknown: &str) -> Option<&'static str> {
    const SYNONYMS: [(&str, &str); 4] = [
        ("timezone", "tz"),
        ("time_zone", "tz"),
        ("schedule", "cron"),
        ("catch_up_window", "catch_up"),
    ];
    if let Some((_, key)) = SYNONYMS.iter().find(|(synonym, _)| *synonym == unknown) {
        return Some(key);
    }
    let most_edits = (unknown.chars().count() / 3).max(1);
    KEYS.iter()
        .map(|(key, _)| (*key, edit_distance(unknown, key)))
        .filter(|(_, distance)| *distance <= most_edits)
        .min_by_key(|(_, distance)| *distance)
        .map(|(key, _)| key)
}

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Checks the expression and the zone with the runtime's own schedule engine, each error on its
/// literal.
fn check_schedule(cron: Option<&LitStr>, timezone: &LitStr, errors: &mut Errors) {
    let parsed = cron.map(|cron| {
        Schedule::parse(&cron.value()).inspect_err(|error| {
            errors.at(cron, format!("invalid cron expression: {error}"));
        })
    });
    // The zone is checked even when the expression is missing or wrong, so that one build shows
    // both problems; any valid schedule carries it.
    let carrier = match parsed {
        Some(Ok(schedule)) => Ok(schedule),
        None | Some(Err(_)) => Schedule::parse("@daily"),
    };
    if let Ok(schedule) = carrier {
        if let Err(error) = schedule.in_timezone(&timezone.value()) {
            errors.at(timezone, error);
        }
    }
}

/// The lock given, or the function's name; either must be a valid topic-name fragment.
fn check_lock(given: Option<Given>, function: &Ident, errors: &mut Errors) -> LitStr {
    match given {
        Some(Given { value, .. }) => {
            if let Err(problem) = lock_name::check(&value.value()) {
                errors.at(
                    &value,
                    format!(
                        "invalid lock name {:?}: {problem}; {}",
                        value.value(),
                        lock_name::RULE
                    ),
                );
            }
            value
        }
        None => {
            let name = function.unraw().to_string();
            if let Err(problem) = lock_name::check(&name) {
                errors.at(
                    function,
                    format!(
                        "the lock defaults to the function name `{name}`, which is not a valid \
                         lock name: {problem}; give one with `lock = \"...\"`; {}",
                        lock_name::RULE
                    ),
                );
            }
            LitStr::new(&name, function.span())
        }
    }
}

/// The policy `given` names among `choices`; an unknown one is recorded and the first is used.
fn policy<P: Copy>(given: &Given, choices: &[(&str, P)], errors: &mut Errors) -> P {
    let text = given.value.value();
    if let Some((_, policy)) = choices.iter().find(|(name, _)| *name == text) {
        return *policy;
    }
    let valid: Vec<String> = choices
        .iter()
        .map(|(name, _)| format!("{name:?}"))
        .collect();
    errors.at(
        &given.value,
        format!(
            "invalid {} policy {text:?}; valid ones are: {}",
            given.key,
            valid.join(", ")
        ),
    );
    choices[0].1
}

/// The number of retries `given` spells; `None` after recording why it is invalid.
fn retry_count(given: &Given, errors: &mut Errors) -> Option<u32> {
    let text = given.value.value();
    match text.parse::<u32>() {
        Ok(count) if count <= MAX_RETRIES => Some(count),
        Ok(_) => {
            errors.at(
                &given.value,
                format!(
                    "`retries` = {text:?} is more than {MAX_RETRIES}; a job that needs more fails \
                     for a reason retries will not fix"
                ),
            );
            None
        }
        Err(_) => {
            errors.at(
                &given.value,
                format!(
                    "invalid `retries` {text:?}: expected how many times a failed tick runs \
                     again, a whole number from 0 to {MAX_RETRIES}, like \"3\""
                ),
            );
            None
        }
    }
}

/// The duration `given` spells, in milliseconds; `None` after recording why it is invalid.
fn duration_millis(given: &Given, errors: &mut Errors) -> Option<u64> {
    let text = given.value.value();
    let key = &given.key;
    match duration::parse_millis(&text) {
        Ok(millis) => Some(millis),
        Err(error) => {
            let message = match error {
                duration::DurationError::Malformed => {
                    format!(
                        "invalid duration {text:?} for `{key}`: expected {}",
                        duration::FORMAT
                    )
                }
                duration::DurationError::Zero => format!("`{key}` must be longer than zero"),
                duration::DurationError::TooLong => {
                    format!("`{key}` = {text:?} is too long to represent")
                }
            };
            errors.at(&given.value, message);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::suggestion;

    #[test]
    fn suggests_near_misses_and_synonyms_only() {
        assert_eq!(suggestion("crom"), Some("cron"));
        assert_eq!(suggestion("tiemout"), Some("timeout"));
        assert_eq!(suggestion("ovrlap"), Some("overlap"));
        assert_eq!(suggestion("timezone"), Some("tz"));
        assert_eq!(suggestion("catchup"), Some("catch_up"));
        assert_eq!(suggestion("a"), None);
        assert_eq!(suggestion("retires"), Some("retries"));
        assert_eq!(suggestion("backoff"), None);
    }
}
