//! [`Threshold`]: a Dice threshold in the exact integer form the fast kernels test.

/// A Dice threshold in the integer form the fast kernels test: `2c·D ≥ T·s`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    pub(super) value: f64,
    pub(super) num: u64,
    pub(super) den: u64,
    pub(super) keep_none: bool,
}

impl Threshold {
    /// The integer form of `threshold` for filters of `bits` bits.
    ///
    /// `T/D` is the smallest quotient `2c/s` (over every `s` in `1..=2·bits` and `2c ≤ s`, the
    /// pairs such filters can produce) whose f64 value `(2c as f64) / (s as f64)` is `>=
    /// threshold`. Correctly rounded division is monotone, so the f64 test accepts exactly the
    /// pairs whose exact quotient is at least `T/D`: `2c·D ≥ T·s` ⇔ the f64 test, with no
    /// rounding gap in either direction. A threshold ≤ 0 keeps every pair (`T/D = 0/1`); one
    /// above 1 keeps none. (Pairs with `s = 0` are decided separately: their Dice is 0.0.)
    ///
    /// # Panics
    /// When `threshold` is NaN or `bits` is 0 or above 2^22.
    pub fn new(threshold: f64, bits: usize) -> Threshold {
        assert!(!threshold.is_nan(), "Dice threshold is NaN");
        assert!(bits > 0 && bits <= 1 << 22, "unsupported filter length");
        if threshold <= 0.0 {
            return Threshold {
                value: threshold,
                num: 0,
                den: 1,
                keep_none: false,
            };
        }
        let accepts = |c: u64, s: u64| (2 * c) as f64 / s as f64 >= threshold;
        let mut best: Option<(u64, u64)> = None;
        let smax = 2 * bits as u64;
        for s in 1..=smax {
            let cmax = s / 2;
            let guess = ((threshold * s as f64) / 2.0).ceil();
            let mut c = if guess.is_finite() && guess >= 0.0 {
                (guess as u64).min(cmax + 1)
            } else {
                cmax + 1
            };
            while c > 0 && accepts(c - 1, s) {
                c -= 1;
            }
            while c <= cmax && !accepts(c, s) {
                c += 1;
            }
            if c <= cmax {
                let (n, d) = (2 * c, s);
                match best {
                    Some((bn, bd)) if n * bd >= bn * d => {}
                    _ => best = Some((n, d)),
                }
            }
        }
        match best {
            Some((num, den)) => Threshold {
                value: threshold,
                num,
                den,
                keep_none: false,
            },
            None => Threshold {
                value: threshold,
                num: 1,
                den: 0,
                keep_none: true,
            },
        }
    }

    /// The threshold as given.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// `(T, D)`: the threshold as the exact rational `T/D`.
    pub fn rational(&self) -> (u64, u64) {
        (self.num, self.den)
    }

    /// Whether no pair can be above the threshold (it is above 1).
    pub fn keeps_nothing(&self) -> bool {
        self.keep_none
    }

    /// The integer test for a pair with `c = |a ∧ b|` and `s = |a| + |b| > 0` (both present).
    #[inline(always)]
    pub fn passes(&self, c: u32, s: u32) -> bool {
        2 * u64::from(c) * self.den >= self.num * u64::from(s)
    }

    /// The full decision for a present pair, `s = 0` included (Dice 0.0 then).
    #[inline]
    pub(super) fn keeps(&self, c: u32, s: u32) -> bool {
        if s == 0 {
            self.value <= 0.0
        } else {
            self.passes(c, s)
        }
    }
}
