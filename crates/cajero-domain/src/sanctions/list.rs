//! A screening list: the entries of one or more publishers, indexed by the normalized words
//! of every listed name, and the screening of one name against it.
//!
//! Screening looks up each word of the screened name in the [`WordIndex`] (close words
//! only), follows each close word to the listed names that contain it, and scores only
//! those names. A name sharing no close word with the screened one is never looked at, which
//! is what keeps a screen against 20,000 entries well under a millisecond.

use std::cmp::Reverse;
use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::hit::{Hit, MatchReason, TokenPair};
use super::index::{Close, WordIndex};
use super::normalize::normalize;
use super::pairing::{
    JOINED, Listed, Pairing, Screened, Unit, WordMatch, could_reach, is_initial, score_name, span,
    units,
};
use super::score::{Score, fuzzy_comparable, pair_basis_points};
use super::{Entry, ListVersion, SourceList};

/// Most characters in a screened name: the longest listed name OFAC's specification allows.
/// A person's name in cajero is at most 120 (`PERSON_NAME_CHARS_MAX`).
pub const SCREEN_NAME_CHARS_MAX: usize = 350;

/// Most words in a screened name, after normalization. Twelve is already a long name; the
/// bound keeps a screen's work small and its bookkeeping in one machine word.
pub const SCREEN_NAME_WORDS_MAX: usize = 32;

/// Entries of one or more lists, indexed for [`screen`](List::screen).
#[derive(Debug, Clone)]
pub struct List {
    versions: Vec<ListVersion>,
    entries: Vec<Entry>,
    names: Vec<ListedName>,
    words: WordIndex,
    /// For word id `w`, its postings are `postings[postings_start[w]..postings_start[w + 1]]`.
    postings_start: Vec<u32>,
    postings: Vec<Posting>,
}

/// One name of one entry, as word ids in the name's order.
#[derive(Debug, Clone)]
struct ListedName {
    entry: u32,
    name: u32,
    words: Box<[u32]>,
    has_initial: bool,
}

/// "Listed name `name` has this word at `position`" (two words, with [`JOINED`]).
#[derive(Debug, Clone, Copy)]
struct Posting {
    name: u32,
    position: u32,
}

/// A name that could not be screened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreenError {
    /// More characters than [`SCREEN_NAME_CHARS_MAX`].
    #[error("a screened name has at most {max} characters, got {got}")]
    TooLong { max: usize, got: usize },
    /// More words than [`SCREEN_NAME_WORDS_MAX`] after normalization.
    #[error("a screened name has at most {max} words, got {got}")]
    TooManyWords { max: usize, got: usize },
    /// No letter or digit at all: nothing to compare.
    #[error("the name has no letters or digits to screen")]
    NoWords,
}

impl ScreenError {
    /// The stable snake_case code: `screen_name_too_long`, `screen_name_too_many_words`,
    /// `screen_name_empty`.
    pub const fn code(&self) -> &'static str {
        match self {
            ScreenError::TooLong { .. } => "screen_name_too_long",
            ScreenError::TooManyWords { .. } => "screen_name_too_many_words",
            ScreenError::NoWords => "screen_name_empty",
        }
    }
}

impl List {
    /// Indexes the entries of `sources` (OFAC's and the UN's, typically) into one list.
    pub fn new(sources: impl IntoIterator<Item = SourceList>) -> List {
        let mut versions = Vec::new();
        let mut entries = Vec::new();
        for source in sources {
            versions.push(source.version);
            entries.extend(source.entries);
        }
        // Ids are u32 and positions keep their top bit for JOINED: bugs, not inputs (the
        // parsers bound entries, names and name lengths far below).
        assert!(
            u32::try_from(entries.len()).is_ok(),
            "a list holds fewer than 2^32 entries"
        );
        let mut vocabulary = Vocabulary::default();
        let mut names = Vec::new();
        let mut postings = Vec::new();
        for (entry_id, entry) in (0_u32..).zip(&entries) {
            for (name_id, name) in (0_u32..).zip(&entry.names) {
                let normalized = normalize(name);
                let in_order = normalized.words_in_order();
                if in_order.is_empty() {
                    continue;
                }
                let listed = u32::try_from(names.len()).unwrap_or(u32::MAX);
                let words: Box<[u32]> = in_order.iter().map(|w| vocabulary.id(w, true)).collect();
                for (position, word) in (0_u32..JOINED).zip(words.iter()) {
                    postings.push((
                        *word,
                        Posting {
                            name: listed,
                            position,
                        },
                    ));
                }
                for (position, pair) in (0_u32..JOINED).zip(in_order.windows(2)) {
                    if let [first, second] = pair
                        && fuzzy_comparable(first)
                        && fuzzy_comparable(second)
                    {
                        let joined = vocabulary.id(&format!("{first}{second}"), false);
                        let position = position | JOINED;
                        postings.push((
                            joined,
                            Posting {
                                name: listed,
                                position,
                            },
                        ));
                    }
                }
                names.push(ListedName {
                    entry: entry_id,
                    name: name_id,
                    has_initial: in_order.iter().any(|w| is_initial(w)),
                    words,
                });
            }
        }
        let (postings_start, postings) = group_by_word(postings, vocabulary.words.len());
        List {
            versions,
            entries,
            names,
            words: WordIndex::new(vocabulary.words),
            postings_start,
            postings,
        }
    }

    /// The publications this list was built from, in the order given.
    pub fn versions(&self) -> &[ListVersion] {
        &self.versions
    }

    /// One line naming every publication used (see [`ListVersion`]'s `Display`), joined by
    /// `; `: what a screening decision stores.
    pub fn version_label(&self) -> String {
        self.versions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Every entry, in the order of the sources and of their files.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries with a name scoring at least `threshold` against `name` (one hit per
    /// entry, for its best name), best first; ties in the order of the list.
    pub fn screen(&self, name: &str, threshold: Score) -> Result<Vec<Hit<'_>>, ScreenError> {
        let chars = name.chars().count();
        if chars > SCREEN_NAME_CHARS_MAX {
            return Err(ScreenError::TooLong {
                max: SCREEN_NAME_CHARS_MAX,
                got: chars,
            });
        }
        let normalized = normalize(name);
        let words = normalized.words_in_order();
        if words.is_empty() {
            return Err(ScreenError::NoWords);
        }
        if words.len() > SCREEN_NAME_WORDS_MAX {
            return Err(ScreenError::TooManyWords {
                max: SCREEN_NAME_WORDS_MAX,
                got: words.len(),
            });
        }
        let units = units(words);
        let screened = Screened {
            units: &units,
            words: words.len(),
            has_initial: words.iter().any(|w| is_initial(w)),
        };
        let mut matches = self.word_matches(&screened, threshold);
        matches.sort_unstable_by_key(|m| (m.name, Reverse(m.basis_points), m.unit, m.position));
        // (entry, score, listed name, pairs)
        let mut scored: Vec<(u32, Score, u32, Vec<Pairing>)> = Vec::new();
        let mut pairings = Vec::new();
        for group in matches.chunk_by(|a, b| a.name == b.name) {
            let Some(name) = group.first().map(|m| m.name) else {
                continue;
            };
            let Some(listed) = self.names.get(name as usize) else {
                continue;
            };
            let listed_view = Listed {
                words: &listed.words,
                has_initial: listed.has_initial,
                text: |id| self.words.word(id),
            };
            if let Some(score) =
                score_name(&screened, &listed_view, group, threshold, &mut pairings)
            {
                scored.push((listed.entry, score, name, pairings.clone()));
            }
        }
        // One hit per entry: its best name (the first listed among equals; listed names are
        // numbered in entry and name order).
        scored.sort_unstable_by_key(|(entry, score, name, _)| (*entry, Reverse(*score), *name));
        scored.dedup_by_key(|(entry, ..)| *entry);
        scored.sort_by_key(|(entry, score, ..)| (Reverse(*score), *entry));
        Ok(scored
            .into_iter()
            .filter_map(|(entry, score, name, pairings)| {
                let entry = self.entries.get(entry as usize)?;
                let listed = self.names.get(name as usize)?;
                Some(Hit {
                    entry,
                    matched_name: entry.names.get(listed.name as usize)?,
                    score,
                    reason: MatchReason {
                        screened_words: words.len(),
                        listed_words: listed.words.len(),
                        pairs: self.token_pairs(&units, listed, &pairings),
                    },
                })
            })
            .collect())
    }

    /// Every (listed name, position) whose word is close to a unit of the screened name, for
    /// the listed names that [could reach](could_reach) `threshold`. Two passes over the
    /// postings: the first marks which screened words each listed name has, the second keeps
    /// the matches of the names that could reach the threshold, so that the many names
    /// sharing one common word (`jose`, `muhammad`) are dropped before anything is sorted.
    fn word_matches(&self, screened: &Screened<'_>, threshold: Score) -> Vec<WordMatch> {
        let mut hashes = Vec::new();
        let close_by_unit: Vec<Vec<Close>> = screened
            .units
            .iter()
            .map(|unit| {
                let mut close = Vec::new();
                self.words.close_words(&unit.text, &mut hashes, &mut close);
                close
            })
            .collect();
        // The screened words found in each listed name (a bit per word; at most 32 words).
        let mut found = vec![0_u32; self.names.len()];
        let mut touched = Vec::new();
        for (unit, close) in screened.units.iter().zip(&close_by_unit) {
            for word in close {
                for posting in self.postings_of(word.word) {
                    let Some(slot) = found.get_mut(posting.name as usize) else {
                        continue;
                    };
                    if *slot == 0 {
                        touched.push(posting.name);
                    }
                    *slot |= unit.mask;
                }
            }
        }
        for name in touched {
            let (Some(slot), Some(listed)) =
                (found.get_mut(name as usize), self.names.get(name as usize))
            else {
                continue;
            };
            let words = listed.words.len();
            if !could_reach(
                screened,
                words,
                listed.has_initial,
                slot.count_ones(),
                threshold,
            ) {
                *slot = 0;
            }
        }
        let mut matches = Vec::new();
        for ((unit_index, unit), close) in (0_u8..).zip(screened.units).zip(&close_by_unit) {
            for Close { word, edits } in close.iter().copied() {
                let basis_points = pair_basis_points(
                    usize::from(edits),
                    unit.text.chars().count(),
                    self.words.word(word).chars().count(),
                );
                for posting in self.postings_of(word) {
                    if found.get(posting.name as usize).is_some_and(|f| *f != 0) {
                        matches.push(WordMatch {
                            name: posting.name,
                            position: posting.position,
                            unit: unit_index,
                            edits,
                            basis_points,
                        });
                    }
                }
            }
        }
        matches
    }

    fn postings_of(&self, word: u32) -> &[Posting] {
        let start = self.postings_start.get(word as usize).copied().unwrap_or(0);
        let end = self
            .postings_start
            .get(word as usize + 1)
            .copied()
            .unwrap_or(start);
        self.postings
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    fn token_pairs(
        &self,
        units: &[Unit],
        listed: &ListedName,
        pairings: &[Pairing],
    ) -> Vec<TokenPair> {
        pairings
            .iter()
            .map(|pairing| {
                let (first, count) = span(pairing.position);
                let listed_words: Vec<&str> = (first..first + count)
                    .filter_map(|p| listed.words.get(p as usize))
                    .map(|id| self.words.word(*id))
                    .collect();
                TokenPair {
                    screened: units
                        .get(usize::from(pairing.unit))
                        .map(|unit| unit.shown.clone())
                        .unwrap_or_default(),
                    listed: listed_words.join(" "),
                    kind: pairing.kind,
                }
            })
            .collect()
    }
}

/// Distinct words and their ids while the list is built, each with whether it may be found
/// by close words (see [`WordIndex::new`]).
#[derive(Debug, Default)]
struct Vocabulary {
    ids: HashMap<Box<str>, u32, RandomState>,
    words: Vec<(Box<str>, bool)>,
}

impl Vocabulary {
    fn id(&mut self, word: &str, fuzzy: bool) -> u32 {
        if let Some(id) = self.ids.get(word) {
            if let Some((_, known_fuzzy)) = self.words.get_mut(*id as usize) {
                *known_fuzzy |= fuzzy;
            }
            return *id;
        }
        let id = u32::try_from(self.words.len()).unwrap_or(u32::MAX);
        self.words.push((Box::from(word), fuzzy));
        self.ids.insert(Box::from(word), id);
        id
    }
}

/// The postings grouped by word id (see `List::postings_start`), each group in the order
/// given (a counting sort).
fn group_by_word(postings: Vec<(u32, Posting)>, word_count: usize) -> (Vec<u32>, Vec<Posting>) {
    let mut starts = vec![0_u32; word_count + 1];
    for (word, _) in &postings {
        starts[*word as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    let empty = Posting {
        name: 0,
        position: 0,
    };
    let mut grouped = vec![empty; postings.len()];
    for (word, posting) in postings {
        let slot = &mut next[word as usize];
        grouped[*slot as usize] = posting;
        *slot += 1;
    }
    (starts, grouped)
}
