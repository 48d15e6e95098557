//! How network evidence is stored: compressed, with the encoding named on every row.
//!
//! A network exchange is a request and its response, a few hundred bytes to a few KiB of
//! headers and JSON, kept for 13 months: the largest thing cajero keeps per order. Both go into
//! one zstd frame (a response repeats much of its request, so one frame compresses better than
//! two), as `request length (u32, little-endian) ‖ request ‖ response`.
//!
//! Exchanges are small, and zstd alone finds little to reuse inside one (≈ 2× on the
//! simulator's). So frames are compressed against a dictionary: raw content, one typical
//! exchange of each kind (`evidence_dictionary_v1.bin`: a payout and a collection created, and
//! their callbacks, with neutral values), from which zstd copies header names, JSON keys and
//! their order (≈ 7× on the simulator's exchanges; a network whose messages look different
//! gains less, never loses more than a few bytes).
//!
//! Each row names its encoding, so every row ever written stays readable: `plain` (the text in
//! the `request` and `response` columns, rows from before compression), `zstd` (no dictionary)
//! and `zstd_d1` (dictionary v1, what is written now). **A dictionary never changes once rows
//! use it**: a better one is a new file and a new encoding (`zstd_d2`) beside it; a test pins
//! v1's digest. An encoding this code does not know is a corrupt row, never a guess.

use std::cell::RefCell;
use std::io::Read as _;

use crate::StoreError;

/// How a stored exchange is encoded (the `network_messages.encoding` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Text in the `request` and `response` columns (rows written before compression).
    Plain,
    /// One zstd frame in `packed`, without a dictionary; `request` and `response` are empty.
    Zstd,
    /// One zstd frame in `packed` against [`DICTIONARY_V1`]; `request` and `response` are
    /// empty. What [`pack`] writes.
    ZstdDictionaryV1,
}

impl Encoding {
    /// The encoding [`pack`] writes.
    pub const CURRENT: Encoding = Encoding::ZstdDictionaryV1;

    /// The column's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Plain => "plain",
            Encoding::Zstd => "zstd",
            Encoding::ZstdDictionaryV1 => "zstd_d1",
        }
    }

    /// The encoding a column's value names.
    pub fn parse(value: &str) -> Option<Encoding> {
        match value {
            "plain" => Some(Encoding::Plain),
            "zstd" => Some(Encoding::Zstd),
            "zstd_d1" => Some(Encoding::ZstdDictionaryV1),
            _ => None,
        }
    }

    /// The dictionary its frames are compressed against (empty: none).
    fn dictionary(self) -> &'static [u8] {
        match self {
            Encoding::Plain | Encoding::Zstd => &[],
            Encoding::ZstdDictionaryV1 => DICTIONARY_V1,
        }
    }
}

/// Dictionary v1 (raw content; see the module doc). Never edit it: rows depend on its bytes.
pub const DICTIONARY_V1: &[u8] = include_bytes!("evidence_dictionary_v1.bin");

/// zstd's default level: on bodies of a few KiB the higher levels gain a few percent for
/// several times the CPU, and this runs on the write path.
const LEVEL: i32 = zstd::DEFAULT_COMPRESSION_LEVEL;

/// Bytes of the request's length prefix.
const LENGTH_BYTES: usize = 4;

thread_local! {
    /// One compression context per thread, reused: making one allocates and initialises
    /// hundreds of KiB, more than compressing an exchange costs.
    /// The dictionary is loaded into it once, too.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

fn corrupt(detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table: "network_messages",
        detail: detail.into(),
    }
}

/// Packs a request and its response into one compressed frame, in [`Encoding::CURRENT`].
pub fn pack(request: &str, response: &str) -> Result<Vec<u8>, StoreError> {
    let length = u32::try_from(request.len())
        .map_err(|_| corrupt(format!("a request of {} bytes", request.len())))?;
    let mut raw = Vec::with_capacity(LENGTH_BYTES + request.len() + response.len());
    raw.extend_from_slice(&length.to_le_bytes());
    raw.extend_from_slice(request.as_bytes());
    raw.extend_from_slice(response.as_bytes());
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(compressor) => compressor,
            None => slot.insert(
                zstd::bulk::Compressor::with_dictionary(LEVEL, Encoding::CURRENT.dictionary())
                    .map_err(|e| corrupt(format!("zstd context: {e}")))?,
            ),
        };
        compressor
            .compress(&raw)
            .map_err(|e| corrupt(format!("zstd compression: {e}")))
    })
}

/// The request and response of a stored row, whatever its encoding: `request` and `response`
/// are the row's text columns, `packed` its compressed column.
pub fn unpack(
    encoding: &str,
    request: String,
    response: String,
    packed: Option<&[u8]>,
) -> Result<(String, String), StoreError> {
    match Encoding::parse(encoding) {
        Some(Encoding::Plain) => Ok((request, response)),
        Some(encoding @ (Encoding::Zstd | Encoding::ZstdDictionaryV1)) => {
            let packed = packed.ok_or_else(|| corrupt("a zstd row without its packed bytes"))?;
            let mut raw = Vec::new();
            zstd::stream::read::Decoder::with_dictionary(packed, encoding.dictionary())
                .and_then(|mut decoder| decoder.read_to_end(&mut raw))
                .map_err(|e| corrupt(format!("zstd decompression: {e}")))?;
            split(raw)
        }
        None => Err(corrupt(format!("unknown encoding {encoding:?}"))),
    }
}

/// Splits `length ‖ request ‖ response` into its two texts.
fn split(raw: Vec<u8>) -> Result<(String, String), StoreError> {
    let (prefix, rest) = raw
        .split_first_chunk::<LENGTH_BYTES>()
        .ok_or_else(|| corrupt("a packed exchange shorter than its length prefix"))?;
    let length = usize::try_from(u32::from_le_bytes(*prefix))
        .map_err(|_| corrupt("a request length beyond this platform"))?;
    if length > rest.len() {
        return Err(corrupt(format!(
            "a request of {length} bytes in a packed exchange of {}",
            rest.len()
        )));
    }
    let (request, response) = rest.split_at(length);
    let text = |bytes: &[u8]| {
        String::from_utf8(bytes.to_vec()).map_err(|e| corrupt(format!("not UTF-8: {e}")))
    };
    Ok((text(request)?, text(response)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_round_trips_through_its_packed_form() {
        let request = "POST /v1/payouts\ncontent-type: application/json\n\n{\"amount\": 200000, \
                       \"reference\": \"po_01\", \"beneficiary\": {\"name\": \"Luis Pérez\"}}";
        let response = "201\n{\"id\": \"ord_9\", \"reference\": \"po_01\", \"status\": \
                        \"available\", \"beneficiary\": {\"name\": \"Luis Pérez\"}}";
        let packed = pack(request, response).unwrap_or_default();
        assert!(
            packed.len() < request.len() + response.len(),
            "{}",
            packed.len()
        );
        let back = unpack("zstd_d1", String::new(), String::new(), Some(&packed));
        assert_eq!(back.ok(), Some((request.to_string(), response.to_string())));
        // Its dictionary is part of its encoding: without it, the frame does not read.
        let without = unpack("zstd", String::new(), String::new(), Some(&packed));
        assert!(matches!(without, Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn empty_texts_and_plain_rows_read_back_as_stored() {
        let packed = pack("", "").unwrap_or_default();
        let back = unpack("zstd_d1", String::new(), String::new(), Some(&packed)).ok();
        assert_eq!(back, Some((String::new(), String::new())));
        // A frame without a dictionary (encoding `zstd`).
        let mut raw = 3u32.to_le_bytes().to_vec();
        raw.extend_from_slice(b"reqresp");
        let frame = zstd::bulk::compress(&raw, LEVEL).unwrap_or_default();
        let back = unpack("zstd", String::new(), String::new(), Some(&frame)).ok();
        assert_eq!(back, Some(("req".to_string(), "resp".to_string())));
        let plain = unpack("plain", "req".into(), "resp".into(), None).ok();
        assert_eq!(plain, Some(("req".to_string(), "resp".to_string())));
    }

    #[test]
    fn damaged_or_unknown_rows_are_corrupt_not_guessed() {
        let bad = [
            unpack("zstd", String::new(), String::new(), None),
            unpack("zstd", String::new(), String::new(), Some(b"not zstd")),
            unpack("brotli", "a".into(), "b".into(), None),
        ];
        for result in bad {
            assert!(
                matches!(result, Err(StoreError::Corrupt { .. })),
                "{result:?}"
            );
        }
        // A frame whose length prefix overruns its content.
        let mut raw = 100u32.to_le_bytes().to_vec();
        raw.extend_from_slice(b"short");
        let frame = zstd::bulk::compress(&raw, LEVEL).unwrap_or_default();
        let result = unpack("zstd", String::new(), String::new(), Some(&frame));
        assert!(
            matches!(result, Err(StoreError::Corrupt { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn dictionary_v1_never_changes() {
        use sha2::{Digest, Sha256};
        let digest: String = Sha256::digest(DICTIONARY_V1)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            "0673bed4e466183d1c56a7061440ebc666faa81d77f2e01d2d94fd05c59ec42c"
        );
    }
}
