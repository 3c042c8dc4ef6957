//! `padan synth`: realistic synthetic agency extracts, with the truth.
//!
//! Generates victims of trafficking known to one to five of seven Indonesian agencies (sometimes
//! twice to one agency), plus migrant workers known only to BP2MI, and writes for each agency an
//! extract in that agency's own columns, id format, date format, sex codes, coverage, error rate
//! and CSV dialect, with the column map `padan encode --columns` reads. `truth.csv` says which
//! records are the same person. See `docs/synth.md`.
//!
//! Generation streams: one person at a time, each record appended to its agency's writer through
//! a small shuffle buffer (so file order does not give the truth away), so memory stays constant
//! whatever the number of rows. The same seed gives byte-identical files on every platform
//! (ChaCha8, portable sampling, no floating-point output).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::schema::{ColumnMap, ColumnSource};

mod agency;
pub(crate) mod decoy;
pub(crate) mod lists;
mod person;
mod render;
mod sink;

use agency::{Agency, Col, AGENCIES, BP2MI};
use person::Person;
use sink::Sink;

/// The short names of the seven agencies, in `--agencies K` order.
pub const AGENCY_NAMES: [&str; 7] = [
    "kemlu",
    "kpppa",
    "imigrasi",
    "kemensos",
    "polri",
    "kejaksaan",
    "bp2mi",
];

/// Rows buffered (and shuffled) per agency before they are written.
const CHUNK_ROWS: usize = 4096;

/// The output file format of the agency extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SynthFormat {
    /// CSV in each agency's own dialect (delimiter, encoding, line ends).
    #[default]
    Csv,
    /// Parquet, one UTF-8 string column per agency column, zstd-compressed.
    Parquet,
}

impl SynthFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            SynthFormat::Csv => "csv",
            SynthFormat::Parquet => "parquet",
        }
    }
}

/// What to generate. [`SynthConfig::default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// How many agencies (the first K of [`AGENCY_NAMES`]), 1..=7. Default 7.
    pub agencies: usize,
    /// How many trafficking victims. Default 2000.
    pub people: u64,
    /// The random seed. Default 42.
    pub seed: u64,
    /// Output format. Default CSV.
    pub format: SynthFormat,
    /// Write into a non-empty output directory (replacing files of the same name). Default false.
    pub force: bool,
    /// Relative weights of a victim being known to 1, 2, 3, 4, 5 agencies (capped at the number of
    /// agencies). Default `[0.15, 0.35, 0.30, 0.13, 0.07]`.
    pub agency_count_weights: [f64; 5],
    /// Share of persons with a second record in one of their agencies (second case file,
    /// re-registration). Default 0.05.
    pub duplicate_rate: f64,
    /// Migrant workers who are not victims, known only to BP2MI, per victim (only when BP2MI is
    /// among the agencies). Default 2.0.
    pub bp2mi_workers_per_victim: f64,
    /// Share of women. Default 0.70.
    pub female_share: f64,
    /// Share of victims with a passport (workers always have one). Default 0.80.
    pub passport_rate: f64,
    /// Share of passport holders with a second passport (renewal or forgery). Default 0.12.
    pub second_passport_rate: f64,
    /// Share of persons with a NIK. Default 0.92.
    pub nik_rate: f64,
    /// Share of persons whose travel documents carry a falsified (older) birth date. Default 0.05.
    pub falsified_age_rate: f64,
    /// Multiplies every agency's error rate. Default 1.0.
    pub error_scale: f64,
    /// Multiplies every agency's missing-value rate. Default 1.0.
    pub missing_scale: f64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            agencies: 7,
            people: 2000,
            seed: 42,
            format: SynthFormat::Csv,
            force: false,
            agency_count_weights: [0.15, 0.35, 0.30, 0.13, 0.07],
            duplicate_rate: 0.05,
            bp2mi_workers_per_victim: 2.0,
            female_share: 0.70,
            passport_rate: 0.80,
            second_passport_rate: 0.12,
            nik_rate: 0.92,
            falsified_age_rate: 0.05,
            error_scale: 1.0,
            missing_scale: 1.0,
        }
    }
}

impl SynthConfig {
    /// Checks ranges; names the offending setting.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, msg: &str| Err(Error::config(what, msg.to_string()));
        if !(1..=AGENCY_NAMES.len()).contains(&self.agencies) {
            return bad("--agencies", "must be between 1 and 7");
        }
        if self.people == 0 {
            return bad("--people", "must be at least 1");
        }
        for (name, v) in [
            ("duplicate_rate", self.duplicate_rate),
            ("female_share", self.female_share),
            ("passport_rate", self.passport_rate),
            ("second_passport_rate", self.second_passport_rate),
            ("nik_rate", self.nik_rate),
            ("falsified_age_rate", self.falsified_age_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(name, "must be between 0 and 1");
            }
        }
        for (name, v) in [
            ("bp2mi_workers_per_victim", self.bp2mi_workers_per_victim),
            ("error_scale", self.error_scale),
            ("missing_scale", self.missing_scale),
        ] {
            if !v.is_finite() || v < 0.0 {
                return bad(name, "must be a finite number ≥ 0");
            }
        }
        let w = &self.agency_count_weights;
        if w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0 {
            return bad(
                "agency_count_weights",
                "must be non-negative with a positive sum",
            );
        }
        Ok(())
    }

    /// The `padan synth` command that reproduces this configuration for `out` (flags only where
    /// they differ from the defaults; `None` when a setting has no flag).
    pub fn command(&self, out: &Path) -> Option<String> {
        let d = SynthConfig::default();
        let no_flag = SynthConfig {
            agencies: d.agencies,
            people: d.people,
            seed: d.seed,
            format: d.format,
            force: d.force,
            duplicate_rate: d.duplicate_rate,
            bp2mi_workers_per_victim: d.bp2mi_workers_per_victim,
            error_scale: d.error_scale,
            missing_scale: d.missing_scale,
            ..self.clone()
        };
        if no_flag != d {
            return None;
        }
        let mut c = format!("padan synth --out {}", out.display());
        if self.agencies != d.agencies {
            c.push_str(&format!(" --agencies {}", self.agencies));
        }
        if self.people != d.people {
            c.push_str(&format!(" --people {}", self.people));
        }
        if self.seed != d.seed {
            c.push_str(&format!(" --seed {}", self.seed));
        }
        if self.format != d.format {
            c.push_str(" --format parquet");
        }
        if self.duplicate_rate != d.duplicate_rate {
            c.push_str(&format!(" --duplicate-rate {}", self.duplicate_rate));
        }
        if self.bp2mi_workers_per_victim != d.bp2mi_workers_per_victim {
            c.push_str(&format!(
                " --workers-per-victim {}",
                self.bp2mi_workers_per_victim
            ));
        }
        if self.error_scale != d.error_scale {
            c.push_str(&format!(" --error-scale {}", self.error_scale));
        }
        if self.missing_scale != d.missing_scale {
            c.push_str(&format!(" --missing-scale {}", self.missing_scale));
        }
        Some(c)
    }
}

/// What was written for one agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencySummary {
    /// The agency's short name (also its agency id).
    pub agency: String,
    /// All records in its extract.
    pub records: u64,
    /// Records of trafficking victims.
    pub victim_records: u64,
    /// Records of migrant workers who are not victims (BP2MI only).
    pub worker_records: u64,
    /// Second records of a person already in this extract.
    pub repeat_records: u64,
    /// The extract file.
    pub file: PathBuf,
    /// Its column map.
    pub columns_file: PathBuf,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthSummary {
    /// Per agency, in order.
    pub agencies: Vec<AgencySummary>,
    /// Trafficking victims generated.
    pub victims: u64,
    /// Non-victim migrant workers generated (BP2MI only).
    pub workers: u64,
    /// Records over all agencies (= rows of `truth.csv`).
    pub records: u64,
    /// Victims by the number of distinct agencies that know them (index 0 = one agency).
    pub victims_by_agency_count: [u64; 5],
    /// `truth.csv`.
    pub truth_file: PathBuf,
    /// `README.md`.
    pub readme_file: PathBuf,
}

/// A buffered row: its fields are `arena[start..end]`, separated by [`agency::FIELD_SEP`].
struct Pending {
    start: usize,
    end: usize,
    person: u64,
    year: i32,
    month: u32,
}

struct AgencyState {
    agency: &'static Agency,
    sink: Option<Sink>,
    pending: Vec<Pending>,
    arena: String,
    shuffle: ChaCha8Rng,
    seq: u64,
    id_index: usize,
    summary: AgencySummary,
}

impl AgencyState {
    fn flush(&mut self, truth: &mut Sink) -> Result<()> {
        let AgencyState {
            agency,
            sink,
            pending,
            arena,
            shuffle,
            seq,
            id_index,
            ..
        } = self;
        let sink = sink
            .as_mut()
            .ok_or_else(|| Error::Internal("agency sink already closed".into()))?;
        pending.shuffle(shuffle);
        let mut label = String::with_capacity(16);
        let mut id = String::with_capacity(32);
        let mut fields: Vec<&str> = Vec::with_capacity(agency.columns.len());
        for p in pending.iter() {
            *seq += 1;
            id.clear();
            agency.id_fmt.write(*seq, p.year, p.month, &mut id);
            label.clear();
            person::person_label(p.person, &mut label);
            truth.write_row(&[agency.name, id.as_str(), label.as_str()])?;
            fields.clear();
            fields.extend(arena[p.start..p.end].split(agency::FIELD_SEP));
            sink.write_row_with(&fields, *id_index, &id)?;
        }
        sink.end_chunk()?;
        pending.clear();
        arena.clear();
        Ok(())
    }
}

/// Temporary files that are removed unless the run completes.
struct TempFiles(Vec<(PathBuf, PathBuf)>);

impl TempFiles {
    fn add(&mut self, dir: &Path, name: &str) -> PathBuf {
        let tmp = dir.join(format!(".{name}.tmp"));
        self.0.push((tmp.clone(), dir.join(name)));
        tmp
    }

    fn commit(mut self) -> Result<()> {
        for (tmp, fin) in std::mem::take(&mut self.0) {
            std::fs::rename(&tmp, &fin).map_err(|e| Error::io("renaming", &tmp, e))?;
        }
        Ok(())
    }
}

impl Drop for TempFiles {
    fn drop(&mut self) {
        for (tmp, _) in &self.0 {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

fn prepare_dir(out: &Path, force: bool) -> Result<()> {
    if out.exists() {
        if !out.is_dir() {
            return Err(Error::config(
                "--out",
                format!("{} exists and is not a directory", out.display()),
            ));
        }
        let mut entries = std::fs::read_dir(out).map_err(|e| Error::io("reading", out, e))?;
        if entries.next().is_some() && !force {
            return Err(Error::config(
                "--out",
                format!(
                    "{} is not empty; choose an empty directory or pass --force",
                    out.display()
                ),
            ));
        }
    } else {
        std::fs::create_dir_all(out).map_err(|e| Error::io("creating", out, e))?;
    }
    Ok(())
}

fn weighted_index(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

/// The column map of an agency.
fn column_map(a: &Agency) -> ColumnMap {
    let mut columns = BTreeMap::new();
    if let Some(c) = a.column(Col::Name) {
        columns.insert("name".to_string(), ColumnSource::One(c.to_string()));
    }
    if let (Some(f), Some(l)) = (a.column(Col::NameFirst), a.column(Col::NameLast)) {
        columns.insert(
            "name".to_string(),
            ColumnSource::Many(vec![f.to_string(), l.to_string()]),
        );
    }
    for (col, field) in [
        (Col::Passport, "passport"),
        (Col::Dob, "dob"),
        (Col::Sex, "sex"),
        (Col::Place, "birthplace"),
        (Col::Nik, "nik"),
    ] {
        if let Some(c) = a.column(col) {
            columns.insert(field.to_string(), ColumnSource::One(c.to_string()));
        }
    }
    ColumnMap {
        agency: Some(a.name.to_string()),
        id_column: a.column(Col::Id).unwrap_or_default().to_string(),
        date_order: a.date_order,
        columns,
    }
}

fn column_map_toml(a: &Agency, format: SynthFormat) -> Result<String> {
    let body = toml::to_string(&column_map(a))
        .map_err(|e| Error::Internal(format!("column map of {}: {e}", a.name)))?;
    let file = match format {
        SynthFormat::Csv => format!("{}.csv ({})", a.name, a.dialect()),
        SynthFormat::Parquet => format!("{}.parquet", a.name),
    };
    Ok(format!(
        "# Column map for {file}, generated by padan synth.\n# {}\n# Use: padan encode --columns {}.columns.toml ...\n\n{body}",
        a.title, a.name
    ))
}

/// Generates the synthetic extracts, column maps, `truth.csv` and `README.md` into `out`.
///
/// Refuses a non-empty `out` unless `cfg.force`. Files are written under temporary names and
/// renamed when all are complete.
pub fn generate(cfg: &SynthConfig, out: &Path) -> Result<SynthSummary> {
    cfg.validate()?;
    prepare_dir(out, cfg.force)?;
    let agencies = &AGENCIES[..cfg.agencies];
    let ext = cfg.format.extension();
    let mut temps = TempFiles(Vec::new());

    let mut states = Vec::with_capacity(agencies.len());
    for (i, a) in agencies.iter().enumerate() {
        let file_name = format!("{}.{ext}", a.name);
        let tmp = temps.add(out, &file_name);
        let sink = match cfg.format {
            SynthFormat::Csv => Sink::csv(&tmp, a)?,
            SynthFormat::Parquet => Sink::parquet(&tmp, a)?,
        };
        let shuffle_seed = cfg
            .seed
            .wrapping_add(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1));
        states.push(AgencyState {
            agency: a,
            sink: Some(sink),
            pending: Vec::with_capacity(CHUNK_ROWS),
            arena: String::with_capacity(CHUNK_ROWS * 96),
            shuffle: ChaCha8Rng::seed_from_u64(shuffle_seed),
            seq: 0,
            id_index: a
                .columns
                .iter()
                .position(|(c, _)| *c == Col::Id)
                .unwrap_or(0),
            summary: AgencySummary {
                agency: a.name.to_string(),
                records: 0,
                victim_records: 0,
                worker_records: 0,
                repeat_records: 0,
                file: out.join(&file_name),
                columns_file: out.join(format!("{}.columns.toml", a.name)),
            },
        });
    }
    let truth_tmp = temps.add(out, "truth.csv");
    let mut truth = Sink::plain_csv(&truth_tmp, &["agency", "record_id", "person_id"])?;

    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let intake: Vec<f64> = agencies.iter().map(|a| a.intake_weight).collect();
    let max_k = agencies.len().min(5);
    let count_weights = &cfg.agency_count_weights[..max_k];
    let has_bp2mi = agencies.len() > BP2MI;
    let mut victims_by_agency_count = [0u64; 5];
    let mut workers = 0u64;

    let emit = |states: &mut Vec<AgencyState>,
                truth: &mut Sink,
                rng: &mut ChaCha8Rng,
                a: usize,
                p: &Person,
                worker: bool,
                repeat: bool|
     -> Result<()> {
        let st = &mut states[a];
        let start = st.arena.len();
        st.agency
            .render(rng, p, cfg.error_scale, cfg.missing_scale, &mut st.arena);
        let end = st.arena.len();
        let year = rng.random_range(2018..=2025);
        let month = rng.random_range(1..=12);
        st.summary.records += 1;
        if worker {
            st.summary.worker_records += 1;
        } else {
            st.summary.victim_records += 1;
        }
        if repeat {
            st.summary.repeat_records += 1;
        }
        st.pending.push(Pending {
            start,
            end,
            person: p.id,
            year,
            month,
        });
        if st.pending.len() >= CHUNK_ROWS {
            st.flush(truth)?;
        }
        Ok(())
    };

    let mut chosen: Vec<usize> = Vec::with_capacity(5);
    let mut weights = intake.clone();
    for v in 0..cfg.people {
        let p = Person::generate(&mut rng, v + 1, cfg);
        let k = weighted_index(&mut rng, count_weights) + 1;
        chosen.clear();
        weights.copy_from_slice(&intake);
        for _ in 0..k {
            let a = weighted_index(&mut rng, &weights);
            weights[a] = 0.0;
            chosen.push(a);
        }
        chosen.sort_unstable();
        victims_by_agency_count[k - 1] += 1;
        for &a in &chosen {
            emit(&mut states, &mut truth, &mut rng, a, &p, false, false)?;
        }
        if rng.random_bool(cfg.duplicate_rate) {
            let a = chosen[rng.random_range(0..chosen.len())];
            emit(&mut states, &mut truth, &mut rng, a, &p, false, true)?;
        }
        if has_bp2mi {
            let due = ((v + 1) as f64 * cfg.bp2mi_workers_per_victim).round() as u64;
            while workers < due {
                workers += 1;
                let w = Person::generate_worker(&mut rng, person::WORKER_BIT | workers, cfg);
                emit(&mut states, &mut truth, &mut rng, BP2MI, &w, true, false)?;
                if rng.random_bool(cfg.duplicate_rate) {
                    emit(&mut states, &mut truth, &mut rng, BP2MI, &w, true, true)?;
                }
            }
        }
    }

    let mut summaries = Vec::with_capacity(states.len());
    for mut st in states {
        st.flush(&mut truth)?;
        if let Some(s) = st.sink.take() {
            s.finish()?;
        }
        let tmp = temps.add(out, &format!("{}.columns.toml", st.agency.name));
        sink::write_text(&tmp, &column_map_toml(st.agency, cfg.format)?)?;
        summaries.push(st.summary);
    }
    truth.finish()?;

    let records = summaries.iter().map(|s| s.records).sum();
    let summary = SynthSummary {
        agencies: summaries,
        victims: cfg.people,
        workers,
        records,
        victims_by_agency_count,
        truth_file: out.join("truth.csv"),
        readme_file: out.join("README.md"),
    };
    let readme_tmp = temps.add(out, "README.md");
    sink::write_text(&readme_tmp, &readme(cfg, out, agencies, &summary))?;
    temps.commit()?;
    Ok(summary)
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn readme(cfg: &SynthConfig, out: &Path, agencies: &[Agency], s: &SynthSummary) -> String {
    let mut r = String::new();
    r.push_str("# Synthetic agency extracts (padan synth)\n\n");
    r.push_str(
        "Entirely synthetic: every name, date and number was generated from built-in lists. \
         No real person is described.\n\n",
    );
    match cfg.command(out) {
        Some(c) => r.push_str(&format!("Made with:\n\n```sh\n{c}\n```\n\n")),
        None => r.push_str(&format!(
            "Made with the library API (`padan::synth::generate`), seed {}.\n\n",
            cfg.seed
        )),
    }
    r.push_str(&format!(
        "Seed {}, padan {}. The same seed and settings give byte-identical files.\n\n",
        cfg.seed,
        crate::VERSION
    ));
    r.push_str(&format!(
        "- {} trafficking victims (person ids `V…`), {} migrant workers known only to BP2MI (`W…`)\n- {} records in all; `truth.csv` (`agency,record_id,person_id`, UTF-8, comma) has one row per record\n\n",
        s.victims, s.workers, s.records
    ));
    r.push_str("## Files\n\n| agency | file | records | victim records | worker records | second records of a person | dialect |\n| --- | --- | ---: | ---: | ---: | ---: | --- |\n");
    for (a, sum) in agencies.iter().zip(&s.agencies) {
        let file = sum
            .file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dialect = match cfg.format {
            SynthFormat::Csv => a.dialect(),
            SynthFormat::Parquet => "Parquet, UTF-8 string columns, zstd".to_string(),
        };
        r.push_str(&format!(
            "| {} | `{file}` | {} | {} | {} | {} | {dialect} |\n",
            a.name, sum.records, sum.victim_records, sum.worker_records, sum.repeat_records
        ));
    }
    r.push_str("\nEach agency also has `<agency>.columns.toml`, its column map for `padan encode --columns`.\n\n");
    r.push_str("## Agencies\n\n| agency | what | id column | dates | sex codes (F/M) | error rate | missing rate |\n| --- | --- | --- | --- | --- | ---: | ---: |\n");
    for a in agencies {
        let dates = match a.date_fmt {
            render::DateFmt::DmySlash => "`07/03/1990`",
            render::DateFmt::DmyDash => "`07-03-1990`",
            render::DateFmt::Iso => "`1990-03-07`",
            render::DateFmt::IndoMonth => "`7 Maret 1990`, `7 Mar 1990`",
            render::DateFmt::DmyShortYear => "`07/03/90`",
            render::DateFmt::DmySlashSerial => "`07/03/1990`, some as spreadsheet serials `32939`",
        };
        r.push_str(&format!(
            "| {} | {} | `{}` | {dates} | `{}` / `{}` | {} | {} |\n",
            a.name,
            a.title,
            a.column(Col::Id).unwrap_or_default(),
            a.sex_codes.0,
            a.sex_codes.1,
            pct((a.error_rate * cfg.error_scale).min(1.0)),
            pct((a.missing_rate * cfg.missing_scale).min(1.0)),
        ));
    }
    r.push_str("\n## Victims by number of agencies\n\n| agencies | victims |\n| ---: | ---: |\n");
    for (i, n) in s.victims_by_agency_count.iter().enumerate() {
        r.push_str(&format!("| {} | {n} |\n", i + 1));
    }
    let w = &cfg.agency_count_weights;
    r.push_str(&format!(
        "\n## Rates\n\n\
         - agencies per victim, weights for 1..5: {:.2}, {:.2}, {:.2}, {:.2}, {:.2} (capped at {} agencies)\n\
         - second record of a person in one agency: {}\n\
         - BP2MI workers (not victims) per victim: {:.2}\n\
         - women: {}\n\
         - victims with a passport: {} (of them with a second passport: {})\n\
         - persons with a NIK: {}\n\
         - falsified (older) birth date on travel documents: {}\n\
         - error scale: {:.2}, missing scale: {:.2}\n",
        w[0],
        w[1],
        w[2],
        w[3],
        w[4],
        cfg.agencies,
        pct(cfg.duplicate_rate),
        cfg.bp2mi_workers_per_victim,
        pct(cfg.female_share),
        pct(cfg.passport_rate),
        pct(cfg.second_passport_rate),
        pct(cfg.nik_rate),
        pct(cfg.falsified_age_rate),
        cfg.error_scale,
        cfg.missing_scale,
    ));
    r
}

#[cfg(test)]
mod tests;
