//! The ledger's rules, over a lock's records in ledger order. Every backend that keeps its ledger as
//! an ordered log of [`LedgerRecord`]s decides claims and reads history with these two functions,
//! so all backends fence stale leaders identically.
//!
//! The rule: **the first valid claim for (job, tick) in ledger order wins**, where a claim is valid
//! only if no higher term began earlier in the ledger.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Claim, ClaimVerdict, LedgerHistory, RunOutcome};

/// One record of a lock's ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerRecord {
    /// A node began a term: it leads from here on, and claims of lower terms after this record are
    /// invalid.
    TermStart {
        /// The new term.
        term: u64,
        /// The node that began it.
        node: String,
    },
    /// A claim of one tick, appended before the run.
    Claim(Claim),
    /// The outcome of a run, appended after it.
    Outcome {
        /// The claim the run was for.
        claim: Claim,
        /// How the run ended.
        outcome: RunOutcome,
    },
}

/// The verdict on the claim at `records[index]`, or `None` if that record is not a claim.
pub fn verdict(records: &[LedgerRecord], index: usize) -> Option<ClaimVerdict> {
    let Some(LedgerRecord::Claim(mine)) = records.get(index) else {
        return None;
    };
    let mut highest_term = 0;
    let mut winner = None;
    for record in &records[..index] {
        match record {
            LedgerRecord::TermStart { term, .. } => highest_term = highest_term.max(*term),
            LedgerRecord::Claim(other)
                if winner.is_none()
                    && other.job == mine.job
                    && other.tick == mine.tick
                    && other.term >= highest_term =>
            {
                winner = Some(other.clone());
            }
            LedgerRecord::Claim(_) | LedgerRecord::Outcome { .. } => {}
        }
    }
    Some(if winner.is_some() || mine.term < highest_term {
        ClaimVerdict::Lost {
            winner,
            highest_term,
        }
    } else {
        ClaimVerdict::Won
    })
}

/// What a new leader learns from `records`: the highest term, the latest *winning* claim per job
/// (a fenced claim never ran, so it does not count as claimed), and winning claims without an
/// outcome.
pub fn history(records: &[LedgerRecord]) -> LedgerHistory {
    let mut highest_term = 0;
    // Winning claims in ledger order, each with whether its outcome was recorded.
    let mut winners: Vec<(&Claim, bool)> = Vec::new();
    let mut winner_at: HashMap<(&str, DateTime<Utc>), usize> = HashMap::new();
    for record in records {
        match record {
            LedgerRecord::TermStart { term, .. } => highest_term = highest_term.max(*term),
            LedgerRecord::Claim(claim) if claim.term >= highest_term => {
                winner_at
                    .entry((claim.job.as_str(), claim.tick))
                    .or_insert_with(|| {
                        winners.push((claim, false));
                        winners.len() - 1
                    });
            }
            LedgerRecord::Outcome { claim, .. } => {
                let at = winner_at.get(&(claim.job.as_str(), claim.tick));
                if let Some((winner, finished)) = at.and_then(|&at| winners.get_mut(at)) {
                    *finished |= *winner == claim;
                }
            }
            LedgerRecord::Claim(_) => {}
        }
    }
    let mut last_claimed: HashMap<String, DateTime<Utc>> = HashMap::new();
    for (claim, _) in &winners {
        let latest = last_claimed.entry(claim.job.clone()).or_insert(claim.tick);
        *latest = (*latest).max(claim.tick);
    }
    let abandoned = winners
        .iter()
        .filter(|(_, finished)| !finished)
        .map(|(claim, _)| (*claim).clone())
        .collect();
    LedgerHistory {
        highest_term,
        last_claimed,
        abandoned,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn claim(job: &str, second: u32, term: u64, node: &str) -> Claim {
        Claim {
            job: job.to_owned(),
            tick: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second).unwrap(),
            term,
            node: node.to_owned(),
        }
    }

    fn start(term: u64, node: &str) -> LedgerRecord {
        LedgerRecord::TermStart {
            term,
            node: node.to_owned(),
        }
    }

    #[test]
    fn first_valid_claim_wins_and_later_ones_lose_to_it() {
        let records = vec![
            start(1, "a"),
            LedgerRecord::Claim(claim("j", 0, 1, "a")),
            LedgerRecord::Claim(claim("j", 0, 1, "a")),
        ];
        assert_eq!(verdict(&records, 1), Some(ClaimVerdict::Won));
        assert_eq!(
            verdict(&records, 2),
            Some(ClaimVerdict::Lost {
                winner: Some(claim("j", 0, 1, "a")),
                highest_term: 1
            })
        );
        assert_eq!(verdict(&records, 0), None);
    }

    #[test]
    fn a_claim_after_a_higher_term_began_is_fenced_even_when_first() {
        let records = vec![
            start(1, "a"),
            start(2, "b"),
            LedgerRecord::Claim(claim("j", 0, 1, "a")),
            LedgerRecord::Claim(claim("j", 0, 2, "b")),
        ];
        assert_eq!(
            verdict(&records, 2),
            Some(ClaimVerdict::Lost {
                winner: None,
                highest_term: 2
            })
        );
        // The fenced claim does not count, so the new leader's claim is the first valid one.
        assert_eq!(verdict(&records, 3), Some(ClaimVerdict::Won));
    }

    #[test]
    fn a_claim_made_before_the_higher_term_began_stays_the_winner() {
        let records = vec![
            start(1, "a"),
            LedgerRecord::Claim(claim("j", 0, 1, "a")),
            start(2, "b"),
            LedgerRecord::Claim(claim("j", 0, 2, "b")),
        ];
        assert_eq!(
            verdict(&records, 3),
            Some(ClaimVerdict::Lost {
                winner: Some(claim("j", 0, 1, "a")),
                highest_term: 2
            })
        );
    }

    #[test]
    fn history_counts_only_winning_claims_and_finds_abandoned_runs() {
        let finished = claim("j", 1, 1, "a");
        let records = vec![
            start(1, "a"),
            LedgerRecord::Claim(finished.clone()),
            LedgerRecord::Outcome {
                claim: finished,
                outcome: RunOutcome::Ok,
            },
            LedgerRecord::Claim(claim("j", 2, 1, "a")),
            start(2, "b"),
            LedgerRecord::Claim(claim("j", 3, 1, "a")),
            LedgerRecord::Claim(claim("k", 0, 2, "b")),
        ];
        let history = history(&records);
        assert_eq!(history.highest_term, 2);
        assert_eq!(
            history.last_claimed.get("j"),
            Some(&claim("j", 2, 1, "a").tick)
        );
        assert_eq!(
            history.last_claimed.get("k"),
            Some(&claim("k", 0, 2, "b").tick)
        );
        assert_eq!(
            history.abandoned,
            vec![claim("j", 2, 1, "a"), claim("k", 0, 2, "b")]
        );
    }
}
