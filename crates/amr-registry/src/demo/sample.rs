//! Sampling built directly on the ChaCha20 word stream.
//!
//! Only `ChaCha20Rng::next_u64` is used: every distribution below (uniform integers by
//! multiply-and-reject, weighted choice by cumulative integer weights, chances in parts per 10,000) is
//! implemented here with integer arithmetic, so neither a new release of `rand` nor the
//! floating-point library of a machine can change the generated province. Changing anything
//! here changes the output: bump [`super::GENERATOR_VERSION`].

use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// A ChaCha20 stream with the sampling primitives of the generator.
pub(crate) struct Sampler {
    rng: ChaCha20Rng,
}

impl Sampler {
    /// The stream for `(seed, stream)`: the 256-bit key is the seed in little-endian order
    /// followed by zeros, and the ChaCha stream number selects one independent stream
    /// (the generator uses the county code).
    pub(crate) fn new(seed: u64, stream: u64) -> Sampler {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        let mut rng = ChaCha20Rng::from_seed(key);
        rng.set_stream(stream);
        Sampler { rng }
    }

    /// The next raw 64-bit word.
    #[inline]
    pub(crate) fn word(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A uniform integer in `0..n` (`n > 0`), by Lemire's multiply-and-reject method: the
    /// high half of `word × n`, drawing again when the low half falls in the biased zone
    /// (below `2^64 mod n`), so every value is exactly equally likely.
    #[inline]
    pub(crate) fn uniform(&mut self, n: u64) -> u64 {
        assert!(n > 0, "uniform(0)");
        let mut m = u128::from(self.word()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.word()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }

    /// A uniform index into a slice of length `len`.
    #[inline]
    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.uniform(len as u64) as usize
    }

    /// A uniform integer in `lo..=hi`.
    #[inline]
    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.uniform(hi - lo + 1)
    }

    /// True with probability `per_10000 / 10000`.
    #[inline]
    pub(crate) fn chance(&mut self, per_10000: u64) -> bool {
        self.uniform(10_000) < per_10000
    }

    /// A uniformly chosen element.
    #[inline]
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }
}

/// Integer weights prepared for weighted choice: `cumulative[i]` is the sum of the weights
/// of items `0..=i`; an item of weight 0 is never chosen.
#[derive(Debug, Clone)]
pub(crate) struct Weights {
    cumulative: Vec<u64>,
}

impl Weights {
    /// Prepares the weights; `None` if they are empty or all zero.
    pub(crate) fn new(weights: impl IntoIterator<Item = u64>) -> Option<Weights> {
        let mut total = 0u64;
        let cumulative: Vec<u64> = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        (total > 0).then_some(Weights { cumulative })
    }

    /// The sum of all weights.
    pub(crate) fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// The index of a chosen item: draws `r` uniform in `0..total` and returns the first
    /// item whose cumulative weight exceeds `r`.
    #[inline]
    pub(crate) fn choose(&self, s: &mut Sampler) -> usize {
        let r = s.uniform(self.total());
        self.cumulative.partition_point(|&c| c <= r)
    }
}

/// The index of an item chosen by the weights `weight(item)` (linear scan; for short
/// tables).
pub(crate) fn choose_by<T>(s: &mut Sampler, items: &[T], weight: impl Fn(&T) -> u32) -> usize {
    let total: u64 = items.iter().map(|x| u64::from(weight(x))).sum();
    let mut r = s.uniform(total);
    for (i, x) in items.iter().enumerate() {
        let w = u64::from(weight(x));
        if r < w {
            return i;
        }
        r -= w;
    }
    unreachable!("r < total")
}

/// Chooses from a const table of `(item, weight)` pairs.
pub(crate) fn choose_pair<T: Copy>(s: &mut Sampler, table: &[(T, u32)]) -> T {
    table[choose_by(s, table, |&(_, w)| w)].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_covers_the_range_and_stays_in_it() {
        let mut s = Sampler::new(1, 0);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            seen[s.uniform(7) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
        assert_eq!(Sampler::new(1, 0).uniform(1), 0);
        let mut s = Sampler::new(2, 0);
        assert!((0..1000).all(|_| s.uniform(u64::MAX) < u64::MAX));
    }

    #[test]
    fn weighted_choice_follows_the_weights_and_skips_zero() {
        let w = Weights::new([1, 0, 3]).expect("non-zero");
        let mut s = Sampler::new(3, 9);
        let mut seen = [0u32; 3];
        for _ in 0..4000 {
            seen[w.choose(&mut s)] += 1;
        }
        assert_eq!(seen[1], 0);
        assert!((850..1150).contains(&seen[0]), "{seen:?}");
        assert!(Weights::new([0, 0]).is_none());
        assert_eq!(choose_pair(&mut s, &[("a", 0), ("b", 5)]), "b");
    }

    #[test]
    fn streams_are_fixed_by_seed_and_stream_number() {
        let a: Vec<u64> = (0..4).map(|_| Sampler::new(37, 370102).word()).collect();
        let mut s = Sampler::new(37, 370102);
        let b: Vec<u64> = (0..4).map(|_| s.word()).collect();
        assert_eq!(a[0], b[0]);
        assert_ne!(b[0], Sampler::new(37, 370103).word());
        assert_ne!(b[0], Sampler::new(38, 370102).word());
    }
}
