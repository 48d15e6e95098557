//! The pure rules of cajero.
//!
//! Everything here is deterministic: no I/O, no async, no clock reads and no randomness.
//! Time and random bytes come in as arguments, so every rule can be tested exhaustively and
//! the simulator can move time. The other crates carry data in and out of these types.

pub mod asobancaria;
pub mod calendar;
pub mod dane;
pub mod document;
pub mod id;
pub mod kyc;
pub mod ledger;
pub mod lifecycle;
pub mod merchant;
pub mod money;
pub mod name;
pub mod network;
pub mod phone;
pub mod privacy;
pub mod reconcile;
pub mod risk;
pub mod sanctions;
pub mod uiaf;
pub mod webhook;

/// A character of the input, as a message shows it to a person: `'O'`, or its code point
/// (`U+0013`) when it would not show (control characters, spaces other than the plain one,
/// marks on their own) — never Rust's `'\u{13}'`.
pub fn shown_char(c: &char) -> String {
    let c = *c;
    if c.is_control() || (c.is_whitespace() && c != ' ') || ('\u{0300}'..='\u{036F}').contains(&c) {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("'{c}'")
    }
}

pub use document::{Document, DocumentType};
pub use id::{Id, IdKind};
pub use merchant::{MerchantStatus, Mode};
pub use money::{Amount, Currency, Money};
pub use name::PersonName;
pub use phone::PhoneNumber;

/// Text from the input, quoted for a message the way JSON writes it (`"abc"`, `"a\u0013"`),
/// so that an API client reads its own syntax back — not Rust's `{:?}` (`"a\u{13}"`).
pub fn shown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn characters_are_shown_quoted_or_as_code_points() {
        assert_eq!(super::shown_char(&'O'), "'O'");
        assert_eq!(super::shown_char(&'ñ'), "'ñ'");
        assert_eq!(super::shown_char(&'\u{13}'), "U+0013");
        assert_eq!(super::shown_char(&'\u{a0}'), "U+00A0");
        assert_eq!(super::shown_text("a\u{13}\"b\\"), r#""a\u0013\"b\\""#);
    }
}
