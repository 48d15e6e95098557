//! A small seeded generator (SplitMix64): every random choice of a chaos run comes from the
//! run's seed, so that a failing run can be replayed with `--seed`. Statistical quality does not
//! matter here; reproducibility and independence between clients do.

/// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state, one multiply-xorshift output.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `stream` (a client, a cycle…) of the run seeded with `seed`.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[low, high]` (both included); `low` when the range is empty.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.next_u64() % (high - low + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn the_same_seed_and_stream_give_the_same_numbers() {
        let (mut a, mut b) = (Rng::new(7, 3), Rng::new(7, 3));
        let (xs, ys): (Vec<u64>, Vec<u64>) = (0..8).map(|_| (a.next_u64(), b.next_u64())).unzip();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(7, 4).next_u64(), Rng::new(7, 3).next_u64());
    }

    #[test]
    fn a_range_stays_within_its_bounds() {
        let mut rng = Rng::new(1, 0);
        assert!(
            (0..1_000)
                .map(|_| rng.range(5, 9))
                .all(|x| (5..=9).contains(&x))
        );
        assert_eq!(rng.range(4, 4), 4);
    }
}
