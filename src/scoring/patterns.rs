//! [`Patterns`]: the distinct comparison vectors of a set of pairs with their counts — what EM
//! ([`super::em`]) and the per-block-kind training ([`super::train`]) run on.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Pairs per chunk when counting patterns in parallel.
const COUNT_CHUNK_PAIRS: usize = 1 << 16;
/// Largest code space (Π over fields of (max level + 1)) counted with a dense array.
const DENSE_MAX_CODES: usize = 1 << 16;

/// The distinct comparison vectors of a set of pairs, with how many pairs had each.
///
/// Patterns are stored in lexicographic order of their levels, so two `Patterns` built from the
/// same multiset of vectors are identical regardless of input order or thread count.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Patterns {
    n_fields: usize,
    /// `len() × n_fields` levels, pattern after pattern.
    levels: Vec<u8>,
    /// Pairs per pattern.
    counts: Vec<u64>,
}

/// Pattern counts by vector (ahash, the crate's one hasher; its order never leaks out because
/// patterns are sorted afterwards).
type HashMap<K, V> = ahash::AHashMap<K, V>;

impl Patterns {
    /// An empty set of patterns over `n_fields` fields.
    pub fn empty(n_fields: usize) -> Self {
        Patterns {
            n_fields,
            levels: Vec::new(),
            counts: Vec::new(),
        }
    }

    /// Counts the distinct comparison vectors of `levels`, a flat array of
    /// `n_pairs × n_fields` levels (pair after pair). Parallel; output in lexicographic order.
    ///
    /// # Panics
    /// If `n_fields == 0` while `levels` is not empty, or `levels.len()` is not a multiple of
    /// `n_fields`.
    pub fn from_levels(levels: &[u8], n_fields: usize) -> Self {
        if levels.is_empty() {
            return Self::empty(n_fields);
        }
        assert!(n_fields > 0, "Patterns::from_levels: n_fields must be > 0");
        assert_eq!(
            levels.len() % n_fields,
            0,
            "Patterns::from_levels: levels.len() must be a multiple of n_fields"
        );
        let chunk = COUNT_CHUNK_PAIRS * n_fields;
        // Largest level per field (element-wise max: order-independent).
        let max = levels
            .par_chunks(chunk)
            .map(|c| {
                let mut mx = vec![0u8; n_fields];
                for v in c.chunks_exact(n_fields) {
                    for (m, &l) in mx.iter_mut().zip(v) {
                        *m = (*m).max(l);
                    }
                }
                mx
            })
            .reduce(
                || vec![0u8; n_fields],
                |a, b| a.iter().zip(&b).map(|(x, y)| *x.max(y)).collect(),
            );
        // Mixed-radix code space: dense counting when small (field 0 most significant, so code
        // order is lexicographic order).
        let radix: Vec<usize> = max.iter().map(|&m| usize::from(m) + 1).collect();
        let space = radix
            .iter()
            .try_fold(1usize, |acc, &r| acc.checked_mul(r))
            .filter(|&s| s <= DENSE_MAX_CODES);
        if let Some(space) = space {
            return Self::count_dense(levels, n_fields, &radix, space);
        }
        if levels.len() <= chunk {
            return Self::count_chunk(levels, n_fields);
        }
        levels
            .par_chunks(chunk)
            .map(|c| Self::count_chunk(c, n_fields))
            .reduce(|| Self::empty(n_fields), |a, b| a.merge(&b))
    }

    /// Counts by mixed-radix code into a dense array (integer sums: order-independent).
    fn count_dense(levels: &[u8], n_fields: usize, radix: &[usize], space: usize) -> Self {
        let code = |v: &[u8]| {
            v.iter()
                .zip(radix)
                .fold(0usize, |acc, (&l, &r)| acc * r + usize::from(l))
        };
        let counts = levels
            .par_chunks(COUNT_CHUNK_PAIRS * n_fields)
            .fold(
                || vec![0u64; space],
                |mut acc, c| {
                    for v in c.chunks_exact(n_fields) {
                        acc[code(v)] += 1;
                    }
                    acc
                },
            )
            .reduce(
                || vec![0u64; space],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(&b) {
                        *x += y;
                    }
                    a
                },
            );
        let mut out = Self::empty(n_fields);
        let mut v = vec![0u8; n_fields];
        for (k, &c) in counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let mut rest = k;
            for f in (0..n_fields).rev() {
                v[f] = (rest % radix[f]) as u8;
                rest /= radix[f];
            }
            out.push(&v, c);
        }
        out
    }

    /// Builds patterns from `(vector, count)` items (e.g. read back from a report). Vectors may
    /// repeat (their counts are added) and come in any order; zero counts are dropped.
    ///
    /// # Panics
    /// If a vector does not have `n_fields` levels.
    pub fn from_counts<'a>(
        n_fields: usize,
        items: impl IntoIterator<Item = (&'a [u8], u64)>,
    ) -> Self {
        let mut map: HashMap<Vec<u8>, u64> = HashMap::default();
        for (v, c) in items {
            assert_eq!(
                v.len(),
                n_fields,
                "Patterns::from_counts: wrong vector length"
            );
            if c > 0 {
                *map.entry(v.to_vec()).or_insert(0) += c;
            }
        }
        Self::from_map(map, n_fields)
    }

    fn count_chunk(levels: &[u8], n_fields: usize) -> Self {
        let mut map: HashMap<Vec<u8>, u64> = HashMap::default();
        for v in levels.chunks_exact(n_fields) {
            match map.get_mut(v) {
                Some(c) => *c += 1,
                None => {
                    map.insert(v.to_vec(), 1);
                }
            }
        }
        Self::from_map(map, n_fields)
    }

    fn from_map(map: HashMap<Vec<u8>, u64>, n_fields: usize) -> Self {
        let mut items: Vec<(Vec<u8>, u64)> = map.into_iter().collect();
        items.sort_unstable();
        let mut out = Patterns {
            n_fields,
            levels: Vec::with_capacity(items.len() * n_fields),
            counts: Vec::with_capacity(items.len()),
        };
        for (v, c) in items {
            out.levels.extend_from_slice(&v);
            out.counts.push(c);
        }
        out
    }

    /// The union of two pattern sets (counts of equal vectors added), in lexicographic order.
    ///
    /// # Panics
    /// If the two sets have different numbers of fields (and neither is empty).
    pub fn merge(&self, other: &Patterns) -> Patterns {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        assert_eq!(
            self.n_fields, other.n_fields,
            "Patterns::merge: field counts differ"
        );
        let mut out = Patterns {
            n_fields: self.n_fields,
            levels: Vec::with_capacity(self.levels.len() + other.levels.len()),
            counts: Vec::with_capacity(self.len() + other.len()),
        };
        let (mut i, mut j) = (0, 0);
        while i < self.len() && j < other.len() {
            match self.pattern(i).cmp(other.pattern(j)) {
                std::cmp::Ordering::Less => {
                    out.push(self.pattern(i), self.counts[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(other.pattern(j), other.counts[j]);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(self.pattern(i), self.counts[i] + other.counts[j]);
                    i += 1;
                    j += 1;
                }
            }
        }
        for k in i..self.len() {
            out.push(self.pattern(k), self.counts[k]);
        }
        for k in j..other.len() {
            out.push(other.pattern(k), other.counts[k]);
        }
        out
    }

    fn push(&mut self, v: &[u8], c: u64) {
        self.levels.extend_from_slice(v);
        self.counts.push(c);
    }

    /// Number of fields per comparison vector.
    pub fn n_fields(&self) -> usize {
        self.n_fields
    }

    /// Number of distinct patterns.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when there is no pattern (no pair).
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The levels of pattern `i` (one per field).
    pub fn pattern(&self, i: usize) -> &[u8] {
        &self.levels[i * self.n_fields..(i + 1) * self.n_fields]
    }

    /// How many pairs had pattern `i`.
    pub fn count(&self, i: usize) -> u64 {
        self.counts[i]
    }

    /// Total number of pairs.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(levels, count)` for every pattern, in lexicographic order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        (0..self.len()).map(move |i| (self.pattern(i), self.counts[i]))
    }

    /// The largest level seen per field (0 when a field is always null).
    pub fn max_levels(&self) -> Vec<u8> {
        let mut mx = vec![0u8; self.n_fields];
        for (v, _) in self.iter() {
            for (m, &l) in mx.iter_mut().zip(v) {
                *m = (*m).max(l);
            }
        }
        mx
    }

    pub(super) fn check_levels(&self, n_levels: &[u8], what: &str) {
        assert!(
            self.is_empty() || self.n_fields == n_levels.len(),
            "{what}: patterns have {} fields but n_levels has {}",
            self.n_fields,
            n_levels.len()
        );
        for (f, (&seen, &max)) in self.max_levels().iter().zip(n_levels).enumerate() {
            assert!(
                seen <= max,
                "{what}: field {f} has level {seen} but only {max} levels were declared"
            );
        }
    }
}
