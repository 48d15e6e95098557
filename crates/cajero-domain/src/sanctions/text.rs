//! Bytes of a publisher's file into text, and their digest.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// DOS's end-of-file mark, which OFAC's CSV files still end with.
const CONTROL_Z: char = '\u{1a}';

/// The file's text: UTF-8 without its byte-order mark, or, when the bytes are not UTF-8,
/// Latin-1 (every byte one character), which is what a Windows export of a Spanish name
/// usually is. OFAC documents its CSV files as ASCII, which both readings agree on.
/// Trailing control-Z marks are dropped.
pub(crate) fn decode_lenient(bytes: &[u8]) -> Cow<'_, str> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(_) => Cow::Owned(bytes.iter().map(|byte| char::from(*byte)).collect()),
    };
    match text {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim_end_matches([CONTROL_Z, '\r', '\n'])),
        Cow::Owned(text) => Cow::Owned(text.trim_end_matches([CONTROL_Z, '\r', '\n']).to_owned()),
    }
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The 1-based line of byte `offset` in `bytes`.
pub(crate) fn line_of(bytes: &[u8], offset: usize) -> u64 {
    let before = bytes.get(..offset).unwrap_or(bytes);
    before.iter().filter(|byte| **byte == b'\n').count() as u64 + 1
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_read_as_utf8_and_anything_else_as_latin1() {
        assert_eq!(decode_lenient("PEÑA".as_bytes()), "PEÑA");
        assert_eq!(decode_lenient(b"\xef\xbb\xbfPE\xc3\x91A"), "PEÑA");
        assert_eq!(decode_lenient(b"PE\xd1A"), "PEÑA");
    }

    #[test]
    fn the_dos_end_of_file_mark_is_dropped() {
        assert_eq!(decode_lenient(b"1,\"A\"\r\n\x1a"), "1,\"A\"");
        assert_eq!(decode_lenient(b"1,\"A\"\r\n"), "1,\"A\"");
    }

    #[test]
    fn the_digest_is_sha256() {
        let digest = sha256(b"abc");
        assert_eq!(digest[..4], [0xba, 0x78, 0x16, 0xbf]);
    }

    #[test]
    fn lines_are_counted_from_one() {
        assert_eq!(line_of(b"a\nb\nc", 0), 1);
        assert_eq!(line_of(b"a\nb\nc", 2), 2);
        assert_eq!(line_of(b"a\nb\nc", 4), 3);
    }
}
