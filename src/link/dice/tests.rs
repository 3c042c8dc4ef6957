use super::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Every supported filter length, 64 … 4096 bits.
const WORDS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];

fn kernels() -> Vec<Kernel> {
    Isa::available()
        .into_iter()
        .map(|i| Kernel::new(i).expect("available"))
        .collect()
}

/// One filter of `words` words in one of several shapes (random, empty, full, sparse, dense).
fn filter(rng: &mut ChaCha8Rng, words: usize) -> Vec<u64> {
    match rng.random_range(0..6) {
        0 => vec![0; words],
        1 => vec![u64::MAX; words],
        2 => (0..words)
            .map(|_| rng.random::<u64>() & rng.random::<u64>() & rng.random::<u64>())
            .collect(),
        3 => (0..words)
            .map(|_| rng.random::<u64>() | rng.random::<u64>())
            .collect(),
        _ => (0..words).map(|_| rng.random::<u64>()).collect(),
    }
}

/// A matrix with missing rows, and (when `base` is given) near-copies of its rows so that
/// high thresholds are hit.
fn matrix(
    rng: &mut ChaCha8Rng,
    words: usize,
    rows: usize,
    base: Option<&FilterMatrix>,
) -> FilterMatrix {
    let mut m = FilterMatrix::new(words);
    for r in 0..rows {
        match (rng.random_range(0..8), base) {
            (0, _) => m.push_missing(),
            (1..=3, Some(b)) if r < b.len() => {
                let mut w = b.row(r).to_vec();
                for _ in 0..rng.random_range(0..4) {
                    let bit = rng.random_range(0..words * 64);
                    w[bit / 64] ^= 1 << (bit % 64);
                }
                m.push_words(&w);
            }
            _ => {
                let w = filter(rng, words);
                m.push_words(&w);
            }
        }
    }
    m
}

fn words_strategy() -> impl Strategy<Value = usize> {
    prop::sample::select(WORDS.to_vec())
}

fn pattern(words: usize) -> impl Strategy<Value = Vec<u64>> {
    prop_oneof![
        Just(vec![0u64; words]),
        Just(vec![u64::MAX; words]),
        prop::collection::vec(any::<u64>(), words),
        prop::collection::vec(
            prop::sample::select(vec![0u64, 1, 1 << 63, u64::MAX]),
            words
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn and_popcount_every_isa_equals_naive(
        (a, b) in words_strategy().prop_flat_map(|w| (pattern(w), pattern(w)))
    ) {
        let expected = naive::and_popcount(&a, &b);
        for isa in Isa::available() {
            prop_assert_eq!(and_popcount(isa, &a, &b), expected, "{}", isa);
        }
    }

    #[test]
    fn dice_every_isa_equals_naive(words in words_strategy(), seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = matrix(&mut rng, words, 6, None);
        let b = matrix(&mut rng, words, 6, Some(&a));
        for i in 0..a.len() {
            prop_assert_eq!(a.count(i), naive::popcount(a.row(i)));
            for j in 0..b.len() {
                let expected = naive::dice(&a, i, &b, j);
                for k in kernels() {
                    let got = k.dice(&a, i, &b, j);
                    prop_assert_eq!(got.map(f32::to_bits), expected.map(f32::to_bits),
                        "{} {} {}", k.isa(), i, j);
                }
                prop_assert_eq!(dice(&a, i, &b, j), expected);
            }
        }
    }

    #[test]
    fn all_pairs_every_isa_equals_naive(
        words in words_strategy(),
        seed in any::<u64>(),
        t in prop_oneof![0.0f64..=1.05, Just(0.0), Just(1.0), Just(-0.5), Just(0.5)],
        exact in any::<bool>(),
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows = if words >= 32 { 9 } else { 23 };
        let a = matrix(&mut rng, words, rows, None);
        let b = matrix(&mut rng, words, rows + 3, Some(&a));
        // Sometimes take the threshold exactly at a value some pair has (the boundary).
        let t = if exact {
            let (i, j) = (rng.random_range(0..a.len()), rng.random_range(0..b.len()));
            naive::dice_f64(&a, i, &b, j).unwrap_or(t)
        } else {
            t
        };
        let expected = naive::all_pairs_above(&a, &b, t);
        for isa in Isa::available() {
            let got = all_pairs_above(&a, &b, t, isa);
            prop_assert_eq!(&got, &expected, "{} t={}", isa, t);
        }
    }

    #[test]
    fn threshold_integer_test_equals_f64_test(t in -0.1f64..1.1, bits in prop::sample::select(vec![64usize, 128, 256])) {
        let th = Threshold::new(t, bits);
        for s in 1..=2 * bits as u32 {
            for c in 0..=s / 2 {
                let f = f64::from(2 * c) / f64::from(s) >= t;
                prop_assert_eq!(!th.keeps_nothing() && th.passes(c, s), f, "c={} s={}", c, s);
            }
        }
    }
}

#[test]
fn long_filters_use_the_u64_test_and_agree() {
    // 32768-bit filters: above U32_TEST_MAX_WORDS, so the hot loop tests in u64.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let a = matrix(&mut rng, 512, 5, None);
    let b = matrix(&mut rng, 512, 9, Some(&a));
    for t in [0.0, 0.4, 0.5, 0.9, 0.999] {
        let expected = naive::all_pairs_above(&a, &b, t);
        for isa in Isa::available() {
            assert_eq!(all_pairs_above(&a, &b, t, isa), expected, "{isa} {t}");
        }
    }
}

#[test]
fn result_does_not_depend_on_thread_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a = matrix(&mut rng, 16, 300, None);
    let b = matrix(&mut rng, 16, 700, Some(&a));
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| Kernel::detect().all_pairs_above(&a, &b, 0.8))
    };
    let one = run(1);
    assert!(!one.is_empty());
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
    assert_eq!(one, naive::all_pairs_above(&a, &b, 0.8));
}

#[test]
fn byte_layout_is_little_endian_bit_order() {
    let mut m = FilterMatrix::new(1);
    m.push(&[0x01, 0x80, 0, 0, 0, 0, 0, 0x40]);
    assert_eq!(m.row(0), &[0x4000_0000_0000_8001]);
    assert!(naive::bit(m.row(0), 0));
    assert!(naive::bit(m.row(0), 15));
    assert!(naive::bit(m.row(0), 62));
    assert_eq!(m.count(0), 3);
    let mut m2 = FilterMatrix::new(2);
    let mut bytes = [0u8; 16];
    bytes[8] = 0x02; // bit 65
    m2.push(&bytes);
    assert_eq!(m2.row(0), &[0, 2]);
    assert!(naive::bit(m2.row(0), 65));
}

#[test]
fn seed_table() {
    // (a, b, expected Dice) hand-computed on 64-bit filters.
    let table: [(u64, u64, Option<f32>); 7] = [
        (0b1111, 0b0110, Some(4.0 / 6.0)), // c=2, s=6
        (0b1111, 0b1111, Some(1.0)),       // identical
        (0b1010, 0b0101, Some(0.0)),       // disjoint
        (u64::MAX, 0, Some(0.0)),          // c=0, s=64
        (0, 0, Some(0.0)),                 // both empty: defined 0.0
        (u64::MAX, 0xFFFF_FFFF, Some(2.0 * 32.0 / 96.0)),
        (0b111, 0b1, Some(2.0 / 4.0)), // c=1, s=4
    ];
    for (a, b, want) in table {
        let ma = FilterMatrix::from_words(1, vec![a]);
        let mb = FilterMatrix::from_words(1, vec![b]);
        for k in kernels() {
            assert_eq!(k.dice(&ma, 0, &mb, 0), want, "{a:#x} {b:#x} {}", k.isa());
        }
    }
    // Missing on either side.
    let mut ma = FilterMatrix::new(16);
    ma.push_missing();
    ma.push_words(&[u64::MAX; 16]);
    assert!(ma.is_missing(0) && !ma.is_missing(1));
    assert_eq!(dice(&ma, 0, &ma, 1), None);
    assert_eq!(dice(&ma, 1, &ma, 0), None);
    assert_eq!(dice(&ma, 0, &ma, 0), None);
    assert_eq!(dice(&ma, 1, &ma, 1), Some(1.0));
    // 1024-bit: first half vs all: c=512, s=1536 → 2/3.
    let mut half = [0u64; 16];
    half[..8].fill(u64::MAX);
    let mh = FilterMatrix::from_words(16, half.to_vec());
    let mf = FilterMatrix::from_words(16, vec![u64::MAX; 16]);
    assert_eq!(dice(&mh, 0, &mf, 0), Some((1024.0f64 / 1536.0) as f32));
}

#[test]
fn threshold_table() {
    let t = Threshold::new(0.5, 64);
    let (n, d) = t.rational();
    assert_eq!(2 * n, d); // exactly 1/2
    assert!(t.passes(1, 4) && !t.passes(1, 5));
    assert!(Threshold::new(1.0001, 1024).keeps_nothing());
    assert_eq!(Threshold::new(0.0, 1024).rational(), (0, 1));
    // 0.95 with 1024-bit filters: the smallest reachable Dice ≥ 0.95 is 38/40 (= 0.95).
    let (n, d) = Threshold::new(0.95, 1024).rational();
    assert_eq!(n * 40, d * 38);
    // Just above 0.95: the next reachable quotient is above it.
    let (n, d) = Threshold::new(0.950_000_1, 1024).rational();
    assert!((n as f64 / d as f64) > 0.950_000_1);
    // Empty pairs: Dice 0.0, kept only at thresholds ≤ 0; missing never kept.
    let mut m = FilterMatrix::new(1);
    m.push_words(&[0]);
    m.push_missing();
    assert_eq!(naive::all_pairs_above(&m, &m, 0.0), vec![(0, 0, 0.0)]);
    for isa in Isa::available() {
        assert_eq!(all_pairs_above(&m, &m, 0.0, isa), vec![(0, 0, 0.0)]);
        assert!(all_pairs_above(&m, &m, 0.1, isa).is_empty());
    }
}

#[test]
fn simd_paths_only_when_detected() {
    for isa in Isa::ALL {
        assert_eq!(Kernel::new(isa).is_some(), isa.is_available(), "{isa}");
    }
    assert!(Isa::Portable.is_available());
    assert_eq!(detect(), Isa::available()[0]);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        assert_eq!(
            Isa::Avx512Vpopcntdq.is_available(),
            has!("avx512f") && has!("avx512vpopcntdq") && has!("popcnt")
        );
        assert_eq!(Isa::Avx2.is_available(), has!("avx2") && has!("popcnt"));
        assert_eq!(Isa::Popcnt.is_available(), has!("popcnt"));
    }
    // Forcing a path the CPU lacks is refused, never executed.
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        assert!(std::panic::catch_unwind(|| and_popcount(isa, &[1], &[1])).is_err());
        let m = FilterMatrix::from_words(1, vec![1]);
        assert!(std::panic::catch_unwind(|| all_pairs_above(&m, &m, 0.5, isa)).is_err());
    }
}

#[test]
fn isa_names_round_trip() {
    for isa in Isa::ALL {
        assert_eq!(Isa::from_name(isa.name()), Some(isa));
    }
    assert_eq!(Isa::from_name("nope"), None);
}
