//! Sanctions screening: is this beneficiary, payer or merchant representative on a
//! sanctions list? Names are compared fuzzily against the OFAC SDN list and the UN Security
//! Council consolidated list, loaded from the files those bodies publish.
//!
//! # Pieces
//!
//! - [`ofac::parse`] reads OFAC's `sdn.csv` and `alt.csv`, [`un::parse`] the UN's
//!   consolidated XML; each gives a [`SourceList`]: the [`Entry`]s and the [`ListVersion`]
//!   (publisher, publication time, SHA-256 of every file read).
//! - [`List::new`] indexes one or more source lists; [`List::screen`] answers the [`Hit`]s
//!   for a name at or above a threshold, best first, each with the entry, the listed name
//!   that matched, the [`Score`] and the [`MatchReason`]. A hit above the threshold sends the
//!   operation to review; the decision stores [`List::version_label`].
//! - [`normalize()`](normalize::normalize) is what both sides go through first.
//!
//! # Scoring
//!
//! Both names are [normalized](mod@normalize) into words (accents, case, punctuation, particles
//! such as `de la`, honorifics and company forms gone). Each word of the screened name is
//! paired with at most one word of the listed name, best pairs first:
//!
//! - equal words score 1;
//! - words within [`allowed_edits`] of each other (optimal string alignment distance from
//!   `strsim`: insertions, deletions, substitutions and swaps of two neighbours, one edit
//!   each) score `1 − edits / longer length` — no edits for words of up to 3 letters, 1 for
//!   4 to 6, 2 from 7;
//! - two neighbouring words on one side may pair, joined, with one word on the other
//!   (`Santa Cruz` and `SANTACRUZ`, `Fu Jing` and `FUJING`), and then count for both;
//! - a lone initial (`M`) and a word it begins (`Manuel`) score ½, only between words left
//!   unpaired.
//!
//! With `m` the pairs' scores summed per word they cover on each side, `s` the screened
//! name's words and `l` the listed name's, the name scores the mean of the two coverages,
//! `(m_s/s + m_l/l) / 2`: a word missing on either side costs about half its share. An
//! entry scores its best name (primary or alias), and every entry scoring at least the
//! threshold is a [`Hit`]. All of it is integer arithmetic in basis points.
//!
//! # Threshold
//!
//! [`DEFAULT_THRESHOLD`] is 0.80 (8,000 basis points). What it means in words:
//!
//! | screened vs listed | score | |
//! |---|---|---|
//! | same words, any order, accents, case, particles | 1.00 | hit |
//! | 4 words, one with a typo | ≈ 0.96 | hit |
//! | 3 of the listed 4 (a middle name or a surname missing) | 0.875 | hit |
//! | 4 words, one not on the listed 3 (an extra middle name) | 0.875 | hit |
//! | given name + surname vs a listed 3 (`Nicolás Maduro`) | 0.83 | hit |
//! | 2 words, both one letter off in 5 | 0.80 | hit, borderline |
//! | 3 of 4 words, one different (`Miguel Ángel Rodríguez Pérez`) | 0.75 | no |
//! | 2 of the listed 4 (`Juan Escobar` vs `Juan Pablo Escobar Gaviria`) | 0.75 | no |
//! | 2 words, one different (`María Rodríguez` vs `María Gómez`) | 0.50 | no |
//!
//! So a common two-word name that is two of a listed person's three words (`José Londoño`
//! against `SANTACRUZ LONDONO, Jose`) goes to review: screen the full name from the
//! document, not a short form. On the labelled set of
//! `tests/fixtures/sanctions/labelled_pairs.csv` (231 pairs) the threshold gives precision
//! and recall of 0.99 (printed by `tests/sanctions_screening.rs`, which fails below 0.95).
//! Lower it and first-name-plus-surname matches of four-word listed names start to hit;
//! raise it above 0.83 and given name + surname of three-word listed names stop hitting.
//!
//! # Speed
//!
//! [`List::new`] indexes the words of every listed name with their deletion neighbourhood
//! (words one or two deletions away), so a screen looks only at names sharing a close word
//! and drops those that cannot reach the threshold before scoring. On 20,000 synthetic
//! entries (`benches/sanctions.rs`), one screen takes 0.07–0.17 ms in release on a 2-core
//! machine, under 1 ms as required; building the index takes about 0.15 s.
//!
//! # Limits
//!
//! - No transliteration: Han, Arabic, Cyrillic names match only the same characters, after
//!   NFKD (Han text has no spaces, so a Chinese name is one word and matches only exactly).
//!   The lists also carry Latin spellings, which is what a Colombian document shows.
//! - One edit in a word of 4 to 6 letters cannot tell apart Chinese or Korean syllables one
//!   letter apart (`Wang`/`Kang`), nor `Hernández`/`Fernández`: the other words decide.
//! - Words split or joined differently pair only two at a time (`Santa Cruz`/`Santacruz`),
//!   not `Delacruz`/`de la Cruz` (the particles are gone from one side).
//! - Nicknames that OFAC gives only in the remarks (`a.k.a. 'CHEPE'`) are not screened; the
//!   names of `alt.csv` are, and every UN alias, whatever its quality.
//! - Dates of birth, nationalities and document numbers are not compared: a hit is a name
//!   hit, for a person to review with the entry's remarks.

pub mod normalize;
pub mod ofac;
pub mod un;

mod hit;
mod index;
mod list;
mod pairing;
mod score;
mod text;

pub use hit::{Hit, MatchReason, PairKind, TokenPair};
pub use list::{List, SCREEN_NAME_CHARS_MAX, SCREEN_NAME_WORDS_MAX, ScreenError};
pub use normalize::{NormalizedName, normalize};
pub use score::{Score, ScoreError, allowed_edits};

use std::fmt;

use jiff::Timestamp;

/// The threshold for review: 0.80 (see the module documentation for what it lets through).
pub const DEFAULT_THRESHOLD: Score = Score::from_basis_points_const(8_000);

/// Most bytes of one list file read. OFAC's `sdn.csv` is about 5 MB and the UN's XML about
/// 2 MB; ten times that is room to grow, and less than this is refused before parsing.
pub const LIST_FILE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Most entries in one list (OFAC's SDN has about 18,000, the UN's about 1,000).
pub const LIST_ENTRIES_MAX: usize = 200_000;

/// Most names (primary and aliases) of one entry; the longest OFAC entries have about 100.
pub const ENTRY_NAMES_MAX: usize = 1_000;

/// Most characters in one listed name. OFAC's specification gives 350 for `SDN_Name` and
/// `alt_name`; the UN's schema gives none, so a generous bound against a broken file.
pub const LISTED_NAME_CHARS_MAX: usize = 1_000;

/// Who publishes a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// The US Treasury's Office of Foreign Assets Control: the SDN list.
    Ofac,
    /// The UN Security Council consolidated list.
    Un,
}

impl Source {
    /// The stable code stored with a screening decision: `ofac` or `un`.
    pub const fn code(self) -> &'static str {
        match self {
            Source::Ofac => "ofac",
            Source::Un => "un",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What a listed entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A person.
    Individual,
    /// A company, organisation or group (OFAC writes no type for these).
    Entity,
    /// A ship.
    Vessel,
    /// An aircraft.
    Aircraft,
}

impl EntryKind {
    /// The stable snake_case code: `individual`, `entity`, `vessel`, `aircraft`.
    pub const fn code(self) -> &'static str {
        match self {
            EntryKind::Individual => "individual",
            EntryKind::Entity => "entity",
            EntryKind::Vessel => "vessel",
            EntryKind::Aircraft => "aircraft",
        }
    }
}

/// One listed person, entity, vessel or aircraft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The publisher's identifier: OFAC's `ent_num`, the UN's `DATAID`.
    pub uid: String,
    /// Who lists it.
    pub source: Source,
    /// What it is.
    pub kind: EntryKind,
    /// The primary name first, then the aliases, as listed (OFAC's individuals turned from
    /// `LAST, First` into `First LAST`).
    pub names: Vec<String>,
    /// The sanctions programmes (`SDNT`, `SDGT`, `VENEZUELA-EO13850`; the UN's list type,
    /// such as `Al-Qaida` or `DRC`).
    pub programs: Vec<String>,
    /// The publisher's reference shown to people, when it has one besides `uid` (the UN's
    /// `QDi.001`).
    pub reference: Option<String>,
    /// The publisher's remarks (dates of birth, documents, links), as listed.
    pub remarks: Option<String>,
}

/// One file read into a list version, with its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// The file's role, as the publisher names it (`sdn.csv`, `alt.csv`, `consolidated.xml`).
    pub file: &'static str,
    /// SHA-256 of the bytes read, so `sha256sum` on the downloaded file checks it.
    pub sha256: [u8; 32],
}

/// Which publication of a list was used: stored with every screening decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListVersion {
    /// Who publishes it.
    pub source: Source,
    /// When the publisher generated it: the UN's `dateGenerated`; for OFAC (whose CSV
    /// carries no date) what the caller knows, such as the download's `Last-Modified`.
    pub published: Option<Timestamp>,
    /// Every file read, with its digest.
    pub files: Vec<FileDigest>,
}

impl fmt::Display for ListVersion {
    /// `ofac published=2024-05-01T00:00:00Z sdn.csv=sha256:… alt.csv=sha256:…`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        match self.published {
            Some(published) => write!(f, " published={published}")?,
            None => write!(f, " published=unknown")?,
        }
        for digest in &self.files {
            write!(f, " {}=sha256:", digest.file)?;
            for byte in digest.sha256 {
                write!(f, "{byte:02x}")?;
            }
        }
        Ok(())
    }
}

/// A list as one publisher's files gave it: what [`ofac::parse`] and [`un::parse`] return
/// and [`List::new`] takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceList {
    /// Which publication this is.
    pub version: ListVersion,
    /// Its entries, in file order.
    pub entries: Vec<Entry>,
}
