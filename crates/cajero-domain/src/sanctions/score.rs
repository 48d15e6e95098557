//! Scores in basis points and the word-to-word similarity behind them. Integer arithmetic
//! throughout, so a score is the same on every machine and compares exactly with a stored
//! threshold.

use std::fmt;

/// Basis points in a perfect score.
const BASIS_POINTS_MAX: u16 = 10_000;

/// What a lone initial paired with a word it begins is worth (`M` and `Manuel`): half a
/// word, since it agrees on one letter only.
pub(crate) const INITIAL_BASIS_POINTS: u16 = BASIS_POINTS_MAX / 2;

/// Words longer than this are compared exactly: no real name word is this long, and the
/// deletion neighbourhood of a long word (see `index`) grows with the square of its length.
pub(crate) const FUZZY_WORD_CHARS_MAX: usize = 32;

/// A similarity between two names, from 0 to 1, held in basis points (0–10,000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(u16);

/// A score outside 0–10,000 basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a score is 0 to {max} basis points, got {got}")]
pub struct ScoreError {
    /// The largest score.
    pub max: u16,
    /// What was given.
    pub got: u16,
}

impl Score {
    /// A perfect match.
    pub const MAX: Score = Score(BASIS_POINTS_MAX);

    /// A score of `basis_points` (0–10,000).
    pub fn from_basis_points(basis_points: u16) -> Result<Score, ScoreError> {
        if basis_points > BASIS_POINTS_MAX {
            return Err(ScoreError {
                max: BASIS_POINTS_MAX,
                got: basis_points,
            });
        }
        Ok(Score(basis_points))
    }

    /// For constants: `basis_points` must be at most 10,000 (checked at compile time when
    /// used in a `const`).
    pub(crate) const fn from_basis_points_const(basis_points: u16) -> Score {
        assert!(
            basis_points <= BASIS_POINTS_MAX,
            "a score is 0 to 10,000 bp"
        );
        Score(basis_points)
    }

    /// The score in basis points, 0–10,000: what to store and compare.
    pub const fn basis_points(self) -> u16 {
        self.0
    }

    /// The score as a fraction 0–1, for display only.
    pub fn as_fraction(self) -> f64 {
        f64::from(self.0) / f64::from(BASIS_POINTS_MAX)
    }
}

impl fmt::Display for Score {
    /// `0.8750`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:04}",
            self.0 / BASIS_POINTS_MAX,
            self.0 % BASIS_POINTS_MAX
        )
    }
}

impl TryFrom<u16> for Score {
    type Error = ScoreError;

    fn try_from(basis_points: u16) -> Result<Self, Self::Error> {
        Score::from_basis_points(basis_points)
    }
}

impl From<Score> for u16 {
    fn from(score: Score) -> u16 {
        score.0
    }
}

/// How many edits two words may differ by and still pair, given the shorter word's length in
/// characters: none up to 3 (`Li`/`Lu`, `Ana`/`Eva` are different names), 1 from 4 to 6
/// (`Pérez`/`Peres`, but not `Martín`/`Martínez`), 2 from 7 (`Gilberto`/`Jilverto`).
pub const fn allowed_edits(shorter_chars: usize) -> usize {
    match shorter_chars {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    }
}

/// The number of edits between two words, if they are close enough to pair; words outside
/// ASCII (after normalization, other scripts) and very long words pair only when equal.
pub(crate) fn edits_if_close(a: &str, b: &str) -> Option<usize> {
    if a == b {
        return Some(0);
    }
    if !fuzzy_comparable(a) || !fuzzy_comparable(b) {
        return None;
    }
    let allowed = allowed_edits(a.len().min(b.len()));
    if a.len().abs_diff(b.len()) > allowed {
        return None;
    }
    let edits = strsim::osa_distance(a, b);
    (edits <= allowed).then_some(edits)
}

/// Whether `word` may pair with words that are not equal to it.
pub(crate) fn fuzzy_comparable(word: &str) -> bool {
    word.is_ascii() && word.len() <= FUZZY_WORD_CHARS_MAX
}

/// What a pair of words with `edits` between them is worth: `1 − edits / longer length`.
pub(crate) fn pair_basis_points(edits: usize, a_chars: usize, b_chars: usize) -> u16 {
    let longer = a_chars.max(b_chars).max(1);
    let lost = edits.saturating_mul(usize::from(BASIS_POINTS_MAX)) / longer;
    BASIS_POINTS_MAX.saturating_sub(u16::try_from(lost).unwrap_or(BASIS_POINTS_MAX))
}

/// The name's score: the mean of the share of the screened name's words explained by the
/// pairs and the share of the listed name's, `(m_s/s + m_l/l) / 2`, where `m_s` and `m_l`
/// are the pairs' basis points counted once per word they explain on each side (a pair of
/// two joined neighbours with one word counts twice on the side of the two).
pub(crate) fn name_score(
    paired_screened: u64,
    paired_listed: u64,
    screened_words: u64,
    listed_words: u64,
) -> Score {
    let s = screened_words.max(1);
    let l = listed_words.max(1);
    let score = (paired_screened.saturating_mul(l) + paired_listed.saturating_mul(s)) / (2 * s * l);
    Score(u16::try_from(score.min(u64::from(BASIS_POINTS_MAX))).unwrap_or(BASIS_POINTS_MAX))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_basis_points_up_to_ten_thousand() {
        assert_eq!(
            Score::from_basis_points(8_000).unwrap().basis_points(),
            8_000
        );
        assert_eq!(Score::from_basis_points(10_000).unwrap(), Score::MAX);
        assert_eq!(
            Score::from_basis_points(10_001),
            Err(ScoreError {
                max: 10_000,
                got: 10_001
            })
        );
        assert_eq!(Score(8_750).to_string(), "0.8750");
        assert_eq!(Score::MAX.to_string(), "1.0000");
        assert_eq!(Score(5).to_string(), "0.0005");
    }

    #[test]
    fn short_words_must_be_equal_and_longer_ones_may_have_typos() {
        let cases = [
            ("li", "lu", None),
            ("ana", "eva", None),
            ("ali", "aly", None),
            ("perez", "peres", Some(1)),
            ("juan", "jaun", Some(1)),
            ("martin", "martinez", None),
            ("gilberto", "jilverto", Some(2)),
            ("escobar", "escobra", Some(1)),
            ("rodriguez", "rodrigez", Some(1)),
            ("gomez", "rodriguez", None),
            ("長安", "長安", Some(0)),
            ("長安海", "長安汽", None),
            ("путин", "путен", None),
        ];
        for (a, b, expected) in cases {
            assert_eq!(edits_if_close(a, b), expected, "{a} vs {b}");
            assert_eq!(edits_if_close(b, a), expected, "{b} vs {a}");
        }
    }

    #[test]
    fn a_pair_loses_its_share_of_edits() {
        assert_eq!(pair_basis_points(0, 5, 5), 10_000);
        assert_eq!(pair_basis_points(1, 5, 5), 8_000);
        assert_eq!(pair_basis_points(1, 7, 7), 8_572);
        assert_eq!(pair_basis_points(2, 9, 8), 7_778);
    }

    #[test]
    fn a_name_scores_the_mean_of_both_coverages() {
        // 3 of 3 words against a listed 4: (1 + 0.75) / 2.
        assert_eq!(name_score(30_000, 30_000, 3, 4).basis_points(), 8_750);
        // 2 of 2 against a listed 4: (1 + 0.5) / 2.
        assert_eq!(name_score(20_000, 20_000, 2, 4).basis_points(), 7_500);
        // 1 of 2 against a listed 2.
        assert_eq!(name_score(10_000, 10_000, 2, 2).basis_points(), 5_000);
        assert_eq!(name_score(40_000, 40_000, 4, 4), Score::MAX);
        // `Santa Cruz` against `SANTACRUZ`: one pair explains two screened words.
        assert_eq!(name_score(20_000, 10_000, 2, 1), Score::MAX);
    }
}
