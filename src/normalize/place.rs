//! Places (regency / city of birth or origin) → a canonical lowercase name.
//!
//! Rules:
//!
//! 1. **Segments.** The cell is split at commas (`Desa X, Kec. Y, Kab. Z, Jawa Barat`). The first
//!    segment that starts with a regency/city word (`Kab.`, `Kab`, `Kabupaten`, `Kota`,
//!    `Kotamadya`, `Kodya`) is the place; otherwise the first segment that is not a province
//!    (a gazetteer name such as `Gorontalo` or `Jambi` counts as a place); otherwise the first
//!    segment (a bare province is kept, folded: it is a coarse but honest place).
//! 2. **Folding** ([`fold`](super::fold)), then leading administrative words are stripped,
//!    repeatedly: `kab`, `kabupaten`, `kota`, `kotamadya`, `kodya`, `kec`, `kecamatan` — unless
//!    the whole folded value is already a gazetteer name or alias (`Kota Baru` → `kotabaru`).
//! 3. **Province suffixes** at the end are stripped, repeatedly, when something remains and the
//!    value is not itself a gazetteer name (`Muaro Jambi` stays): full names (`jawa barat`,
//!    `nusa tenggara timur`, …) and abbreviations (`jabar`, `jateng`, `jatim`, `diy`, `dki`,
//!    `ntt`, `ntb`, `sumut`, `sumbar`, `sumsel`, `kalbar`, `kalsel`, `sulsel`, `sulut`, …).
//! 4. **Gazetteer.** An exact name or alias → its canonical name. Otherwise the best
//!    Jaro–Winkler similarity ([`strsim::jaro_winkler`]) over the gazetteer; at or above the
//!    threshold it snaps (`Tanggerang` → `tangerang`), below it the folded value is kept as is
//!    (unknown places are normal: villages, foreign cities).
//!
//! **Threshold.** The default `place_threshold = 0.93` ([`crate::schema::FieldOptions`]) snaps a
//! dropped, doubled or transposed letter and a typo after the first few letters (`tanggerang` →
//! `tangerang` 0.936, `sumbwa` → `sumbawa` 0.938, `indramyu` → `indramayu` 0.978, `banyuwagi` →
//! `banyuwangi` 0.980) but not a different place sharing a prefix (`bandung`/`bantul` 0.822,
//! `tegal`/`tebal` 0.893, `jakarta`/`jayapura` 0.824). Jaro–Winkler rewards a common prefix, so
//! a substitution early in a short name scores lower: `suybawa`/`sumbawa` is 0.924 and is kept
//! as written at 0.93; it snaps from 0.92 down. Below about 0.90, distinct places of similar
//! shape start to merge, which would make two people look alike; an unsnapped misspelling costs
//! little, because the place's q-gram filter still compares it fuzzily. A fuzzy candidate must
//! also have nearly the same length (±1 letter, ±1 per 8 for long names): Jaro–Winkler scores a
//! prefix highly (`sumba`/`sumbawa` 0.943), yet Sumba and Sumbawa are different islands.
//!
//! Exact hits cost one hash lookup. Fuzzy lookups only compare gazetteer names whose length
//! allows reaching the threshold, and their results are cached per thread (places repeat), so the
//! cost is paid once per distinct misspelling.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use super::fold;

/// A list of canonical place names with aliases.
#[derive(Debug, Clone, Default)]
pub struct Gazetteer {
    /// Canonical names, in file order, deduplicated.
    names: Vec<String>,
    /// Folded name or alias → index into `names`.
    index: HashMap<String, usize>,
}

/// Administrative words stripped at the start.
const PREFIXES: &[&str] = &[
    "kab",
    "kabupaten",
    "kota",
    "kotamadya",
    "kodya",
    "kec",
    "kecamatan",
];

/// Words that mark a segment as a regency or city.
const REGENCY_WORDS: &[&str] = &["kab", "kabupaten", "kota", "kotamadya", "kodya"];

/// Provinces, full and abbreviated, as folded token sequences.
const PROVINCES: &[&str] = &[
    "aceh",
    "nanggroe aceh darussalam",
    "nad",
    "sumatera utara",
    "sumatra utara",
    "sumut",
    "sumatera barat",
    "sumatra barat",
    "sumbar",
    "riau",
    "jambi",
    "sumatera selatan",
    "sumatra selatan",
    "sumsel",
    "bengkulu",
    "lampung",
    "kepulauan bangka belitung",
    "bangka belitung",
    "babel",
    "kepulauan riau",
    "kepri",
    "dki jakarta",
    "dki",
    "jawa barat",
    "jabar",
    "jawa tengah",
    "jateng",
    "di yogyakarta",
    "diy",
    "daerah istimewa yogyakarta",
    "jawa timur",
    "jatim",
    "banten",
    "bali",
    "nusa tenggara barat",
    "ntb",
    "nusa tenggara timur",
    "ntt",
    "kalimantan barat",
    "kalbar",
    "kalimantan tengah",
    "kalteng",
    "kalimantan selatan",
    "kalsel",
    "kalimantan timur",
    "kaltim",
    "kalimantan utara",
    "kaltara",
    "sulawesi utara",
    "sulut",
    "sulawesi tengah",
    "sulteng",
    "sulawesi selatan",
    "sulsel",
    "sulawesi tenggara",
    "sultra",
    "gorontalo",
    "sulawesi barat",
    "sulbar",
    "maluku",
    "maluku utara",
    "malut",
    "papua",
    "papua barat",
    "pabar",
    "papua barat daya",
    "papua selatan",
    "papua tengah",
    "papua pegunungan",
    "indonesia",
    "ri",
];

impl Gazetteer {
    /// Parses a gazetteer: one name per line, `alias = canonical` lines, `#` comments. Names are
    /// folded; duplicates are kept once. An alias whose canonical name is missing is ignored.
    pub fn from_text(text: &str) -> Gazetteer {
        let mut g = Gazetteer::default();
        let mut aliases = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((alias, canon)) = line.split_once('=') {
                aliases.push((fold(alias), fold(canon)));
                continue;
            }
            let name = fold(line);
            if !name.is_empty() && !g.index.contains_key(&name) {
                g.index.insert(name.clone(), g.names.len());
                g.names.push(name);
            }
        }
        for (alias, canon) in aliases {
            if let Some(&i) = g.index.get(&canon) {
                g.index.entry(alias).or_insert(i);
            }
        }
        g
    }

    /// The gazetteer committed in `data/places.txt` (Indonesia's regencies and cities).
    pub fn builtin() -> &'static Gazetteer {
        static G: OnceLock<Gazetteer> = OnceLock::new();
        G.get_or_init(|| Gazetteer::from_text(include_str!("../../data/places.txt")))
    }

    /// Number of canonical names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the gazetteer is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The canonical names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The canonical name for an exact (folded) name or alias.
    pub fn exact(&self, folded: &str) -> Option<&str> {
        self.index.get(folded).map(|&i| self.names[i].as_str())
    }

    /// The best canonical name at Jaro–Winkler similarity ≥ `threshold` (exact first; ties go to
    /// the earlier name). Only names whose length differs by at most one letter (one per eight
    /// for long names) are candidates: a prefix of a longer name is usually another place
    /// (`sumba`, the island, is not `sumbawa`).
    pub fn best_match(&self, folded: &str, threshold: f64) -> Option<&str> {
        if let Some(n) = self.exact(folded) {
            return Some(n);
        }
        // JW ≤ 0.6·jaro + 0.4 and jaro ≤ (1 + 1 + short/long)/3 bound the usable lengths.
        let jaro_min = (threshold - 0.4) / 0.6;
        let ratio_min = 3.0 * jaro_min - 2.0;
        let ql = folded.chars().count() as f64;
        let mut best: Option<(f64, usize)> = None;
        for (i, name) in self.names.iter().enumerate() {
            let nl = name.len() as f64; // gazetteer names are ASCII
            let (short, long) = (ql.min(nl), ql.max(nl));
            if short < ratio_min * long || long - short > (long / 8.0).floor().max(1.0) {
                continue;
            }
            let s = strsim::jaro_winkler(folded, name);
            if s >= threshold && best.is_none_or(|(b, _)| s > b) {
                best = Some((s, i));
            }
        }
        best.map(|(_, i)| self.names[i].as_str())
    }
}

/// Normalizes a place; `None` when nothing usable remains.
pub fn normalize(raw: &str, gazetteer: &Gazetteer, threshold: f64) -> Option<String> {
    let mut chosen: Option<String> = None;
    let mut first_other: Option<String> = None;
    let mut first_any: Option<String> = None;
    for seg in raw.split(',') {
        let f = fold(seg);
        if f.is_empty() {
            continue;
        }
        let head = f.split(' ').next().unwrap_or("");
        if REGENCY_WORDS.contains(&head) {
            chosen = Some(f);
            break;
        }
        if first_other.is_none()
            && (!PROVINCES.contains(&f.as_str()) || gazetteer.exact(&f).is_some())
        {
            first_other = Some(f);
        } else if first_any.is_none() {
            first_any = Some(f);
        }
    }
    let f = chosen.or(first_other).or(first_any)?;
    let cleaned = clean(&f, gazetteer);
    if let Some(n) = gazetteer.exact(cleaned) {
        return Some(n.to_owned());
    }
    if cleaned.contains(' ') {
        if let Some(n) = gazetteer.exact(&cleaned.replace(' ', "")) {
            return Some(n.to_owned());
        }
    }
    Some(cached_match(cleaned, gazetteer, threshold).unwrap_or_else(|| cleaned.to_owned()))
}

/// Steps 2–3 on a folded segment: a sub-slice of it.
fn clean<'a>(f: &'a str, g: &Gazetteer) -> &'a str {
    let mut s = f;
    loop {
        if g.exact(s).is_some() || is_joined_name(s, g) {
            return s;
        }
        let changed = match s.split_once(' ') {
            Some((head, rest)) if PREFIXES.contains(&head) => {
                s = rest;
                true
            }
            _ => match PROVINCES.iter().find_map(|p| {
                s.strip_suffix(p)
                    .and_then(|r| r.strip_suffix(' '))
                    .filter(|r| !r.is_empty())
            }) {
                Some(r) => {
                    s = r;
                    true
                }
                None => false,
            },
        };
        if !changed {
            return s;
        }
    }
}

/// Whether removing the spaces of `s` gives a gazetteer name (`kota baru` → `kotabaru`).
fn is_joined_name(s: &str, g: &Gazetteer) -> bool {
    s.contains(' ') && g.exact(&s.replace(' ', "")).is_some()
}

/// Fuzzy lookups memoized per thread (bounded; cleared when full).
fn cached_match(q: &str, g: &Gazetteer, threshold: f64) -> Option<String> {
    type Key = (usize, u64, String);
    thread_local! {
        static CACHE: RefCell<HashMap<Key, Option<String>>> = RefCell::new(HashMap::new());
    }
    const MAX: usize = 16_384;
    let key: Key = (
        g as *const Gazetteer as usize,
        threshold.to_bits(),
        q.to_owned(),
    );
    if let Some(hit) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return hit;
    }
    let ans = g.best_match(q, threshold).map(str::to_owned);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX {
            c.clear();
        }
        c.insert(key, ans.clone());
    });
    ans
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: f64 = 0.93;

    #[test]
    fn builtin_gazetteer_is_complete_enough() {
        let g = Gazetteer::builtin();
        assert!(g.len() >= 480, "{}", g.len());
        for n in g.names() {
            assert_eq!(fold(n), n);
            assert!(n.is_ascii());
        }
        assert_eq!(g.exact("solo"), Some("surakarta"));
        assert_eq!(g.exact("bogor"), Some("bogor"));
    }

    #[test]
    fn table() {
        let g = Gazetteer::builtin();
        let rows: &[(&str, Option<&str>)] = &[
            ("", None),
            (" , ", None),
            ("Indramayu", Some("indramayu")),
            ("Kab. Indramayu", Some("indramayu")),
            ("KAB INDRAMAYU", Some("indramayu")),
            ("Kab.Indramayu", Some("indramayu")),
            ("Kabupaten Indramayu", Some("indramayu")),
            ("Kabupaten Indramayu, Jawa Barat", Some("indramayu")),
            ("Indramayu, Jabar", Some("indramayu")),
            ("Indramayu Jabar", Some("indramayu")),
            ("Indramyu", Some("indramayu")),
            ("Suybawa", Some("suybawa")),
            ("Sumbwa", Some("sumbawa")),
            ("Tanggerang", Some("tangerang")),
            ("Sumbawa, NTB", Some("sumbawa")),
            ("Sumba", Some("sumba")),
            ("Kota Bandung", Some("bandung")),
            ("Kotamadya Bandung", Some("bandung")),
            ("Kodya Surabaya", Some("surabaya")),
            ("Surabaya, Jatim", Some("surabaya")),
            ("Kota Baru", Some("kotabaru")),
            ("Kotabaru", Some("kotabaru")),
            ("Muaro Jambi", Some("muaro jambi")),
            ("Jambi", Some("jambi")),
            ("Kupang, NTT", Some("kupang")),
            ("Solo", Some("surakarta")),
            ("Jogja", Some("yogyakarta")),
            ("Ujung Pandang", Some("makassar")),
            (
                "Desa Sukamaju, Kec. Cibinong, Kab. Bogor, Jawa Barat",
                Some("bogor"),
            ),
            ("Kec. Cibinong", Some("cibinong")),
            ("Jawa Barat", Some("jawa barat")),
            ("Kab. Jabar", Some("jabar")),
            ("Bandung Barat", Some("bandung barat")),
            ("Bantul", Some("bantul")),
            ("Tegal", Some("tegal")),
            ("Kuala Lumpur", Some("kuala lumpur")),
            ("Riyadh", Some("riyadh")),
            ("Jakarta", Some("jakarta")),
            ("DKI Jakarta", Some("jakarta")),
            ("Jakarta Selatan", Some("jakarta selatan")),
            ("Lombok Tmur", Some("lombok timur")),
            ("Banyuwangi", Some("banyuwangi")),
            ("Banyuwagi", Some("banyuwangi")),
        ];
        for (input, want) in rows {
            assert_eq!(normalize(input, g, T).as_deref(), *want, "row {input:?}");
        }
    }

    #[test]
    fn threshold_rationale_holds() {
        assert!(strsim::jaro_winkler("tanggerang", "tangerang") >= T);
        assert!(strsim::jaro_winkler("indramyu", "indramayu") >= T);
        assert!(strsim::jaro_winkler("bandung", "bantul") < T);
        assert!(strsim::jaro_winkler("tegal", "tebal") < T);
        let g = Gazetteer::builtin();
        assert_eq!(normalize("Suybawa", g, 0.92).as_deref(), Some("sumbawa"));
    }

    proptest! {
        #[test]
        fn idempotent(s in "((Kab\\.?|Kota|Jabar|NTT|, |[A-Za-z]{1,9}) ){0,4}") {
            let g = Gazetteer::builtin();
            if let Some(once) = normalize(&s, g, T) {
                prop_assert_eq!(normalize(&once, g, T), Some(once.clone()));
            }
        }
    }
}
