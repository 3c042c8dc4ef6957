//! The test harness: a temporary directory, the real `padan` binary, and readers for what it
//! writes (Parquet columns and metadata, the rejects file).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures").join(rel)
}

/// The committed public TEST key.
pub fn test_key() -> PathBuf {
    fixture("test.key")
}

/// The seven agencies of `fixtures/synth/`.
pub const AGENCIES: [&str; 7] = [
    "bp2mi",
    "imigrasi",
    "kejaksaan",
    "kemensos",
    "kemlu",
    "kpppa",
    "polri",
];

/// The synthetic extract of an agency (`.csv`; imigrasi's is tab-separated, kpppa's semicolon).
pub fn synth_extract(agency: &str) -> PathBuf {
    fixture(&format!("synth/{agency}.csv"))
}

/// `big.csv` in `d`: bp2mi's synthetic rows repeated 4 times (ids made unique), bigger than one
/// parallel chunk (1024 rows); and its row count.
pub fn big_extract(d: &Dir) -> (PathBuf, usize) {
    let text = std::fs::read_to_string(synth_extract("bp2mi")).unwrap();
    let mut lines = text.lines();
    let mut big = String::from(lines.next().unwrap());
    big.push('\n');
    let rows: Vec<&str> = lines.collect();
    for copy in 0..4 {
        for r in &rows {
            let (id, rest) = r.split_once(',').unwrap();
            big.push_str(&format!("{id}-{copy},{rest}\n"));
        }
    }
    (d.write("big.csv", &big), 4 * rows.len())
}

/// The column map of a synthetic agency.
pub fn synth_columns(agency: &str) -> PathBuf {
    fixture(&format!("synth/{agency}.columns.toml"))
}

/// The column flags of the plain test extracts (`id,nama,tgl_lahir,jk[,nik]`): the id column,
/// name, dob and sex.
pub const PLAIN_COLUMNS: [&str; 8] = [
    "--id-column",
    "id",
    "--column",
    "name=nama",
    "--column",
    "dob=tgl_lahir",
    "--column",
    "sex=jk",
];

/// `--agency AGENCY`, [`PLAIN_COLUMNS`], and the `nik` column when `nik` is set.
pub fn plain_flags(agency: &'static str, nik: bool) -> Vec<&'static str> {
    let mut f = vec!["--agency", agency];
    f.extend(PLAIN_COLUMNS);
    if nik {
        f.extend(["--column", "nik=nik"]);
    }
    f
}

/// A temporary working directory that is removed when dropped.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    /// A new empty directory.
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::Builder::new()
                .prefix("padan-test-")
                .tempdir()
                .expect("creating a temp dir"),
        }
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes a file inside the directory and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).expect("writing a test file");
        p
    }

    /// Runs `padan ARGS` in this directory.
    pub fn padan<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_padan"));
        cmd.args(args).current_dir(self.tmp.path());
        Run::of(cmd)
    }

    /// Runs `padan ARGS` in this directory with `stdin` on its standard input.
    pub fn padan_stdin<I, S>(&self, args: I, stdin: &[u8]) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        use std::io::Write;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_padan"));
        cmd.args(args)
            .current_dir(self.tmp.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let cmdline = format!("{cmd:?}");
        let mut child = cmd.spawn().expect("running the padan binary");
        let mut input = child.stdin.take().expect("a stdin pipe");
        let bytes = stdin.to_vec();
        // Written from a thread: padan may stop reading early (and close the pipe) on an error.
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&bytes);
        });
        let out = child.wait_with_output().expect("waiting for padan");
        let _ = writer.join();
        Run::from_output(cmdline, out)
    }

    /// `padan encode` with the test key, writing `out` (inside this directory) and its rejects
    /// beside it. `extra` adds arguments (the column map or `--column` flags, `--threads` ...).
    pub fn encode(&self, input: &Path, out: &str, extra: &[&str]) -> Run {
        self.encode_keyed(&test_key(), input, out, extra)
    }

    /// [`Dir::encode`] with the key file `key` instead of the test key.
    pub fn encode_keyed(&self, key: &Path, input: &Path, out: &str, extra: &[&str]) -> Run {
        let mut args: Vec<String> = vec![
            "encode".into(),
            "--key".into(),
            key.display().to_string(),
            "--input".into(),
            input.display().to_string(),
            "--out".into(),
            self.path(out).display().to_string(),
            "--quiet".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        self.padan(&args)
    }

    /// `padan encode` of one synthetic agency's extract with its column map.
    pub fn encode_synth(&self, agency: &str, out: &str, extra: &[&str]) -> Run {
        self.encode_synth_keyed(&test_key(), agency, out, extra)
    }

    /// [`Dir::encode_synth`] with the key file `key` instead of the test key.
    pub fn encode_synth_keyed(&self, key: &Path, agency: &str, out: &str, extra: &[&str]) -> Run {
        let cols = synth_columns(agency).display().to_string();
        let mut args = vec!["--columns", cols.as_str()];
        args.extend_from_slice(extra);
        self.encode_keyed(key, &synth_extract(agency), out, &args)
    }

    /// kemlu, polri and bp2mi encoded as `<agency>.padan.parquet`; kemlu with pseudonymized ids,
    /// its lookup at `kemlu.lookup.csv` and decoys (0.1), to check what reveal does with them.
    pub fn encode_pseudonymized_kemlu_polri_bp2mi(&self) -> Vec<PathBuf> {
        let lookup = self.path("kemlu.lookup.csv").display().to_string();
        ["kemlu", "polri", "bp2mi"]
            .iter()
            .map(|a| {
                let out = format!("{a}.padan.parquet");
                let extra: &[&str] = if *a == "kemlu" {
                    &["--pseudonymize-ids", "--lookup", &lookup, "--decoys", "0.1"]
                } else {
                    &[]
                };
                self.encode_synth(a, &out, extra).ok();
                self.path(&out)
            })
            .collect()
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The command line, for messages.
    pub cmdline: String,
}

impl Run {
    fn of(mut cmd: Command) -> Run {
        let cmdline = format!("{cmd:?}");
        let out = cmd.output().expect("running the padan binary");
        Run::from_output(cmdline, out)
    }

    fn from_output(cmdline: String, out: std::process::Output) -> Run {
        let run = Run {
            code: out
                .status
                .code()
                .unwrap_or_else(|| panic!("{cmdline} was killed by a signal: {:?}", out.status)),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            cmdline,
        };
        assert!(
            !run.stderr.contains("panicked") && !run.stdout.contains("panicked"),
            "padan panicked: {run:#?}"
        );
        run
    }

    /// Asserts success.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success of {}: {self:#?}",
            self.cmdline
        );
        self
    }

    /// Asserts failure with exit code `code` and an `error:` line on standard error.
    pub fn fails(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit code {code}: {self:#?}");
        assert!(
            self.stderr.starts_with("error: ") || self.stderr.contains("\nerror: "),
            "expected an `error:` message: {self:#?}"
        );
        self
    }
}

/// The file-level key–value metadata of a Parquet file.
pub fn kv_metadata(path: &Path) -> BTreeMap<String, String> {
    let b = builder(path);
    b.metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|x| (x.key.clone(), x.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// A metadata value parsed as a number.
pub fn kv_num(kv: &BTreeMap<String, String>, key: &str) -> u64 {
    kv.get(key)
        .unwrap_or_else(|| panic!("metadata key {key} missing: {kv:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("metadata key {key} is not a number: {kv:?}"))
}

fn builder(path: &Path) -> ParquetRecordBatchReaderBuilder<File> {
    let f = File::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap_or_else(|e| panic!("{} is not a readable Parquet file: {e}", path.display()))
}

/// Every column of a Parquet file, read back with arrow: name → concatenated arrays.
pub fn read_columns(path: &Path) -> Vec<(String, Vec<ArrayRef>)> {
    let b = builder(path);
    let names: Vec<String> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut cols: Vec<(String, Vec<ArrayRef>)> = names.into_iter().map(|n| (n, vec![])).collect();
    for batch in b.build().expect("building a Parquet reader") {
        let batch = batch.expect("reading a Parquet batch");
        for (i, c) in cols.iter_mut().enumerate() {
            c.1.push(batch.column(i).clone());
        }
    }
    cols
}

/// Row count of a Parquet file (from its footer).
pub fn parquet_rows(path: &Path) -> u64 {
    builder(path).metadata().file_metadata().num_rows() as u64
}

/// The `record_id` column of an encoded file.
pub fn record_ids(path: &Path) -> Vec<String> {
    let cols = read_columns(path);
    let (_, arrays) = cols
        .iter()
        .find(|(n, _)| n == "record_id")
        .expect("a record_id column");
    arrays
        .iter()
        .flat_map(|a| {
            let s = a
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("record_id is Utf8");
            s.iter()
                .map(|v| v.expect("record_id is never null").to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One line of a rejects file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectLine {
    /// Extract line.
    pub line: u64,
    /// Record id.
    pub record_id: String,
    /// Schema field.
    pub field: String,
    /// Extract column.
    pub column: String,
    /// `row_rejected`, `value_dropped` or `flagged`.
    pub outcome: String,
    /// Reason code.
    pub reason: String,
}

/// Reads a rejects file, checking its header.
pub fn read_rejects(path: &Path) -> Vec<RejectLine> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("opening rejects {}: {e}", path.display()));
    let header = r.headers().expect("rejects header").clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        ["line", "record_id", "field", "column", "outcome", "reason"],
        "rejects header of {}",
        path.display()
    );
    r.records()
        .map(|rec| {
            let rec = rec.expect("a well-formed rejects line");
            assert_eq!(rec.len(), 6, "rejects line {rec:?}");
            RejectLine {
                line: rec[0].parse().expect("line number"),
                record_id: rec[1].to_string(),
                field: rec[2].to_string(),
                column: rec[3].to_string(),
                outcome: rec[4].to_string(),
                reason: rec[5].to_string(),
            }
        })
        .collect()
}

/// The `row_rejected` lines of a rejects file.
pub fn rejected_rows(path: &Path) -> Vec<RejectLine> {
    read_rejects(path)
        .into_iter()
        .filter(|l| l.outcome == "row_rejected")
        .collect()
}

/// The rejects file padan writes by default beside `out`.
pub fn rejects_of(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_os_string();
    s.push(".rejects.csv");
    PathBuf::from(s)
}

/// Checks the bookkeeping of an encode run: read = encoded + rejected in the metadata, the file
/// holds `rows_encoded` rows, and the rejects file has one `row_rejected` line per rejected row
/// (each on a distinct line, with the reasons counted in `padan.rejects_by_reason`).
/// Returns (read, encoded, rejected).
pub fn check_counts(out: &Path) -> (u64, u64, u64) {
    let kv = kv_metadata(out);
    let read = kv_num(&kv, "padan.rows_read");
    let encoded = kv_num(&kv, "padan.rows_encoded");
    let rejected = kv_num(&kv, "padan.rows_rejected");
    assert_eq!(
        read,
        encoded + rejected,
        "read = encoded + rejected: {kv:?}"
    );
    assert_eq!(parquet_rows(out), encoded, "rows in the file");
    let rej = rejected_rows(&rejects_of(out));
    assert_eq!(
        rej.len() as u64,
        rejected,
        "one row_rejected line per rejected row"
    );
    let mut lines: Vec<u64> = rej.iter().map(|l| l.line).collect();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), rej.len(), "a row rejected twice: {rej:?}");
    let by_reason: BTreeMap<String, u64> =
        serde_json::from_str(&kv["padan.rejects_by_reason"]).expect("rejects_by_reason JSON");
    let mut counted = BTreeMap::<String, u64>::new();
    for l in &rej {
        *counted.entry(l.reason.clone()).or_default() += 1;
    }
    assert_eq!(by_reason, counted, "rejects_by_reason vs the rejects file");
    (read, encoded, rejected)
}

/// Writes a Parquet extract of string columns (`None` = null) with arrow.
pub fn write_parquet_extract(path: &Path, columns: &[(&str, Vec<Option<&str>>)]) {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, _)| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(_, v)| Arc::new(StringArray::from(v.clone())) as ArrayRef)
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).expect("a record batch");
    let mut w = ArrowWriter::try_new(File::create(path).expect("creating"), schema, None)
        .expect("a Parquet writer");
    w.write(&batch).expect("writing");
    w.close().expect("closing");
}
