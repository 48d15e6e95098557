//! What cajero knows of each cash network before calling it: its name and the amounts it
//! collects and pays out. The simulator's profiles and the API's documentation take their
//! limits from here, and both pay-ins and payouts are refused up front outside them.

use std::fmt;

use crate::money::Amount;

/// The smallest and largest amount of one kind of order, in whole pesos, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountRange {
    /// Smallest.
    pub min: i64,
    /// Largest.
    pub max: i64,
}

impl AmountRange {
    /// Whether `amount` is within.
    pub fn contains(self, amount: Amount) -> bool {
        (self.min..=self.max).contains(&amount.minor())
    }
}

impl fmt::Display for AmountRange {
    /// `1,000–6,000,000 COP`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{} COP", thousands(self.min), thousands(self.max))
    }
}

/// `6000000` → `6,000,000`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One cash network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkSpec {
    /// Its code in the API (`efecty`).
    pub code: &'static str,
    /// Its name for people (`Efecty`).
    pub display_name: &'static str,
    /// What a voucher may ask for.
    pub collection: AmountRange,
    /// What a pick-up code may pay.
    pub payout: AmountRange,
}

/// Efecty (cash-networks.md: the network's own range; gateways may narrow it).
pub const EFECTY: NetworkSpec = NetworkSpec {
    code: "efecty",
    display_name: "Efecty",
    collection: AmountRange {
        min: 1_000,
        max: 6_000_000,
    },
    payout: AmountRange {
        min: 1_000,
        max: 6_000_000,
    },
};

/// SuRed (gateway-apis.md: COP 1,000–4,000,000).
pub const SURED: NetworkSpec = NetworkSpec {
    code: "sured",
    display_name: "SuRed",
    collection: AmountRange {
        min: 1_000,
        max: 4_000_000,
    },
    payout: AmountRange {
        min: 1_000,
        max: 4_000_000,
    },
};

/// Every network cajero knows.
pub const ALL: &[NetworkSpec] = &[EFECTY, SURED];

/// The network with this code.
pub fn spec(code: &str) -> Option<NetworkSpec> {
    ALL.iter().copied().find(|n| n.code == code)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ranges_include_both_ends_and_read_with_separators() {
        let r = EFECTY.collection;
        assert!(r.contains(Amount::new(1_000).unwrap()));
        assert!(r.contains(Amount::new(6_000_000).unwrap()));
        assert!(!r.contains(Amount::new(999).unwrap()));
        assert!(!r.contains(Amount::new(6_000_001).unwrap()));
        assert_eq!(r.to_string(), "1,000–6,000,000 COP");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000_000), "1,000,000,000");
        assert_eq!(spec("sured"), Some(SURED));
        assert_eq!(spec("baloto"), None);
    }
}
