//! What a screen answers: the hits and why each scored what it did.

use std::fmt;

use super::{Entry, Score};

/// A listed entry whose name scored at or above the threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<'l> {
    /// The listed entry, to show the reviewer.
    pub entry: &'l Entry,
    /// The entry's name that scored best (its primary name or an alias), as listed.
    pub matched_name: &'l str,
    /// That name's score.
    pub score: Score,
    /// Which words paired, and how.
    pub reason: MatchReason,
}

/// Why a name scored what it did: the word pairs behind the score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchReason {
    /// Words of the screened name, after normalization.
    pub screened_words: usize,
    /// Words of the listed name, after normalization.
    pub listed_words: usize,
    /// The paired words, best first.
    pub pairs: Vec<TokenPair>,
}

/// A word of the screened name paired with a word of the listed name (both normalized).
/// Either side may be two neighbouring words read as one (`santa cruz` and `santacruz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The screened name's word (or two neighbouring words, separated by a space).
    pub screened: String,
    /// The listed name's word (or two neighbouring words, separated by a space).
    pub listed: String,
    /// How they agree.
    pub kind: PairKind,
}

/// How two paired words agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairKind {
    /// Equal (once neighbouring words are joined, when one side is two words).
    Exact,
    /// Within the allowed edits ([`allowed_edits`](super::allowed_edits)).
    Typo { edits: u8 },
    /// One is a single letter that begins the other.
    Initial,
}

impl fmt::Display for MatchReason {
    /// `3 pairs between the screened 3 words and the listed 4: jose=jose, rodrigez~rodriguez
    /// (1 edit), m~manuel (initial)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} pairs between the screened {} words and the listed {}:",
            self.pairs.len(),
            self.screened_words,
            self.listed_words
        )?;
        for (i, pair) in self.pairs.iter().enumerate() {
            let separator = if i == 0 { " " } else { ", " };
            let (screened, listed) = (&pair.screened, &pair.listed);
            match pair.kind {
                PairKind::Exact => write!(f, "{separator}{screened}={listed}")?,
                PairKind::Typo { edits: 1 } => {
                    write!(f, "{separator}{screened}~{listed} (1 edit)")?;
                }
                PairKind::Typo { edits } => {
                    write!(f, "{separator}{screened}~{listed} ({edits} edits)")?;
                }
                PairKind::Initial => write!(f, "{separator}{screened}~{listed} (initial)")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_reads_as_the_pairs_it_holds() {
        let pair = |screened: &str, listed: &str, kind| TokenPair {
            screened: screened.to_owned(),
            listed: listed.to_owned(),
            kind,
        };
        let reason = MatchReason {
            screened_words: 3,
            listed_words: 4,
            pairs: vec![
                pair("jose", "jose", PairKind::Exact),
                pair("rodrigez", "rodriguez", PairKind::Typo { edits: 1 }),
                pair("santa cruz", "santacrus", PairKind::Typo { edits: 2 }),
                pair("m", "manuel", PairKind::Initial),
            ],
        };
        assert_eq!(
            reason.to_string(),
            "4 pairs between the screened 3 words and the listed 4: jose=jose, \
             rodrigez~rodriguez (1 edit), santa cruz~santacrus (2 edits), m~manuel (initial)"
        );
    }
}
