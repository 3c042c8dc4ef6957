//! [`FilterMatrix`]: the filters of one field for N records, contiguous, popcounts
//! precomputed.

/// All filters of one field for N records, contiguous, with popcounts precomputed.
///
/// A missing (null) filter is stored as all-zero words with count 0 and flagged; every comparison
/// with it gives `None` (or is never above a threshold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterMatrix {
    pub(super) words: usize,
    pub(super) data: Vec<u64>,
    pub(super) counts: Vec<u32>,
    pub(super) missing: Vec<bool>,
}

impl FilterMatrix {
    /// An empty matrix of filters of `words` u64 (`64 · words` bits).
    ///
    /// # Panics
    /// Unless `words` is a power of two (so filter bits are a power of two ≥ 64) and at most
    /// 2^16 (4 M bits).
    pub fn new(words: usize) -> Self {
        Self::with_capacity(words, 0)
    }

    /// An empty matrix with room for `rows` filters.
    ///
    /// # Panics
    /// As [`FilterMatrix::new`].
    pub fn with_capacity(words: usize, rows: usize) -> Self {
        assert!(
            words.is_power_of_two() && words <= 1 << 16,
            "filter length must be a power of two between 64 and 2^22 bits, got {words} words"
        );
        FilterMatrix {
            words,
            data: Vec::with_capacity(rows * words),
            counts: Vec::with_capacity(rows),
            missing: Vec::with_capacity(rows),
        }
    }

    /// A matrix of present filters from their words, `words` per filter, one after the other.
    ///
    /// # Panics
    /// As [`FilterMatrix::new`], or when `data.len()` is not a multiple of `words`.
    pub fn from_words(words: usize, data: Vec<u64>) -> Self {
        let mut m = Self::with_capacity(words, 0);
        assert!(
            data.len().is_multiple_of(words),
            "{} words is not a whole number of {words}-word filters",
            data.len()
        );
        m.counts = data.chunks_exact(words).map(popcount_words).collect();
        m.missing = vec![false; m.counts.len()];
        m.data = data;
        m
    }

    /// Appends a filter from its little-endian bytes: bit `i` of the filter is bit `i % 8` of byte
    /// `i / 8` (the FixedSizeBinary column layout).
    ///
    /// # Panics
    /// When `bytes.len() != 8 · words`.
    pub fn push(&mut self, bytes: &[u8]) {
        assert_eq!(
            bytes.len(),
            self.words * 8,
            "filter of {} bytes in a matrix of {}-byte filters",
            bytes.len(),
            self.words * 8
        );
        let start = self.data.len();
        self.data.extend(
            bytes
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))),
        );
        self.counts.push(popcount_words(&self.data[start..]));
        self.missing.push(false);
    }

    /// Appends a filter from its words (bit `i` is bit `i % 64` of word `i / 64`).
    ///
    /// # Panics
    /// When `words.len()` differs from the matrix's filter length.
    pub fn push_words(&mut self, words: &[u64]) {
        assert_eq!(words.len(), self.words, "filter length mismatch");
        self.data.extend_from_slice(words);
        self.counts.push(popcount_words(words));
        self.missing.push(false);
    }

    /// Appends a missing (null) filter.
    pub fn push_missing(&mut self) {
        self.data.resize(self.data.len() + self.words, 0);
        self.counts.push(0);
        self.missing.push(true);
    }

    /// u64 words per filter.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Bits per filter.
    pub fn bits(&self) -> usize {
        self.words * 64
    }

    /// Number of filters (records), missing ones included.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether the matrix holds no filter.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The words of filter `i` (all zero when missing).
    pub fn row(&self, i: usize) -> &[u64] {
        &self.data[i * self.words..(i + 1) * self.words]
    }

    /// The popcount of filter `i` (0 when missing).
    pub fn count(&self, i: usize) -> u32 {
        self.counts[i]
    }

    /// Whether filter `i` is missing (null).
    pub fn is_missing(&self, i: usize) -> bool {
        self.missing[i]
    }

    /// All words, filter after filter.
    pub fn data(&self) -> &[u64] {
        &self.data
    }
}

pub(super) fn popcount_words(w: &[u64]) -> u32 {
    w.iter().map(|x| x.count_ones()).sum()
}
