//! Scoring one listed name against the screened one, from the word matches the index found:
//! best pairs first, each word used once, then lone initials; see the module documentation
//! of [`sanctions`](super) for the formula.
//!
//! Either side may pair two neighbouring words with one word of the other side
//! (`Santa Cruz` and `SANTACRUZ`, `Fu Jing` and `FUJING`): the screened name's neighbours
//! are looked up joined, as extra "units", and the listed names' neighbours are indexed
//! joined, as postings that cover two positions. Such a pair explains two words on one side
//! and one on the other.

use super::PairKind;
use super::score::{INITIAL_BASIS_POINTS, Score, fuzzy_comparable, name_score};

/// Set in a posting's position when it covers the word at that position and the next one,
/// joined.
pub(crate) const JOINED: u32 = 1 << 31;

/// What the screened name offers for pairing: each word alone, then each two neighbouring
/// words joined.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    /// What is looked up: the word, or the two words joined.
    pub text: String,
    /// What a reviewer is shown: the word, or the two words with a space.
    pub shown: String,
    /// The screened words (positions in the name's order) this unit stands for: a bit each,
    /// since a screened name has at most 32 words.
    pub mask: u32,
    /// How many words: 1 or 2.
    pub words: u8,
}

/// The units of a screened name whose normalized words, in order, are `words` (at most 32).
pub(crate) fn units(words: &[String]) -> Vec<Unit> {
    let mut units: Vec<Unit> = (0..)
        .zip(words)
        .map(|(i, word)| Unit {
            text: word.clone(),
            shown: word.clone(),
            mask: 1 << i,
            words: 1,
        })
        .collect();
    for (i, pair) in (0..).zip(words.windows(2)) {
        if let [first, second] = pair
            && fuzzy_comparable(first)
            && fuzzy_comparable(second)
        {
            units.push(Unit {
                text: format!("{first}{second}"),
                shown: format!("{first} {second}"),
                mask: 0b11 << i,
                words: 2,
            });
        }
    }
    units
}

/// A unit of the screened name close to a word (or joined pair) of a listed name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WordMatch {
    /// The listed name.
    pub name: u32,
    /// The listed word's position, with [`JOINED`] when it is two words.
    pub position: u32,
    /// The screened unit.
    pub unit: u8,
    pub edits: u8,
    pub basis_points: u16,
}

/// A pair chosen while scoring one listed name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pairing {
    pub unit: u8,
    /// As in [`WordMatch::position`].
    pub position: u32,
    pub kind: PairKind,
    pub basis_points: u16,
}

/// The listed positions a posting's position covers: `(first, count)`.
pub(crate) fn span(position: u32) -> (u32, u32) {
    if position & JOINED == 0 {
        (position, 1)
    } else {
        (position & !JOINED, 2)
    }
}

/// A listed name being scored: its word ids in order, and their text.
pub(crate) struct Listed<'a, F: Fn(u32) -> &'a str> {
    pub words: &'a [u32],
    pub has_initial: bool,
    pub text: F,
}

/// The screened name being scored.
pub(crate) struct Screened<'a> {
    pub units: &'a [Unit],
    /// Its words (the single-word units).
    pub words: usize,
    pub has_initial: bool,
}

/// Whether a listed name of `listed_words` words, `found` of whose screened words have a
/// close word in it, could score `threshold`: every found word pairing perfectly with up to
/// two listed words (or every screened word, when initials may pair the rest).
pub(crate) fn could_reach(
    screened: &Screened<'_>,
    listed_words: usize,
    listed_has_initial: bool,
    found: u32,
    threshold: Score,
) -> bool {
    let screened_count = screened.words as u64;
    let listed_count = listed_words as u64;
    let perfect = u64::from(Score::MAX.basis_points());
    let pairable = if screened.has_initial || listed_has_initial {
        screened_count
    } else {
        u64::from(found)
    };
    let bound = name_score(
        pairable * perfect,
        (2 * pairable).min(listed_count) * perfect,
        screened_count,
        listed_count,
    );
    bound >= threshold
}

/// Scores `listed` from its `matches` (sorted best first), answering the score when it
/// reaches `threshold`, with the pairs in `pairings`.
pub(crate) fn score_name<'a, F: Fn(u32) -> &'a str>(
    screened: &Screened<'_>,
    listed: &Listed<'a, F>,
    matches: &[WordMatch],
    threshold: Score,
    pairings: &mut Vec<Pairing>,
) -> Option<Score> {
    let screened_count = screened.words as u64;
    let listed_count = listed.words.len() as u64;
    let initials = screened.has_initial || listed.has_initial;
    pairings.clear();
    let mut used_screened = 0_u32;
    let mut used_listed: Vec<u32> = Vec::new();
    for m in matches {
        let Some(unit) = screened.units.get(usize::from(m.unit)) else {
            continue;
        };
        let (first, count) = span(m.position);
        if used_screened & unit.mask != 0
            || (first..first + count).any(|p| used_listed.contains(&p))
        {
            continue;
        }
        used_screened |= unit.mask;
        used_listed.extend(first..first + count);
        pairings.push(Pairing {
            unit: m.unit,
            position: m.position,
            kind: match m.edits {
                0 => PairKind::Exact,
                edits => PairKind::Typo { edits },
            },
            basis_points: m.basis_points,
        });
    }
    if initials {
        pair_initials(screened, listed, used_screened, &mut used_listed, pairings);
    }
    let mut paired_screened = 0_u64;
    let mut paired_listed = 0_u64;
    for pairing in pairings.iter() {
        let words = screened
            .units
            .get(usize::from(pairing.unit))
            .map_or(1, |unit| unit.words);
        paired_screened += u64::from(pairing.basis_points) * u64::from(words);
        paired_listed += u64::from(pairing.basis_points) * u64::from(span(pairing.position).1);
    }
    let score = name_score(paired_screened, paired_listed, screened_count, listed_count);
    (score >= threshold).then_some(score)
}

/// Pairs each screened word left over that is a lone initial with a listed word left over
/// that it begins, and the other way round.
fn pair_initials<'a, F: Fn(u32) -> &'a str>(
    screened: &Screened<'_>,
    listed: &Listed<'a, F>,
    mut used_screened: u32,
    used_listed: &mut Vec<u32>,
    pairings: &mut Vec<Pairing>,
) {
    let singles = screened.units.iter().take(screened.words);
    for (unit_index, unit) in (0_u8..).zip(singles) {
        if used_screened & unit.mask != 0 {
            continue;
        }
        let free = (0_u32..).zip(listed.words.iter()).find(|(position, id)| {
            !used_listed.contains(position) && initial_of(&unit.text, (listed.text)(**id))
        });
        if let Some((position, _)) = free {
            used_screened |= unit.mask;
            used_listed.push(position);
            pairings.push(Pairing {
                unit: unit_index,
                position,
                kind: PairKind::Initial,
                basis_points: INITIAL_BASIS_POINTS,
            });
        }
    }
}

/// Whether `word` is a lone letter or digit.
pub(crate) fn is_initial(word: &str) -> bool {
    word.chars().count() == 1
}

/// Whether one of the words is a lone letter that begins the other, longer word.
fn initial_of(a: &str, b: &str) -> bool {
    (is_initial(a) && !is_initial(b) && b.starts_with(a))
        || (is_initial(b) && !is_initial(a) && a.starts_with(b))
}
