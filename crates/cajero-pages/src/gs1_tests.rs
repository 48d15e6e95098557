use super::*;
use jiff::civil::date;

const GLN: &str = "7709998000018";

fn payload(reference: &str, amount: i64) -> RecaudoPayload {
    recaudo_payload(GLN, reference, amount, date(2026, 11, 28)).unwrap()
}

#[test]
fn human_readable_lists_the_four_application_identifiers_in_order() {
    let p = payload("42807357", 150_000);
    assert_eq!(
        p.human_readable(),
        "(415)7709998000018(8020)42807357(3900)150000(96)20261128"
    );
    assert_eq!(p.to_string(), p.human_readable());
}

#[test]
fn fnc1_separates_only_variable_length_fields_that_are_followed() {
    // (415) has a predefined length: no separator after it. (8020) and (3900) are variable
    // and followed: a separator after each. (96) is last: none.
    let p = payload("42807357", 150_000);
    assert_eq!(
        p.element_string(),
        "4157709998000018802042807357\u{1d}3900150000\u{1d}9620261128"
    );
    assert_eq!(p.element_string().matches(GROUP_SEPARATOR).count(), 2);
}

#[test]
fn code_sets_follow_the_parity_of_each_digit_run() {
    // (reference, amount, barcoders input)
    let cases = [
        // Both runs even: code set C throughout.
        (
            "42807357",
            150_000,
            "ĆŹ4157709998000018802042807357Ź3900150000Ź9620261128",
        ),
        // Odd reference run: its last digit in code set B, back to C after the FNC1.
        (
            "428073571",
            150_000,
            "ĆŹ4157709998000018802042807357Ɓ1ŹĆ3900150000Ź9620261128",
        ),
        // Odd amount run (Kushki's example amount 10000).
        (
            "1554918376",
            10_000,
            "ĆŹ415770999800001880201554918376Ź39001000Ɓ0ŹĆ9620261128",
        ),
        // Both odd.
        ("1", 5, "ĆŹ41577099980000188020Ɓ1ŹĆ3900Ɓ5ŹĆ9620261128"),
    ];
    for (reference, amount, expected) in cases {
        let p = payload(reference, amount);
        let input = code128_input(&fnc1_runs(&p.elements()));
        assert_eq!(input, expected, "reference {reference}, amount {amount}");
        assert!(p.modules().is_ok(), "barcoders accepts {input}");
    }
}

#[test]
fn the_longest_payload_fits_gs1_128s_data_character_limit() {
    let reference = "9".repeat(REFERENCE_DIGITS_MAX);
    let amount = 999_999_999_999_999; // 15 digits: the odd-run worst case.
    for reference in [reference.as_str(), &reference[1..]] {
        let modules = payload(reference, amount).modules().unwrap();
        // start (11) + data + check (11) + stop with its final bar (13), 11 modules each.
        let data_characters = (modules.len() - 11 - 11 - 13) / 11;
        assert!(
            data_characters <= SYMBOL_DATA_CHARACTERS_MAX,
            "{data_characters} data characters"
        );
    }
}

#[test]
fn the_symbol_starts_in_code_set_c_with_fnc1_and_ends_with_the_stop_pattern() {
    let modules = payload("42807357", 150_000).modules().unwrap();
    let bits: String = modules.iter().map(|&m| if m { '1' } else { '0' }).collect();
    assert!(bits.starts_with("11010011100"), "START C");
    assert_eq!(&bits[11..22], "11110101110", "FNC1");
    assert!(bits.ends_with("1100011101011"), "STOP");
}

#[test]
fn invalid_parts_are_refused_with_a_precise_error() {
    let d = date(2026, 11, 28);
    let cases: Vec<(&str, &str, i64, Date, Gs1Error)> = vec![
        ("770999800001", "1", 1, d, Gs1Error::GlnLength { got: 12 }),
        ("77099980000180", "1", 1, d, Gs1Error::GlnLength { got: 14 }),
        ("770999800001A", "1", 1, d, Gs1Error::GlnNotDigits),
        (
            "7709998000016",
            "1",
            1,
            d,
            Gs1Error::GlnCheckDigit {
                expected: 8,
                got: 6,
            },
        ),
        (GLN, "", 1, d, Gs1Error::ReferenceEmpty),
        (GLN, "4280 7357", 1, d, Gs1Error::ReferenceNotDigits),
        (GLN, "order-1042", 1, d, Gs1Error::ReferenceNotDigits),
        (
            GLN,
            "12345678901234567890123456",
            1,
            d,
            Gs1Error::ReferenceTooLong { got: 26 },
        ),
        (GLN, "1", 0, d, Gs1Error::AmountNotPositive { got: 0 }),
        (GLN, "1", -5, d, Gs1Error::AmountNotPositive { got: -5 }),
        (
            GLN,
            "1",
            1_000_000_000_000_000,
            d,
            Gs1Error::AmountTooLarge {
                got: 1_000_000_000_000_000,
            },
        ),
        (
            GLN,
            "1",
            1,
            date(999, 1, 1),
            Gs1Error::DueDateYearOutOfRange { year: 999 },
        ),
    ];
    for (gln, reference, amount, due, expected) in cases {
        assert_eq!(
            recaudo_payload(gln, reference, amount, due),
            Err(expected),
            "{gln} {reference} {amount} {due}"
        );
    }
}

#[test]
fn gln_check_digits_match_known_valid_glns() {
    for gln in ["7709998000018", "7709998111110", "7709998222229"] {
        assert!(check_gln(gln).is_ok(), "{gln}");
    }
}

#[test]
fn the_human_readable_form_parses_back() {
    let text = "(415)7709998000018(8020)42807357(3900)150000(96)20261128";
    let p: RecaudoPayload = text.parse().unwrap();
    assert_eq!(p, payload("42807357", 150_000));
}

#[test]
fn malformed_human_readable_text_is_refused() {
    let cases = [
        (
            "(415)7709998000018(3900)150000(96)20261128",
            Gs1Error::UnexpectedText {
                expected: "8020",
                at: 18,
            },
        ),
        (
            "415 7709998000018",
            Gs1Error::UnexpectedText {
                expected: "415",
                at: 0,
            },
        ),
        (
            "(415)7709998000018(8020)1(3900)1(96)20261128(97)1",
            Gs1Error::UnexpectedText {
                expected: "end",
                at: 44,
            },
        ),
        (
            "(415)7709998000018(8020)1(3900)1.5(96)20261128",
            Gs1Error::BadNumber {
                ai: "3900",
                value: "1.5".into(),
            },
        ),
        (
            "(415)7709998000018(8020)1(3900)99999999999999999999(96)20261128",
            Gs1Error::BadNumber {
                ai: "3900",
                value: "99999999999999999999".into(),
            },
        ),
        (
            "(415)7709998000018(8020)1(3900)1(96)20260230",
            Gs1Error::BadDueDate {
                value: "20260230".into(),
            },
        ),
        (
            "(415)7709998000018(8020)1(3900)1(96)2026113",
            Gs1Error::BadDueDate {
                value: "2026113".into(),
            },
        ),
        (
            "(415)7709998000016(8020)1(3900)1(96)20261130",
            Gs1Error::GlnCheckDigit {
                expected: 8,
                got: 6,
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(text.parse::<RecaudoPayload>(), Err(expected), "{text}");
    }
}

#[test]
fn the_svg_has_quiet_zones_and_an_accessible_name() {
    let p = payload("42807357", 150_000);
    let svg = barcode_svg(&p).unwrap();
    let width = p.modules().unwrap().len() as u32 + 2 * QUIET_ZONE_MODULES;
    assert!(svg.contains(&format!(r#"viewBox="0 0 {width} {BAR_HEIGHT_MODULES}""#)));
    assert!(svg.contains(r#"role="img""#));
    assert!(svg.contains(&p.human_readable()));
    // The first bar starts right after the left quiet zone.
    assert!(svg.contains(&format!(r#"<rect x="{QUIET_ZONE_MODULES}" y="0""#)));
}
