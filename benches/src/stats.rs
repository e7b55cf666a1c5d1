//! Percentiles of samples.

use std::time::Duration;

/// p50, p99 and max of some samples, nearest rank.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Summary {
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

/// Summarizes `values` (any unit); `None` for no samples.
pub(crate) fn summarize(values: &[f64]) -> Option<Summary> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |percent: usize| {
        let index = (sorted.len() * percent).div_ceil(100).max(1) - 1;
        sorted.get(index).copied()
    };
    Some(Summary {
        p50: rank(50)?,
        p99: rank(99)?,
        max: *sorted.last()?,
    })
}

/// Durations in seconds.
pub(crate) fn seconds(durations: &[Duration]) -> Vec<f64> {
    durations.iter().map(Duration::as_secs_f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(
            summarize(&values),
            Some(Summary {
                p50: 50.0,
                p99: 99.0,
                max: 100.0
            })
        );
        assert_eq!(summarize(&[3.0]).map(|s| s.p99), Some(3.0));
        assert_eq!(summarize(&[]), None);
    }
}
