use super::*;
use std::collections::{HashMap, HashSet};

fn small(seed: u64) -> SynthConfig {
    SynthConfig {
        people: 300,
        seed,
        ..SynthConfig::default()
    }
}

fn read_agency(dir: &Path, a: &Agency) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = std::fs::read(dir.join(format!("{}.csv", a.name))).unwrap();
    let text = if a.windows_1252 {
        let (t, _, had_errors) = encoding_rs::WINDOWS_1252.decode(&bytes);
        assert!(!had_errors);
        t.into_owned()
    } else {
        String::from_utf8(bytes).expect("UTF-8 agency file")
    };
    let mut r = csv::ReaderBuilder::new()
        .delimiter(a.delimiter)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            assert_eq!(rec.len(), header.len());
            rec.iter().map(String::from).collect()
        })
        .collect();
    (header, rows)
}

#[test]
fn same_seed_gives_identical_bytes() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    generate(&small(11), d1.path()).unwrap();
    generate(&small(11), d2.path()).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(d1.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 7 * 2 + 2, "{names:?}");
    for n in &names {
        let mut a = std::fs::read(d1.path().join(n)).unwrap();
        let mut b = std::fs::read(d2.path().join(n)).unwrap();
        if n == "README.md" {
            // The README names the output directory (in its command line); nothing else differs.
            let strip = |bytes: &[u8], dir: &Path| {
                String::from_utf8(bytes.to_vec())
                    .unwrap()
                    .replace(&dir.display().to_string(), "DIR")
                    .into_bytes()
            };
            a = strip(&a, d1.path());
            b = strip(&b, d2.path());
        }
        assert!(a == b, "{n:?} differs between two runs with one seed");
    }
    // A different seed gives different data.
    let d3 = tempfile::tempdir().unwrap();
    generate(&small(12), d3.path()).unwrap();
    assert_ne!(
        std::fs::read(d1.path().join("kemlu.csv")).unwrap(),
        std::fs::read(d3.path().join("kemlu.csv")).unwrap()
    );
}

#[test]
fn truth_covers_every_record_once_and_counts_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let s = generate(&small(3), dir.path()).unwrap();
    let mut truth: HashMap<(String, String), String> = HashMap::new();
    let mut r = csv::Reader::from_path(dir.path().join("truth.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["agency", "record_id", "person_id"]
    );
    for rec in r.records() {
        let rec = rec.unwrap();
        let key = (rec[0].to_string(), rec[1].to_string());
        assert!(
            truth.insert(key, rec[2].to_string()).is_none(),
            "truth lists a record twice"
        );
    }
    assert_eq!(truth.len() as u64, s.records);
    let mut total = 0u64;
    let mut victims_seen = HashSet::new();
    for (a, sum) in AGENCIES.iter().zip(&s.agencies) {
        let (header, rows) = read_agency(dir.path(), a);
        let id_col = header
            .iter()
            .position(|h| h == a.column(Col::Id).unwrap())
            .unwrap();
        let mut ids = HashSet::new();
        for row in &rows {
            let id = &row[id_col];
            assert!(ids.insert(id.clone()), "{}: record id repeated", a.name);
            let person = truth
                .get(&(a.name.to_string(), id.clone()))
                .unwrap_or_else(|| panic!("{}: record {id} not in truth", a.name));
            if person.starts_with('V') {
                victims_seen.insert(person.clone());
            } else {
                assert_eq!(a.name, "bp2mi", "workers appear only at BP2MI");
            }
        }
        assert_eq!(rows.len() as u64, sum.records);
        assert_eq!(sum.records, sum.victim_records + sum.worker_records);
        total += sum.records;
    }
    assert_eq!(total, s.records);
    assert_eq!(victims_seen.len() as u64, s.victims);
    assert_eq!(s.victims_by_agency_count.iter().sum::<u64>(), s.victims);
    assert_eq!(s.workers, 600);
    let repeats: u64 = s.agencies.iter().map(|a| a.repeat_records).sum();
    assert!(repeats > 0, "some persons appear twice in one agency");
    // Most victims are known to two or three agencies.
    let c = s.victims_by_agency_count;
    assert!(c[1] + c[2] > c[0] + c[3] + c[4], "{c:?}");
}

#[test]
fn column_maps_load_and_name_existing_columns() {
    let dir = tempfile::tempdir().unwrap();
    generate(&small(5), dir.path()).unwrap();
    let schema = crate::schema::Schema::default_victims();
    for a in AGENCIES {
        let path = dir.path().join(format!("{}.columns.toml", a.name));
        let map = ColumnMap::load(&path).unwrap();
        map.check(&schema, &path.display().to_string()).unwrap();
        assert_eq!(map.agency.as_deref(), Some(a.name));
        let (header, rows) = read_agency(dir.path(), a);
        assert!(header.contains(&map.id_column));
        for src in map.columns.values() {
            for c in src.columns() {
                assert!(
                    header.iter().any(|h| h == c),
                    "{}: column {c} not in header",
                    a.name
                );
            }
        }
        assert!(!rows.is_empty());
    }
    let kemensos = ColumnMap::load(&dir.path().join("kemensos.columns.toml")).unwrap();
    assert!(kemensos.columns.contains_key("nik"));
    assert!(!kemensos.columns.contains_key("passport"));
    let imigrasi = ColumnMap::load(&dir.path().join("imigrasi.columns.toml")).unwrap();
    assert!(imigrasi.columns.contains_key("passport"));
    assert!(!imigrasi.columns.contains_key("nik"));
    assert_eq!(imigrasi.date_order, crate::schema::DateOrder::Ymd);
}

#[test]
fn windows_1252_export_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        &SynthConfig {
            people: 2000,
            seed: 9,
            ..SynthConfig::default()
        },
        dir.path(),
    )
    .unwrap();
    let bytes = std::fs::read(dir.path().join("kemensos.csv")).unwrap();
    assert!(
        bytes.iter().any(|b| *b >= 0x80),
        "expected accented names (José, Inês, Andrés) at kemensos"
    );
    assert!(std::str::from_utf8(&bytes).is_err());
    let (text, _, had_errors) = encoding_rs::WINDOWS_1252.decode(&bytes);
    assert!(!had_errors);
    assert!(text.contains("\r\n"));
    assert!(text.chars().any(|c| "éêñóÉÊÑÓ".contains(c)));
    // Every other agency file is UTF-8.
    for a in AGENCIES.iter().filter(|a| !a.windows_1252) {
        let b = std::fs::read(dir.path().join(format!("{}.csv", a.name))).unwrap();
        assert!(std::str::from_utf8(&b).is_ok(), "{}", a.name);
    }
}

#[test]
fn refuses_non_empty_dir_without_force_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.txt"), "x").unwrap();
    let e = generate(&small(1), dir.path()).unwrap_err();
    assert!(e.to_string().contains("--force"), "{e}");
    let cfg = SynthConfig {
        force: true,
        agencies: 2,
        people: 20,
        ..SynthConfig::default()
    };
    let s = generate(&cfg, dir.path()).unwrap();
    assert_eq!(s.workers, 0, "no BP2MI, no workers");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    assert!(names.contains(&"kpppa.csv".to_string()));
    assert!(!names.contains(&"imigrasi.csv".to_string()));
}

#[test]
fn parquet_output_has_the_agency_columns() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        people: 50,
        format: SynthFormat::Parquet,
        ..SynthConfig::default()
    };
    let s = generate(&cfg, dir.path()).unwrap();
    for (a, sum) in AGENCIES.iter().zip(&s.agencies) {
        let f = std::fs::File::open(dir.path().join(format!("{}.parquet", a.name))).unwrap();
        let r = SerializedFileReader::new(f).unwrap();
        let meta = r.metadata();
        assert_eq!(meta.file_metadata().num_rows() as u64, sum.records);
        let names: Vec<&str> = meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.name())
            .collect();
        assert_eq!(names, a.header());
    }
}

#[test]
fn values_look_like_their_agency() {
    let dir = tempfile::tempdir().unwrap();
    generate(&small(21), dir.path()).unwrap();
    let (h, rows) = read_agency(dir.path(), &AGENCIES[2]);
    let dob = h.iter().position(|c| c == "TGL_LAHIR").unwrap();
    let iso = rows
        .iter()
        .filter(|r| r[dob].len() == 10 && r[dob].as_bytes()[4] == b'-')
        .count();
    assert!(iso * 10 > rows.len() * 9, "imigrasi dates are ISO");
    let (h, rows) = read_agency(dir.path(), &AGENCIES[6]);
    let nik = h.iter().position(|c| c == "nik").unwrap();
    let ok = rows
        .iter()
        .filter(|r| r[nik].len() == 16 && r[nik].bytes().all(|b| b.is_ascii_digit()))
        .count();
    assert!(ok * 10 > rows.len() * 8, "bp2mi NIKs are 16 digits");
    let id = h.iter().position(|c| c == "no_registrasi_pmi").unwrap();
    assert!(rows.iter().all(|r| r[id].starts_with("P/")));
}

#[test]
fn bad_settings_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    for cfg in [
        SynthConfig {
            agencies: 8,
            ..SynthConfig::default()
        },
        SynthConfig {
            duplicate_rate: 1.5,
            ..SynthConfig::default()
        },
        SynthConfig {
            agency_count_weights: [0.0; 5],
            ..SynthConfig::default()
        },
    ] {
        let e = generate(&cfg, dir.path()).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
    }
}

#[test]
fn command_reproduces_flags() {
    let cfg = small(7);
    assert_eq!(
        cfg.command(Path::new("fixtures/synth")).unwrap(),
        "padan synth --out fixtures/synth --people 300 --seed 7"
    );
    let cfg = SynthConfig {
        female_share: 0.5,
        ..SynthConfig::default()
    };
    assert!(cfg.command(Path::new("x")).is_none());
}

#[test]
fn committed_fixtures_are_what_the_generator_makes() {
    // fixtures/synth was made by `padan synth --out fixtures/synth --people 300 --seed 7`;
    // a generator change must come with regenerated fixtures (add --force).
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/synth");
    let dir = tempfile::tempdir().unwrap();
    let cfg = small(7);
    generate(&cfg, dir.path()).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name();
        let made = std::fs::read(dir.path().join(&name)).unwrap();
        let committed = std::fs::read(fixtures.join(&name)).unwrap();
        if name == "README.md" {
            let made = String::from_utf8(made)
                .unwrap()
                .replace(&dir.path().display().to_string(), "fixtures/synth");
            assert_eq!(made, String::from_utf8(committed).unwrap());
        } else {
            assert!(made == committed, "fixtures/synth/{name:?} is stale");
        }
    }
}
