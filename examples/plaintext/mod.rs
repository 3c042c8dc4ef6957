//! The plaintext of a `padan synth` directory, normalized as the encoder would, for the salt-slot
//! design aids (`slot_groups`, `slot_design`). Developers' aids on synthetic data: they print
//! counts only, never a value.
use std::collections::HashMap;
use std::path::Path;

use padan::extract::{Extract, TextEncoding};
use padan::normalize;
use padan::schema::{ColumnMap, Schema};
use padan::synth::AGENCY_NAMES;

/// One record's normalized values and its true person.
#[derive(Default, Clone)]
pub struct Rec {
    /// The truth's person (records missing from the truth get a person of their own).
    pub person: u64,
    /// Index of the agency in [`AGENCY_NAMES`].
    #[allow(dead_code)]
    pub agency: u16,
    pub sex: Option<&'static str>,
    pub year: Option<i32>,
    /// Day and month, unordered (smaller first).
    pub dm: Option<(u8, u8)>,
    /// Phonetic code of each name word, sorted (the `name.phonetic` salt part).
    pub words: Vec<String>,
    /// The normalized name's words.
    #[allow(dead_code)]
    pub tokens: Vec<String>,
    pub place: Option<String>,
    pub passport: Option<String>,
    pub nik: Option<String>,
}

impl Rec {
    /// The phonetic name (the `name.phonetic` salt part), if the record has a name.
    #[allow(dead_code)]
    pub fn phon(&self) -> Option<String> {
        (!self.words.is_empty()).then(|| self.words.join(" "))
    }
}

/// Every record of the seven agencies' extracts in `dir`, with its person from `truth.csv`.
pub fn load(dir: &Path) -> Vec<Rec> {
    let schema = Schema::default_victims();
    let truth = std::fs::read_to_string(dir.join("truth.csv")).expect("truth.csv");
    let mut person: HashMap<(String, String), u64> = HashMap::new();
    let mut ids: HashMap<String, u64> = HashMap::new();
    for line in truth.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let n = ids.len() as u64;
        let p = *ids.entry(f[2].to_string()).or_insert(n);
        person.insert((f[0].to_string(), f[1].to_string()), p);
    }
    let gaz = normalize::place::Gazetteer::builtin();
    let idx = |n: &str| schema.fields.iter().position(|f| f.name == n).unwrap();
    let (fname, fdob, fsex, fplace, fpass, fnik) = (
        idx("name"),
        idx("dob"),
        idx("sex"),
        idx("birthplace"),
        idx("passport"),
        idx("nik"),
    );
    let dob_opts = schema.fields[fdob].options.clone();
    let mut recs: Vec<Rec> = Vec::new();
    for (ai, a) in AGENCY_NAMES.iter().enumerate() {
        let map = ColumnMap::load(&dir.join(format!("{a}.columns.toml"))).expect("column map");
        let mut ex = Extract::open(
            &dir.join(format!("{a}.csv")),
            &schema,
            &map,
            TextEncoding::Auto,
        )
        .expect("extract");
        for row in ex.read_all().expect("rows") {
            let cell = |i: usize| row.cells.get(i).and_then(|c| c.as_deref());
            let mut r = Rec {
                person: person
                    .get(&(a.to_string(), row.id.clone()))
                    .copied()
                    .unwrap_or(u64::MAX - recs.len() as u64),
                agency: ai as u16,
                ..Rec::default()
            };
            if let Some(n) = cell(fname).and_then(normalize::name::normalize) {
                r.words = n.phonetic_codes();
                r.tokens = n.tokens.clone();
            }
            if let Some(d) =
                cell(fdob).and_then(|v| normalize::date::parse(v, map.date_order, &dob_opts).ok())
            {
                r.year = Some(d.year);
                if let (Some(m), Some(dd)) = (d.month, d.day) {
                    r.dm = Some((m.min(dd), m.max(dd)));
                }
            }
            r.sex = cell(fsex)
                .and_then(normalize::sex::normalize)
                .map(|s| s.code());
            r.place = cell(fplace).and_then(|v| normalize::place::normalize(v, gaz, 0.93));
            r.passport = cell(fpass)
                .and_then(|v| normalize::passport::normalize(v).ok())
                .map(|p| p.body);
            r.nik = cell(fnik)
                .and_then(|v| normalize::nik::parse(v).ok())
                .map(|n| n.digits);
            recs.push(r);
        }
    }
    recs
}
