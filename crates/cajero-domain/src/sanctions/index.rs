//! Finding the listed words close to a screened word without comparing it with all of them:
//! a deletion neighbourhood (the idea of SymSpell). Every listed word is stored under each
//! string obtained by deleting up to [`allowed_edits`] of its characters; a screened word
//! looks up its own deletions. Two words within `k` edits (insertions, deletions,
//! substitutions, swaps) share a string reached by at most `k` deletions from each, so the
//! look-up finds every close word, and a few others that [`edits_if_close`] then rejects.
//!
//! The neighbourhood is a sorted array of (hash of the deleted string, word): about 20
//! strings per word, so 12 bytes × 20 per distinct listed word (some 10 MB for OFAC's and the
//! UN's lists together), and a look-up is a few dozen binary searches.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;

use super::score::{allowed_edits, edits_if_close, fuzzy_comparable};

/// Any fixed seed: the hashes never leave the process, they only need to agree between
/// building and looking up.
const HASH_SEED: u64 = 0x5a4e_c710_4e50_a11c;

/// The distinct words of every listed name, and their deletion neighbourhood.
#[derive(Debug, Clone)]
pub(crate) struct WordIndex {
    words: Vec<Box<str>>,
    neighbourhood: Vec<(u64, u32)>,
    hasher: FixedState,
}

/// A listed word close to a screened one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Close {
    pub word: u32,
    pub edits: u8,
}

impl WordIndex {
    /// Indexes `words`, which must be distinct; a word's id is its position. A word whose
    /// flag is false is stored under itself only, so it is found by equal words (and by the
    /// few longer words that one deletion turns into it), not by every close one: that keeps
    /// the neighbourhood small for the joined neighbours of listed names (`santacruz` for
    /// `SANTA CRUZ`), which are many and rarely misspelt as a whole.
    pub fn new(words: Vec<(Box<str>, bool)>) -> WordIndex {
        let hasher = FixedState::with_seed(HASH_SEED);
        let mut neighbourhood = Vec::new();
        let mut hashes = Vec::new();
        for (id, (word, fuzzy)) in (0_u32..).zip(&words) {
            hashes.clear();
            if *fuzzy {
                deletion_hashes(&hasher, word, &mut hashes);
            } else {
                hashes.push(hasher.hash_one(word.as_bytes()));
            }
            neighbourhood.extend(hashes.iter().map(|hash| (*hash, id)));
        }
        neighbourhood.sort_unstable();
        WordIndex {
            words: words.into_iter().map(|(word, _)| word).collect(),
            neighbourhood,
            hasher,
        }
    }

    /// The word with id `id`.
    pub fn word(&self, id: u32) -> &str {
        self.words.get(id as usize).map_or("", |word| word)
    }

    /// Appends to `out` every listed word within [`allowed_edits`] of `word` (the word
    /// itself included, with 0 edits), each once. `hashes` is scratch space.
    pub fn close_words(&self, word: &str, hashes: &mut Vec<u64>, out: &mut Vec<Close>) {
        let start = out.len();
        hashes.clear();
        deletion_hashes(&self.hasher, word, hashes);
        for hash in hashes.iter() {
            let from = self.neighbourhood.partition_point(|(h, _)| h < hash);
            for (_, id) in self.neighbourhood[from..]
                .iter()
                .take_while(|(h, _)| h == hash)
            {
                if out[start..].iter().any(|close| close.word == *id) {
                    continue;
                }
                if let Some(edits) = edits_if_close(word, self.word(*id)) {
                    out.push(Close {
                        word: *id,
                        edits: u8::try_from(edits).unwrap_or(u8::MAX),
                    });
                }
            }
        }
    }
}

/// The hashes of `word` with up to [`allowed_edits`] characters deleted (the word itself
/// first), without repeats. Words that pair only when equal have only their own hash.
fn deletion_hashes(hasher: &FixedState, word: &str, out: &mut Vec<u64>) {
    let bytes = word.as_bytes();
    out.push(hasher.hash_one(bytes));
    if !fuzzy_comparable(word) {
        return;
    }
    let deletions = allowed_edits(bytes.len());
    if deletions == 0 {
        return;
    }
    let mut once = Vec::with_capacity(bytes.len());
    let mut twice = Vec::with_capacity(bytes.len());
    for i in 0..bytes.len() {
        once.clear();
        once.extend_from_slice(&bytes[..i]);
        once.extend_from_slice(&bytes[i + 1..]);
        out.push(hasher.hash_one(&once[..]));
        if deletions >= 2 {
            for j in i..once.len() {
                twice.clear();
                twice.extend_from_slice(&once[..j]);
                twice.extend_from_slice(&once[j + 1..]);
                out.push(hasher.hash_one(&twice[..]));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn index(words: &[&str]) -> WordIndex {
        WordIndex::new(words.iter().map(|w| (Box::from(*w), true)).collect())
    }

    fn close(index: &WordIndex, word: &str) -> Vec<(String, u8)> {
        let mut out = Vec::new();
        index.close_words(word, &mut Vec::new(), &mut out);
        let mut found: Vec<(String, u8)> = out
            .iter()
            .map(|c| (index.word(c.word).to_owned(), c.edits))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn close_words_are_found_and_far_ones_are_not() {
        let index = index(&[
            "rodriguez",
            "rodrigues",
            "gilberto",
            "perez",
            "peres",
            "lopez",
            "li",
            "lu",
            "orejuela",
            "長安",
        ]);
        assert_eq!(
            close(&index, "rodrigez"),
            [("rodrigues".to_owned(), 2), ("rodriguez".to_owned(), 1)]
        );
        assert_eq!(close(&index, "gilverto"), [("gilberto".to_owned(), 1)]);
        assert_eq!(close(&index, "jilverto"), [("gilberto".to_owned(), 2)]);
        assert_eq!(
            close(&index, "perez"),
            [("peres".to_owned(), 1), ("perez".to_owned(), 0)]
        );
        assert_eq!(close(&index, "oerjuela"), [("orejuela".to_owned(), 1)]);
        assert_eq!(close(&index, "li"), [("li".to_owned(), 0)]);
        assert_eq!(close(&index, "長安"), [("長安".to_owned(), 0)]);
        assert!(close(&index, "gomez").is_empty());
        assert!(close(&index, "la").is_empty());
    }

    #[test]
    fn words_stored_under_themselves_are_found_when_equal() {
        let index = WordIndex::new(vec![
            (Box::from("santacruz"), false),
            (Box::from("orejuela"), true),
        ]);
        assert_eq!(close(&index, "santacruz"), [("santacruz".to_owned(), 0)]);
        assert!(close(&index, "santacrus").is_empty());
        assert_eq!(close(&index, "orejuella"), [("orejuela".to_owned(), 1)]);
    }

    #[test]
    fn the_neighbourhood_finds_what_a_full_scan_finds() {
        let words = [
            "maria",
            "mario",
            "marta",
            "martin",
            "martinez",
            "martines",
            "hernandez",
            "fernandez",
            "fernandes",
            "gonzalez",
            "gonzales",
            "gomez",
            "gomes",
            "juan",
            "jaun",
            "joan",
            "jose",
            "josue",
            "escobar",
            "escobra",
            "gaviria",
            "gabiria",
            "abu",
            "abud",
        ];
        let index = index(&words);
        for query in words
            .iter()
            .chain(&["marai", "gonzalex", "ecsobar", "hernadez"])
        {
            let mut scanned: Vec<(String, u8)> = words
                .iter()
                .filter_map(|w| {
                    edits_if_close(query, w).map(|e| ((*w).to_owned(), u8::try_from(e).unwrap()))
                })
                .collect();
            scanned.sort();
            assert_eq!(close(&index, query), scanned, "{query}");
        }
    }
}
