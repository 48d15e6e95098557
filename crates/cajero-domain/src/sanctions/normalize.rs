//! Names reduced to the words that identify a person or a company, so that the same name
//! written two ways compares equal: `José  de la CRUZ-Pérez` and `PEREZ CRUZ, Jose` both
//! become the words `cruz jose perez`.
//!
//! The steps, in order:
//!
//! 1. Lower case, then Unicode NFKD with every combining mark dropped: accents and
//!    diacritics go (`é` → `e`, `ñ` → `n`, `ç` → `c`), compatibility forms become plain
//!    (`ﬁ` → `fi`, full-width `Ｊ` → `j`). A few Latin letters that are not decomposed by
//!    Unicode are folded by [`FOLDS`] (`ß` → `ss`, `ø` → `o`, `ł` → `l`, …).
//! 2. Apostrophes and periods are deleted, joining what they separate: `D'Alemán` →
//!    `daleman`, `S.A.` → `sa`, `U.M.V.` → `umv`; every other character that is not a letter
//!    or a digit separates words (`Gómez-Ruiz` → `gomez ruiz`).
//! 3. Particles and connectors ([`PARTICLES`]: `de`, `del`, `la`, `y`, `da`, `dos`, `van`,
//!    `al`, …), honorifics ([`HONORIFICS`]: `sr`, `dona`, `dr`, `shaykh`, …) and company
//!    forms ([`COMPANY_FORMS`]: `sa`, `sas`, `ltda`, `inc`, …) are dropped — unless nothing
//!    would be left, in which case the name keeps all its words.
//! 4. The words are sorted, so that order does not matter (`LAST, First` = `First LAST`).
//!
//! Scripts other than Latin are not transliterated: `長安海連技術有限公司` stays as it is
//! (one word, since Han text has no spaces) and only matches the same characters.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Spanish and Portuguese particles and connectors of surnames (`de la Cruz`, `dos Santos`,
/// `Gómez y Pérez`), the Dutch and German ones found on the lists (`van`, `von`, `der`),
/// the Arabic article `al`/`el`, which the lists write joined, hyphenated or apart
/// (`AL-ZAWAHIRI`, `AL ZAWAHIRI`), and the English connectors of the lists' company names
/// (`NATIONAL BANK OF CUBA`, `SHIPPING AND TECHNOLOGY`). They carry no identity, and keeping
/// them would make `Juan de la Cruz` one word closer to every `de la …`.
///
/// Left out on purpose, because they are also surnames: `le` (Lê), `lo`, `du`, `di` (Chinese
/// and Vietnamese). `do` stays although it is also the Vietnamese Đỗ: dropping a word never
/// makes two different names equal on its own, it only lets the other words decide.
pub const PARTICLES: &[&str] = &[
    "al", "and", "da", "das", "de", "del", "della", "der", "do", "dos", "e", "el", "la", "las",
    "los", "of", "the", "van", "von", "y",
];

/// Titles and forms of address written before or after a name (`Sr.`, `Doña`, `Dr.`,
/// `Jr.`, `Shaykh`); they are not part of the name.
pub const HONORIFICS: &[&str] = &[
    "don", "dona", "dr", "dra", "ing", "jr", "lic", "mr", "mrs", "ms", "prof", "sheik", "sheikh",
    "shaykh", "sr", "sra", "srta",
];

/// Company forms (`S.A.`, `S.A.S.`, `Ltda.`, `Inc.`, `C.A.` in Venezuela, `Cía.`): the same
/// company is listed and written with and without them.
pub const COMPANY_FORMS: &[&str] = &[
    "ca", "cia", "co", "corp", "gmbh", "inc", "llc", "ltd", "ltda", "plc", "sa", "sas", "srl",
];

/// Latin letters that NFKD leaves whole, with the letters they are commonly written as
/// when the keyboard or the document lacks them.
pub const FOLDS: &[(char, &str)] = &[
    ('ß', "ss"),
    ('æ', "ae"),
    ('œ', "oe"),
    ('ø', "o"),
    ('đ', "d"),
    ('ð', "d"),
    ('ł', "l"),
    ('þ', "th"),
    ('ı', "i"),
    ('ħ', "h"),
    ('ŧ', "t"),
];

/// A name as given, with its normalized words (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NormalizedName {
    original: String,
    in_order: Vec<String>,
    tokens: Vec<String>,
}

impl NormalizedName {
    /// The name exactly as it was given, for display.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The normalized words, sorted. Empty when the name has no letter or digit at all.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The same words in the order of the name: what tells which words are neighbours
    /// (`santa cruz` may be written `Santacruz`).
    pub fn words_in_order(&self) -> &[String] {
        &self.in_order
    }

    /// The words joined by single spaces: equal for names that differ only in accents,
    /// case, punctuation, particles or word order.
    pub fn key(&self) -> String {
        self.tokens.join(" ")
    }
}

impl fmt::Display for NormalizedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// Normalizes `name` for comparison (see the module documentation). Never fails: a name
/// with no letters or digits gives no words.
pub fn normalize(name: &str) -> NormalizedName {
    let words = words(name);
    let kept: Vec<String> = words
        .iter()
        .filter(|word| !is_droppable(word))
        .cloned()
        .collect();
    let in_order = if kept.is_empty() { words } else { kept };
    let mut tokens = in_order.clone();
    tokens.sort_unstable();
    NormalizedName {
        original: name.to_owned(),
        in_order,
        tokens,
    }
}

/// Steps 1 and 2: folded, lower-case words in their original order.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let lower: String = name.chars().flat_map(char::to_lowercase).collect();
    for c in lower.nfkd().filter(|c| !is_combining_mark(*c)) {
        if let Some((_, folded)) = FOLDS.iter().find(|(from, _)| *from == c) {
            word.push_str(folded);
        } else if c.is_alphanumeric() {
            word.push(c);
        } else if !is_joiner(c) && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Characters deleted without separating words: apostrophes (`O'Neill`, `D’Alemán`) and
/// periods of abbreviations (`S.A.`); a period followed by a space still ends the word.
fn is_joiner(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘' | '`' | '´' | 'ʼ' | '.')
}

fn is_droppable(word: &str) -> bool {
    PARTICLES.contains(&word) || HONORIFICS.contains(&word) || COMPANY_FORMS.contains(&word)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn key(name: &str) -> String {
        normalize(name).key()
    }

    #[test]
    fn accents_case_and_punctuation_are_ignored() {
        let cases = [
            ("José Pérez", "jose perez"),
            ("JOSE PEREZ", "jose perez"),
            ("Jose\u{0301} Pe\u{0301}rez", "jose perez"),
            ("Núñez Ibáñez", "ibanez nunez"),
            ("Gómez-Ruiz", "gomez ruiz"),
            ("D'Alemán", "daleman"),
            ("D’Alemán", "daleman"),
            ("O'Neill", "oneill"),
            ("Ｊｕａｎ", "juan"),
            ("Straße", "strasse"),
            ("Łukasz Øster", "lukasz oster"),
            ("JÉRÔME KAKWAVU", "jerome kakwavu"),
            ("  many   spaces\t", "many spaces"),
        ];
        for (name, expected) in cases {
            assert_eq!(key(name), expected, "{name:?}");
        }
    }

    #[test]
    fn word_order_does_not_matter() {
        assert_eq!(
            key("RODRIGUEZ OREJUELA, Gilberto Jose"),
            key("Gilberto José Rodríguez Orejuela")
        );
    }

    #[test]
    fn particles_honorifics_and_company_forms_are_dropped() {
        let cases = [
            ("Juan M. de la Cruz", "cruz juan m"),
            ("CRUZ, Juan M. de la", "cruz juan m"),
            ("Luz Mery Buitrago de Herrera", "buitrago herrera luz mery"),
            ("Gómez y Pérez", "gomez perez"),
            ("João dos Santos da Silva", "joao santos silva"),
            ("Ludwig van der Berg", "berg ludwig"),
            ("AL-ZAWAHIRI, Dr. Ayman", "ayman zawahiri"),
            ("Sra. Doña María", "maria"),
            ("CONCRETOS CALI S.A.", "cali concretos"),
            ("ANGLO-CARIBBEAN CO., LTD.", "anglo caribbean"),
            ("Inversiones XYZ S.A.S.", "inversiones xyz"),
            ("PETROLEOS DE VENEZUELA, S.A.", "petroleos venezuela"),
        ];
        for (name, expected) in cases {
            assert_eq!(key(name), expected, "{name:?}");
        }
    }

    #[test]
    fn a_name_made_only_of_particles_keeps_its_words() {
        assert_eq!(key("De La"), "de la");
        assert_eq!(key("S.A."), "sa");
    }

    #[test]
    fn a_name_without_letters_or_digits_has_no_words() {
        assert!(normalize("").tokens().is_empty());
        assert!(normalize(" -,. ").tokens().is_empty());
    }

    #[test]
    fn other_scripts_are_kept_but_not_transliterated() {
        assert_eq!(key("長安海連技術有限公司"), "長安海連技術有限公司");
        assert_eq!(key("Владимир Путин"), "владимир путин");
        assert_eq!(key("CHON MYONG 1"), "1 chon myong");
    }

    #[test]
    fn the_original_is_kept_for_display() {
        let name = normalize("  José de la Cruz ");
        assert_eq!(name.original(), "  José de la Cruz ");
        assert_eq!(name.tokens(), ["cruz", "jose"]);
        assert_eq!(name.words_in_order(), ["jose", "cruz"]);
        assert_eq!(name.to_string(), "cruz jose");
    }
}
