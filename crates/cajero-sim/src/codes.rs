//! Codes the network prints: payment and pick-up codes, their display form, the GS1-128
//! barcode data of a voucher, and EAN-13 check digits.

use cajero_domain::Amount;
use cajero_domain::calendar::bogota_date;
use jiff::Timestamp;
use rand::RngExt;

/// A random code of `digits` digits whose first digit is not zero (cashiers drop leading
/// zeros when they type).
pub fn random_code<R: rand::Rng>(rng: &mut R, digits: u8) -> String {
    let mut code = String::with_capacity(usize::from(digits));
    for i in 0..digits {
        let low = if i == 0 { 1 } else { 0 };
        let digit: u8 = rng.random_range(low..=9);
        code.push(char::from(b'0' + digit));
    }
    code
}

/// Groups of four for reading aloud: `42807357` → `4280 7357`, `5821093744` → `5821 0937 44`.
pub fn display(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + code.len() / 4);
    for (i, c) in code.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Recaudo GS1-128 data in human-readable form: (415) GLN, (8020) reference, (3900) amount
/// in pesos, (96) due date `YYYYMMDD` in Bogotá time.
pub fn gs1_128_data(gln: &str, code: &str, amount: Amount, expires_at: Timestamp) -> String {
    let due = bogota_date(expires_at);
    format!(
        "(415){gln}(8020){code}(3900){}(96){:04}{:02}{:02}",
        amount.minor(),
        due.year(),
        due.month(),
        due.day()
    )
}

/// EAN-13 / GLN check digit of 12 digits (weights 1, 3 from the left). Non-digits count 0.
pub fn ean13_check_digit(twelve: &str) -> u32 {
    let sum: u32 = twelve
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap_or(0) * if i % 2 == 1 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10
}

/// Digits and letters only, upper case: how a cashier's typed document is compared.
pub fn normalize_document_number(input: &str) -> String {
    input
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn codes_are_grouped_by_four() {
        assert_eq!(display("42807357"), "4280 7357");
        assert_eq!(display("5821093744"), "5821 0937 44");
    }

    #[test]
    fn random_codes_have_the_requested_digits_and_no_leading_zero() {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
        for _ in 0..1000 {
            let code = random_code(&mut rng, 8);
            assert_eq!(code.len(), 8);
            assert!(!code.starts_with('0'));
        }
    }

    #[test]
    fn gs1_data_follows_the_recaudo_layout() {
        let at: Timestamp = "2026-11-29T03:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let amount = Amount::new(150_000).unwrap_or(Amount::ZERO);
        // 03:00 UTC is 22:00 the day before in Bogotá.
        assert_eq!(
            gs1_128_data("7709998000018", "42807357", amount, at),
            "(415)7709998000018(8020)42807357(3900)150000(96)20261128"
        );
    }

    #[test]
    fn ean13_check_digits_match_known_codes() {
        assert_eq!(ean13_check_digit("770999888848"), 7);
        assert_eq!(ean13_check_digit("770999800001"), 8);
    }

    #[test]
    fn typed_documents_are_compared_without_dots_and_dashes() {
        assert_eq!(normalize_document_number("79.876.543"), "79876543");
        assert_eq!(normalize_document_number("900123456-8"), "9001234568");
    }
}
