//! Sanctions screening against a small list in the publishers' own formats
//! (`fixtures/sanctions`: OFAC's `sdn.csv` and `alt.csv`, the UN's consolidated XML), and the
//! precision and recall of the default threshold on a labelled set of name pairs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// In a module of that name so that `cargo test -p cajero-domain sanctions` runs these too.
mod sanctions {
    use std::path::PathBuf;

    use cajero_domain::sanctions::{
        DEFAULT_THRESHOLD, Entry, EntryKind, List, ListVersion, PairKind, SCREEN_NAME_CHARS_MAX,
        Score, ScreenError, Source, SourceList, ofac, un,
    };

    fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sanctions")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn fixture_list() -> List {
        let ofac = ofac::parse(&fixture("sdn.csv"), &fixture("alt.csv"), None).unwrap();
        let un = un::parse(&fixture("consolidated.xml")).unwrap();
        List::new([ofac, un])
    }

    /// The (source, uid) of every entry `name` hits at the default threshold.
    fn hits(list: &List, name: &str) -> Vec<(Source, String)> {
        list.screen(name, DEFAULT_THRESHOLD)
            .unwrap()
            .iter()
            .map(|hit| (hit.entry.source, hit.entry.uid.clone()))
            .collect()
    }

    fn ofac_hit(uid: &str) -> Vec<(Source, String)> {
        vec![(Source::Ofac, uid.to_owned())]
    }

    #[test]
    fn the_fixture_files_parse_into_one_list() {
        let list = fixture_list();
        assert_eq!(list.len(), 37);
        let gilberto = list.entries().iter().find(|e| e.uid == "4107").unwrap();
        assert_eq!(gilberto.names, ["Gilberto Jose RODRIGUEZ OREJUELA"]);
        assert_eq!(gilberto.kind, EntryKind::Individual);
        let label = list.version_label();
        assert!(
            label.starts_with("ofac published=unknown sdn.csv=sha256:"),
            "{label}"
        );
        assert!(
            label.contains("; un published=2026-02-27T00:00:09.554Z consolidated.xml=sha256:"),
            "{label}"
        );
    }

    #[test]
    fn every_listed_name_finds_its_own_entry_with_a_perfect_score() {
        let list = fixture_list();
        for entry in list.entries() {
            for name in &entry.names {
                let found = list.screen(name, Score::MAX).unwrap();
                assert!(
                    found
                        .iter()
                        .any(|h| h.entry.uid == entry.uid && h.score == Score::MAX),
                    "{name:?} of {}:{}",
                    entry.source,
                    entry.uid
                );
            }
        }
    }

    #[test]
    fn exact_reordered_accented_and_misspelt_names_hit() {
        let list = fixture_list();
        let cases = [
            ("RODRIGUEZ OREJUELA, Gilberto Jose", "4107"),
            ("Jose Gilberto Orejuela Rodriguez", "4107"),
            ("Gilberto José Rodríguez Orejuela", "4107"),
            ("Gilverto Jose Rodrigez Orejuela", "4107"),
            ("Gilberto Rodríguez Orejuela", "4107"),
            ("José Santacruz Londoño", "4109"),
            ("Jose Santa Cruz Londono", "4109"),
            ("Inversiones El Peñón S.A.", "4364"),
            ("Ayman al-Zawahiri", "2676"),
            ("Nicolás Maduro Moros", "90002"),
        ];
        for (name, uid) in cases {
            assert_eq!(hits(&list, name), ofac_hit(uid), "{name}");
        }
    }

    #[test]
    fn unrelated_common_names_do_not_hit() {
        let list = fixture_list();
        for name in [
            "Juan Pérez",
            "María Rodríguez",
            "Carlos Andrés Gómez Restrepo",
            "Miguel Ángel Rodríguez Pérez",
            "Wang Wei",
            "Zheng Wei",
            "José Gregorio Hernández",
            "Banco de Bogotá",
        ] {
            assert_eq!(hits(&list, name), [], "{name}");
        }
    }

    #[test]
    fn a_shared_given_name_or_surname_is_not_enough() {
        let list = List::new([source(&[
            ("1", &["Juan Pablo ESCOBAR GAVIRIA"]),
            ("2", &["María GÓMEZ"]),
        ])]);
        assert_eq!(hits(&list, "Juan Pérez"), []);
        assert_eq!(hits(&list, "María Rodríguez"), []);
        assert_eq!(hits(&list, "Juan Escobar"), []);
        assert_eq!(hits(&list, "Juan Pablo Escobar"), ofac_hit("1"));
    }

    #[test]
    fn a_hit_shows_the_entry_the_name_that_matched_and_why() {
        let list = fixture_list();
        let found = list
            .screen("Raphael Caro Kintero", DEFAULT_THRESHOLD)
            .unwrap();
        assert_eq!(found.len(), 1);
        let hit = &found[0];
        assert_eq!(hit.entry.uid, "6707");
        assert_eq!(hit.entry.programs, ["SDNTK"]);
        assert_eq!(hit.matched_name, "Raphael CARO QUINTERO");
        // (1 + 1 + (1 − 2/8)) / 3 on both sides.
        assert_eq!(hit.score.basis_points(), 9_166);
        assert_eq!(
            hit.reason.to_string(),
            "3 pairs between the screened 3 words and the listed 3: raphael=raphael, caro=caro, \
             kintero~quintero (2 edits)"
        );
    }

    #[test]
    fn neighbouring_words_pair_with_one_word_joined() {
        let list = fixture_list();
        let found = list.screen("Zheng Fu Jing", DEFAULT_THRESHOLD).unwrap();
        assert_eq!(found[0].entry.uid, "90006");
        assert_eq!(found[0].score, Score::MAX);
        let pair = &found[0].reason.pairs[1];
        assert_eq!(
            (pair.screened.as_str(), pair.listed.as_str()),
            ("fu jing", "fujing")
        );
        let listed_split = List::new([source(&[("1", &["Jose SANTA CRUZ"])])]);
        assert_eq!(hits(&listed_split, "José Santacruz"), ofac_hit("1"));
    }

    #[test]
    fn an_initial_pairs_with_the_name_it_begins() {
        let list = fixture_list();
        let found = list
            .screen("Juan Manuel de la Cruz", DEFAULT_THRESHOLD)
            .unwrap();
        assert_eq!(found[0].entry.uid, "587");
        assert!(
            found[0]
                .reason
                .pairs
                .iter()
                .any(|p| p.kind == PairKind::Initial && p.screened == "manuel" && p.listed == "m")
        );
    }

    #[test]
    fn hits_come_best_first_and_one_per_entry() {
        let list = fixture_list();
        let found = list
            .screen(
                "Rodriguez Orejuela",
                Score::from_basis_points(5_000).unwrap(),
            )
            .unwrap();
        let uids: Vec<&str> = found.iter().map(|h| h.entry.uid.as_str()).collect();
        assert_eq!(uids, ["4107", "4108"]);
        assert!(found[0].score >= found[1].score);
        let osama = list.screen("Osama bin Laden", DEFAULT_THRESHOLD).unwrap();
        assert_eq!(osama.len(), 1);
        assert_eq!(osama[0].matched_name, "Osama BIN LADEN");
    }

    #[test]
    fn names_that_cannot_be_screened_are_refused() {
        let list = fixture_list();
        let long = "a".repeat(SCREEN_NAME_CHARS_MAX + 1);
        assert_eq!(
            list.screen(&long, DEFAULT_THRESHOLD),
            Err(ScreenError::TooLong {
                max: SCREEN_NAME_CHARS_MAX,
                got: SCREEN_NAME_CHARS_MAX + 1
            })
        );
        let many = "ab ".repeat(33);
        assert_eq!(
            list.screen(&many, DEFAULT_THRESHOLD),
            Err(ScreenError::TooManyWords { max: 32, got: 33 })
        );
        assert_eq!(
            list.screen(" .,- ", DEFAULT_THRESHOLD),
            Err(ScreenError::NoWords)
        );
        assert_eq!(ScreenError::NoWords.code(), "screen_name_empty");
    }

    /// Counts over the labelled pairs: a pair expected to hit is a true positive when its entry
    /// is among the hits (a miss otherwise); every other entry hit is a false positive.
    #[derive(Debug, Default)]
    struct Confusion {
        true_positives: u32,
        false_positives: u32,
        false_negatives: u32,
        mistakes: Vec<String>,
    }

    #[test]
    fn precision_and_recall_on_the_labelled_pairs_are_at_least_95_percent() {
        let list = fixture_list();
        let labelled = fixture("labelled_pairs.csv");
        let mut reader = csv::Reader::from_reader(labelled.as_slice());
        let mut confusion = Confusion::default();
        let mut pairs = 0;
        for record in reader.records() {
            let record = record.unwrap();
            let (query, source, uid, expected) = (&record[0], &record[1], &record[2], &record[3]);
            pairs += 1;
            let found = list.screen(query, DEFAULT_THRESHOLD).unwrap();
            let wanted = |hit: &&cajero_domain::sanctions::Hit<'_>| {
                expected == "hit" && hit.entry.source.code() == source && hit.entry.uid == uid
            };
            if expected == "hit" {
                if found.iter().any(|h| wanted(&h)) {
                    confusion.true_positives += 1;
                } else {
                    confusion.false_negatives += 1;
                    confusion
                        .mistakes
                        .push(format!("missed {source}:{uid} for {query:?}"));
                }
            }
            for hit in found.iter().filter(|h| !wanted(h)) {
                confusion.false_positives += 1;
                confusion.mistakes.push(format!(
                    "{query:?} hit {}:{} ({:?}, {}): {}",
                    hit.entry.source, hit.entry.uid, hit.matched_name, hit.score, hit.reason
                ));
            }
        }
        let Confusion {
            true_positives: tp,
            false_positives: fp,
            false_negatives: fn_,
            ..
        } = confusion;
        let precision = f64::from(tp) / f64::from(tp + fp);
        let recall = f64::from(tp) / f64::from(tp + fn_);
        println!(
            "sanctions screening at {DEFAULT_THRESHOLD} on {pairs} labelled pairs: \
             precision {precision:.4} ({tp} of {} hits right), recall {recall:.4} ({tp} of {} \
             expected hits found)",
            tp + fp,
            tp + fn_
        );
        for mistake in &confusion.mistakes {
            println!("  {mistake}");
        }
        assert!(pairs >= 200, "the labelled set has {pairs} pairs");
        assert!(precision >= 0.95, "precision {precision:.4} is below 0.95");
        assert!(recall >= 0.95, "recall {recall:.4} is below 0.95");
    }

    /// An OFAC list of individuals from `(uid, names)`.
    fn source(entries: &[(&str, &[&str])]) -> SourceList {
        SourceList {
            version: ListVersion {
                source: Source::Ofac,
                published: None,
                files: vec![],
            },
            entries: entries
                .iter()
                .map(|(uid, names)| Entry {
                    uid: (*uid).to_owned(),
                    source: Source::Ofac,
                    kind: EntryKind::Individual,
                    names: names.iter().map(|n| (*n).to_owned()).collect(),
                    programs: vec![],
                    reference: None,
                    remarks: None,
                })
                .collect(),
        }
    }
}
